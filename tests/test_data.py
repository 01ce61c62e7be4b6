"""Checks on the project's own labelled data (data/messages) against its stated standards."""

from __future__ import annotations

import csv
from collections import Counter
from functools import lru_cache

import numpy as np
import pytest
import scipy.sparse as sp
from paths import PROJECT_ROOT

from triage.engine.data import load_taxonomy
from triage.engine.text import normalize

DATA = PROJECT_ROOT / "data"
FIXED_ROUTES = {
    "company_registration": "market_regulation",
    "company_change": "market_regulation",
    "company_deregistration": "market_regulation",
    "food_license": "market_regulation",
    "queue_waiting": "service_center",
    "appointment": "service_center",
    "data_sharing": "data_bureau",
    "online_application": "data_bureau",
    "tax": "tax_bureau",
    "social_security": "hr_social_security",
    "construction_permit": "construction_transport",
    "other": "general_office",
}


@lru_cache(maxsize=1)
def rows() -> tuple[dict[str, str], ...]:
    out = []
    for path in sorted((DATA / "messages").glob("*.csv")):
        with open(path, encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh)
            assert reader.fieldnames == ["id", "title", "text", "category", "department", "kind"]
            out.extend(reader)
    return tuple(out)


def test_labels_are_taxonomy_ids():
    taxonomy = load_taxonomy(DATA / "taxonomy.json")
    for head in ("category", "department", "kind"):
        allowed = set(taxonomy.labels(head))
        bad = {r[head] for r in rows()} - allowed
        assert not bad, f"{head} labels outside the taxonomy: {bad}"


def test_volume_and_per_category_minimum():
    counts = Counter(r["category"] for r in rows())
    assert sum(counts.values()) >= 2400
    assert len(counts) == 14
    assert min(counts.values()) >= 150, counts


def test_every_category_has_every_kind():
    for category in {r["category"] for r in rows()}:
        kinds = Counter(r["kind"] for r in rows() if r["category"] == category)
        assert len(kinds) == 4, (category, kinds)
        assert min(kinds.values()) >= 0.1 * sum(kinds.values()), (category, kinds)


def test_routing_rules_hold():
    for r in rows():
        if r["category"] in FIXED_ROUTES:
            assert r["department"] == FIXED_ROUTES[r["category"]], r["id"]


@pytest.mark.parametrize("category", ["service_guide", "progress_inquiry"])
def test_owner_routed_categories_go_to_the_owning_department(category):
    depts = Counter(r["department"] for r in rows() if r["category"] == category)
    assert len(depts) >= 5, depts
    assert max(depts.values()) <= 0.5 * sum(depts.values()), depts


def test_lengths_vary_from_terse_to_long():
    lengths = np.array([len(r["text"]) for r in rows()])
    assert lengths.min() >= 5 and lengths.max() <= 450
    assert (lengths <= 25).mean() >= 0.08
    assert (lengths >= 120).mean() >= 0.2


def test_at_least_a_fifth_is_in_traditional_characters():
    import opencc

    to_simplified = opencc.OpenCC("t2s")

    def traditional(text: str) -> bool:
        # Only the script conversion counts (not width or punctuation folding).
        converted = to_simplified.convert(text)
        return sum(a != b for a, b in zip(text, converted, strict=True)) >= 2

    share = np.mean([traditional(r["text"]) for r in rows() if len(r["text"]) >= 10])
    assert share >= 0.20, share


def test_near_duplicates_are_rare():
    """Char-5-gram Jaccard >= 0.8 between two rows counts as a near-duplicate."""
    vocab: dict[str, int] = {}
    indptr, indices = [0], []
    for r in rows():
        text = normalize(r["text"])
        grams = {text[i : i + 5] for i in range(max(1, len(text) - 4))}
        indices.extend(vocab.setdefault(g, len(vocab)) for g in grams)
        indptr.append(len(indices))
    X = sp.csr_matrix((np.ones(len(indices)), indices, indptr), shape=(len(rows()), len(vocab)))
    inter = (X @ X.T).tocoo()
    sizes = np.asarray(X.sum(axis=1)).ravel()
    upper = inter.row < inter.col
    i, j, common = inter.row[upper], inter.col[upper], inter.data[upper]
    jaccard = common / (sizes[i] + sizes[j] - common)
    involved = set(i[jaccard >= 0.8]) | set(j[jaccard >= 0.8])
    assert len(involved) <= 0.02 * len(rows()), sorted(rows()[k]["id"] for k in involved)[:20]


def test_ids_are_unique():
    ids = [r["id"] for r in rows()]
    assert len(ids) == len(set(ids))
