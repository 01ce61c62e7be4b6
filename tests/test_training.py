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


def test_a_capped_sample_keeps_corrections_and_rare_classes_and_each_class_share():
    rng = np.random.default_rng(1)
    y = np.r_[np.zeros(6000, int), np.ones(3000, int), np.full(50, 2)]
    rng.shuffle(y)
    w = np.ones(len(y))
    corrections = rng.choice(np.flatnonzero(y == 0), 40, replace=False)
    w[corrections] = 3.0
    model = TriageModel(max_fit_rows=3000, min_class_rows=100)
    picked = model._sample(y, w)
    assert np.all(np.diff(picked) > 0)
    assert set(corrections) <= set(picked)  # every verified correction is trained on
    assert set(np.flatnonzero(y == 2)) <= set(picked)  # a class below min_class_rows stays whole
    assert 2900 <= len(picked) <= 3000 + 40 + 50
    share = np.bincount(y[picked], minlength=3) / len(picked)
    assert abs(share[0] / share[1] - 2.0) < 0.1  # the big classes keep their proportions
    assert np.array_equal(model._sample(y, w), picked)  # the same rows each time
    assert len(TriageModel(max_fit_rows=None)._sample(y, w)) == len(y)


def test_a_head_past_the_cap_is_fit_once_and_calibrated_on_rows_it_never_saw(tiny_data):
    n = len(tiny_data.items)
    weights = np.ones(n)
    weights[::7] = 2.0  # verified corrections: always fit on, never in the calibration slice
    model = TriageModel(holdout_above=n // 2, holdout_rows=n // 4, max_fit_rows=n // 3, min_class_rows=5)
    plans = [model._plan(h, labels, weights) for h, labels in tiny_data.labels.items()]
    for plan in plans:
        assert plan.splits == [] and plan.held is not None  # no extra calibration fit
        assert len(plan.held) == n // 4 and not set(plan.held) & set(plan.fit)
        assert np.all(weights[plan.rows[plan.held]] == 1.0)
        assert set(np.flatnonzero(weights[plan.rows] > 1)) <= set(plan.fit)
    model.fit(tiny_data.items, tiny_data.labels, sample_weight=weights)
    head = model.card()["heads"]["category"]
    assert head["folds"] == 1 and head["calibration_rows"] == n // 4
    assert head["calibration"].startswith("held-out slice") and head["fit_rows"] < n - n // 4
    rows, proba = model.oof_["category"]
    # The calibration scores are the final classifier's own on the slice.
    direct = model.predict_proba([tiny_data.items[i] for i in rows])["category"]
    assert np.allclose(proba, direct, atol=1e-9)


def test_max_features_raises_min_df_until_the_vocabulary_fits(tiny_data):
    fz = Featurizer()
    analyzed = [fz.analyze(as_document(x)) for x in tiny_data.items]
    free = Featurizer().fit_counts(Featurizer().count_terms(analyzed))
    cap = free.n_features_ // 3
    bounded = Featurizer(max_features=cap)
    bounded.fit_counts(bounded.count_terms(analyzed))
    assert bounded.n_features_ <= cap and bounded.min_df_ > 2
    # Exactly the vocabulary of that min_df: the rarest terms went first, no more.
    want = Featurizer(min_df=bounded.min_df_).fit_analyzed(analyzed)
    assert want.n_features_ == bounded.n_features_
    looser = Featurizer(min_df=bounded.min_df_ - 1).fit_analyzed(analyzed)
    assert looser.n_features_ > cap
    roomy = Featurizer(max_features=free.n_features_)
    assert roomy.fit_counts(roomy.count_terms(analyzed)).n_features_ == free.n_features_
    assert roomy.min_df_ == 2


def test_a_sampled_head_keeps_only_its_rows_counts_and_fits_the_same_model(tiny_data, monkeypatch):
    import triage.engine.model as model_module

    n = len(tiny_data.items)
    params = dict(holdout_above=n // 3, holdout_rows=n // 8, max_fit_rows=n // 4, min_class_rows=2)
    kept: list[int] = []
    count = model_module.count_documents

    def counting(*args, rows=None, **kwargs):
        kept.append(n if rows is None else len(rows))
        return count(*args, rows=rows, **kwargs)

    monkeypatch.setattr(model_module, "count_documents", counting)
    sampled = TriageModel(**params).fit(tiny_data.items, tiny_data.labels)
    assert kept and kept[0] < n  # only the sampled and held-out rows' counts were kept
    every = TriageModel(**params)
    monkeypatch.setattr(model_module, "count_documents", lambda *a, rows=None, **k: count(*a, **k))
    every.fit(tiny_data.items, tiny_data.labels)
    assert sampled.featurizer_.n_features_ == every.featurizer_.n_features_
    for head, m in sampled.heads_.items():
        assert np.array_equal(m.clf.coef_, every.heads_[head].clf.coef_)
        assert m.temperature == every.heads_[head].temperature


def test_the_same_data_fits_the_same_model(tiny_data):
    # Fits run in threads; liblinear's one process-wide generator must not make them differ.
    a = TriageModel(n_jobs=2).fit(tiny_data.items, tiny_data.labels)
    b = TriageModel(n_jobs=2).fit(tiny_data.items, tiny_data.labels)
    for head, m in a.heads_.items():
        assert np.array_equal(m.clf.coef_, b.heads_[head].clf.coef_)


def test_label_names_train_their_head_and_are_never_scored(tiny_data):
    names = {"category": {"food_license": "食品经营许可"}}
    on = TriageModel(cv=2, names=names).fit(tiny_data.items, tiny_data.labels)
    off = TriageModel(cv=2, names=names, name_weight=0).fit(tiny_data.items, tiny_data.labels)
    n = len(tiny_data.items)
    for model, extra in ((on, True), (off, False)):
        head = model.card()["heads"]["category"]
        labelled = sum(1 for lab in tiny_data.labels["category"] if lab)
        assert head["rows"] == labelled and head["calibration_rows"] == labelled
        assert head["name_rows"] == (1 if extra else 0)  # the other labels' ids are no words
        assert model.oof_["category"][0].max() < n  # only real rows are scored
        assert model.n_train_ == n
    common = TriageModel(cv=2, names=names, name_below=2).fit(tiny_data.items, tiny_data.labels)
    assert common.card()["heads"]["category"]["name_rows"] == 0  # every label has 2 rows or more
    # The name's own words now speak for its label more than they did.
    index = list(on.heads_["category"].classes).index("food_license")
    p_on = on.predict_proba(["食品经营许可"])["category"][0, index]
    p_off = off.predict_proba(["食品经营许可"])["category"][0, index]
    assert p_on > p_off
