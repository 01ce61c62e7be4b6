"""Counting in worker processes gives exactly the counts of one process."""

import numpy as np
import pytest

from triage.engine.features import Featurizer
from triage.engine.model import as_document
from triage.engine.parallel import count_documents
from triage.engine.training import build_model
from triage.settings import load_settings


def _same(a, b) -> None:
    assert len(a.terms) == len(b.terms)
    for ta, tb, ca, cb in zip(a.terms, b.terms, a.counts, b.counts, strict=True):
        assert list(ta) == list(tb)
        assert ca.shape == cb.shape and (ca != cb).nnz == 0
        assert np.array_equal(ca.indptr, cb.indptr) and np.array_equal(ca.indices, cb.indices)


def test_workers_count_what_one_process_counts(tiny_data):
    # The project's dictionary and stop words: the workers must segment with them too.
    fz = build_model(load_settings())._featurizer()
    assert fz.userdict, "the project's user dictionary is part of what is checked"
    items = tiny_data.items
    one = fz.count_terms(fz.analyze(as_document(x)) for x in items)
    seen: list[int] = []
    two = count_documents(fz, items, n_jobs=2, chunk=37, progress=lambda _, n, total: seen.append(n))
    _same(one, two)
    assert seen == sorted(seen) and seen[-1] == len(items) and len(seen) == -(-len(items) // 37)
    _same(one, count_documents(fz, items, n_jobs=1, chunk=37))


def test_a_user_word_reaches_the_workers(tiny_data):
    text = "我们小区的电动自行车充电桩坏了"
    plain = Featurizer().analyze(text)[0]
    fz = Featurizer(userdict=("自行车充电桩 100000 n",))
    assert "自行车充电桩" not in plain and "自行车充电桩" in fz.analyze(text)[0]
    counts = count_documents(fz, [text] * 5, n_jobs=2, chunk=2)
    assert "自行车充电桩" in list(counts.terms[0])


def test_kept_rows_give_every_rows_vocabulary_and_their_own_counts(tiny_data):
    fz = Featurizer()
    items = tiny_data.items
    every = count_documents(fz, items, n_jobs=2, chunk=37)
    rows = np.arange(3, len(items), 4)  # some rows in every run, none in a few
    kept = count_documents(fz, items, n_jobs=2, chunk=37, rows=rows)
    assert kept.n_rows == every.n_rows == len(items)
    for (k1, idf1), (k2, idf2) in zip(kept.vocabulary(), every.vocabulary(), strict=True):
        assert np.array_equal(k1, k2) and np.array_equal(idf1, idf2)
    assert all(c.shape[0] == len(rows) for c in kept.counts)
    assert abs(kept.tfidf(rows[::2]) - every.tfidf(rows[::2])).max() == 0
    train, test = rows[: len(rows) // 2], rows[len(rows) // 2 :]
    for got, want in zip(kept.fold(train, test), every.fold(train, test), strict=True):
        assert got.shape == want.shape and abs(got - want).max() == 0
    _same(kept, count_documents(fz, items, n_jobs=1, chunk=37, rows=rows))


def test_rows_whose_counts_were_not_kept_are_refused(tiny_data):
    kept = count_documents(Featurizer(), tiny_data.items, chunk=37, rows=np.array([1, 5, 9]))
    with pytest.raises(ValueError, match="not kept"):
        kept.tfidf(np.array([1, 2]))
    with pytest.raises(ValueError, match="indices into"):
        count_documents(Featurizer(), tiny_data.items[:4], rows=np.array([4]))
