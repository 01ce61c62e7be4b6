"""Training internals a user notices through the model: fold features, class weights and
the calibration slice of a large head."""

import numpy as np

from triage.engine.features import Featurizer
from triage.engine.model import TriageModel, as_document, class_weights


def test_fold_features_equal_a_vectorizer_refit_on_the_fold(tiny_data):
    fz = Featurizer()
    analyzed = [fz.analyze(as_document(x)) for x in tiny_data.items]
    rng = np.random.default_rng(0)
    order = rng.permutation(len(analyzed))
    train, test = np.sort(order[: len(order) * 2 // 3]), np.sort(order[len(order) * 2 // 3 :])
    got_train, got_test = fz.count_terms(analyzed).fold(train, test)
    refit = Featurizer().fit_analyzed([analyzed[i] for i in train])
    want_train = refit.transform_analyzed([analyzed[i] for i in train])
    want_test = refit.transform_analyzed([analyzed[i] for i in test])
    for got, want in ((got_train, want_train), (got_test, want_test)):
        assert got.shape == want.shape
        assert abs(got - want).max() < 1e-12


def test_counts_streamed_in_chunks_give_the_vectorizers_fit_on_token_lists(tiny_data):
    fz = Featurizer()
    analyzed = [fz.analyze(as_document(x)) for x in tiny_data.items]
    counts = fz.count_terms(iter(analyzed), chunk=7)  # a generator, many chunks
    want = Featurizer().fit_analyzed(analyzed)
    got = Featurizer().fit_counts(counts)
    assert got.n_features_ == want.n_features_
    for g, w in zip(got.blocks(), want.blocks(), strict=True):
        assert g.terms == w.terms and np.array_equal(g.idf, w.idf)
    assert abs(counts.tfidf() - want.transform_analyzed(analyzed)).max() < 1e-12
    sample = analyzed[:20]
    assert abs(got.transform_analyzed(sample) - want.transform_analyzed(sample)).max() == 0


def test_class_weights_temper_big_classes_and_keep_the_mean():
    y = np.array([0, 0, 0, 0, 1])
    w = class_weights(y, np.ones(5), 0.5)
    assert np.isclose(w.mean(), 1.0)
    assert np.isclose(w[4] / w[0], 2.0)  # (4 / 1) ** 0.5
    given = np.array([1.0, 2.0, 1.0, 1.0, 3.0])
    assert class_weights(y, given, 0.0) is given
    assert class_weights(y, given, 0.5)[1] > class_weights(y, given, 0.5)[0]  # a correction counts more


def test_a_large_head_is_calibrated_on_one_held_out_slice(tiny_data):
    n = len(tiny_data.items)
    model = TriageModel(holdout_above=n // 2, holdout_rows=n // 4, large_max_iter=3)
    model.fit(tiny_data.items, tiny_data.labels)
    assert model.heads_["category"].clf.n_iter_ <= 3  # passes capped: cost linear in rows
    card = model.card()
    head = card["heads"]["category"]
    assert head["folds"] == 1 and head["calibration_rows"] == n // 4
    assert head["calibration"].startswith("held-out slice")
    assert len(model.oof_["category"][0]) == n // 4
    assert card["params"]["holdout_above"] == n // 2 and card["params"]["class_weight_power"] == 0.5
    small = TriageModel().fit(tiny_data.items, tiny_data.labels).card()["heads"]["category"]
    assert small["folds"] == 3 and small["calibration_rows"] == n
    bigger = TriageModel(two_folds_above=n // 2).fit(tiny_data.items, tiny_data.labels)
    assert bigger.card()["heads"]["category"]["folds"] == 2


def test_the_word_block_weighs_word_weight_beside_the_characters(tiny_data):
    fz = Featurizer(word_weight=0.5)
    docs = [as_document(x) for x in tiny_data.items[:50]]
    X = fz.fit(docs).transform(docs)
    n_word = len(fz.vectorizers_[0][1].vocabulary_)
    word_norms = np.sqrt(np.asarray(X[:, :n_word].multiply(X[:, :n_word]).sum(axis=1)).ravel())
    char_norms = np.sqrt(np.asarray(X[:, n_word:].multiply(X[:, n_word:]).sum(axis=1)).ravel())
    assert np.allclose(word_norms[word_norms > 0], 0.5) and np.allclose(char_norms, 1.0)
    served = fz.blocks()
    assert np.all(served[0].scale == 0.5) and np.all(served[1].scale == 1.0)
