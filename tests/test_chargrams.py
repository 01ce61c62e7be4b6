"""The packed character n-gram table finds exactly the columns the string lookup finds."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from seeding import texts

from triage.engine.chargrams import CharTable
from triage.engine.persist import load_model
from triage.engine.scoring import as_document, char_ngrams

TERMS = [
    "营",
    "业",
    "营业",
    "营业执",
    "执照",
    "a",
    "ab",
    "abc",
    "ü",
    "é的",
    "\U0001f605",
    "😅好",
    "x\x00",
    "\uffff",
]


def by_strings(terms: list[str], doc: str, lo: int, hi: int) -> list[int]:
    lookup = {t: i + 1 for i, t in enumerate(terms)}
    return sorted(filter(None, (lookup.get(g, 0) for g in char_ngrams(doc, lo, hi))))


def by_table(table: CharTable, doc: str) -> list[int] | None:
    found = table.columns(doc.lower())
    return None if found is None else sorted(found.tolist())


@pytest.mark.parametrize("lo, hi", [(1, 3), (2, 3), (1, 1), (2, 4), (4, 4)])
def test_columns_equal_the_string_lookup(lo, hi):
    table = CharTable(TERMS, range(1, len(TERMS) + 1), lo, hi)
    for doc in ["营业执照营业", "ABC abc", "aB", "", "的é的", "营", "执照 ü"]:
        assert by_table(table, doc) == by_strings(TERMS, doc, lo, hi)


def test_text_it_cannot_pack_is_left_to_the_caller():
    table = CharTable(TERMS, range(1, len(TERMS) + 1), 1, 3)
    for doc in ["办照😅好", "x\x00y", "a\uffff"]:
        assert table.columns(doc) is None


def test_longer_n_grams_cannot_be_packed():
    with pytest.raises(ValueError, match="1 to 4"):
        CharTable(TERMS, range(1, len(TERMS) + 1), 1, 5)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from("营业执照abcABCé的 \x00\uffff😅ü"), max_size=30))
def test_any_text_gets_the_string_lookups_columns(doc):
    table = CharTable(TERMS, range(1, len(TERMS) + 1), 1, 3)
    got = by_table(table, doc)
    assert got is None or got == by_strings(TERMS, doc, 1, 3)


def test_served_features_equal_the_string_lookup_on_every_project_text(tiny_model_dir):
    fz = load_model(tiny_model_dir).features
    pairs = [(b, t) for b, t in zip(fz.blocks, fz._tables, strict=True) if t is not None]
    assert pairs, "the default features have a character block"
    packed = 0
    for text in texts():
        doc = as_document(text)
        for block, table in pairs:
            got = by_table(table, doc)
            want = sorted(
                filter(
                    None, (fz._lookups[fz.blocks.index(block)](g, 0) for g in char_ngrams(doc, *block.ngram))
                )
            )
            if got is not None:
                packed += 1
                assert got == want, doc
    assert packed > 2500  # nearly every text is packed; the rest go the string way


def test_transform_one_is_the_same_either_way(tiny_model_dir):
    fz = load_model(tiny_model_dir).features
    for text in texts(300, seed=5):
        doc = as_document(text)
        idx, val = fz.transform_one(doc)
        tables, fz._tables = fz._tables, [None] * len(fz._tables)
        try:
            ref_idx, ref_val = fz.transform_one(doc)
        finally:
            fz._tables = tables
        assert np.array_equal(idx, ref_idx) and np.array_equal(val, ref_val)
