"""Counting in worker processes gives exactly the counts of one process."""

import numpy as np

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
