import numpy as np

from triage.engine import calibration as cal


def _noisy(n=4000, classes=5, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    scores = rng.normal(0, 1, (n, classes))
    scores[np.arange(n), y] += rng.uniform(0, 3, n)  # some easy, some hard rows
    return scores, y


def test_temperature_improves_log_loss():
    scores, y = _noisy()
    t = cal.fit_temperature(scores, y)

    def nll(temp):
        return -np.log(cal.softmax(scores, temp)[np.arange(len(y)), y]).mean()

    assert nll(t) <= min(nll(0.3), nll(1.0), nll(3.0)) + 1e-9


def test_review_threshold_reaches_target_precision():
    scores, y = _noisy()
    proba = cal.softmax(scores, cal.fit_temperature(scores, y))
    review = cal.fit_review_threshold(proba, y, 0.95)
    auto = proba.max(axis=1) >= review["threshold"]
    assert (proba.argmax(axis=1)[auto] == y[auto]).mean() >= 0.95
    assert 0 < review["coverage"] < 1
    assert review["coverage"] == auto.mean()


def test_unreachable_precision_sends_everything_to_review():
    proba = np.full((10, 2), 0.5)
    proba[:, 0] += 0.01
    proba[:, 1] -= 0.01
    y = np.array([0, 1] * 5)
    assert cal.fit_review_threshold(proba, y, 0.95)["coverage"] == 0.0


def test_conformal_sets_reach_coverage_on_fresh_rows():
    scores, y = _noisy(8000)
    proba = cal.softmax(scores, 1.0)
    q = cal.fit_conformal(proba[:4000], y[:4000], 0.9)
    coverage, size = cal.coverage_of(proba[4000:], y[4000:], q)
    assert 0.88 <= coverage <= 0.93
    assert 1 <= size < 5


def test_margin_review_reaches_target_and_serving_agrees():
    from triage.engine.scoring import LinearHead

    scores, y = _noisy()
    y[:2000] = 0  # one big label: its share counts in the offsets
    proba = cal.softmax(scores, 1.0)
    review, offset = cal.fit_review(proba, y, 0.95)
    auto = cal.routed_alone(proba, review, offset)
    assert (proba.argmax(axis=1)[auto] == y[auto]).mean() >= 0.95
    assert 0 < review["coverage"] < 1 and review["coverage"] == auto.mean()
    assert review["prior_weight"] >= 0 and offset.shape == (5,)
    head = LinearHead("h", list("abcde"), np.zeros((1, 5)), np.zeros(5), 1.0, review, 0.1, {}, offset)
    served = [head.confident(p.tolist(), list(np.argsort(-p, kind="stable"))) for p in proba]
    # math.log and numpy's log may differ in the last bit: leave out rows on the boundary itself
    clear = np.abs(cal.review_scores(proba, offset) - review["margin_threshold"]) > 1e-9
    assert np.array(served)[clear].tolist() == auto[clear].tolist()


def test_a_label_right_more_often_at_the_same_margin_gets_a_higher_offset():
    rng = np.random.default_rng(1)
    n = 8000
    top = rng.integers(0, 4, n)
    scores = rng.normal(0, 1, (n, 4))
    scores[np.arange(n), top] += rng.uniform(0, 4, n)  # the same margins for every label
    # Labels 0 and 1 are right whenever on top; 2 and 3 (as common) are swapped 40% of the time.
    swap = (top >= 2) & (rng.random(n) < 0.4)
    y = np.where(swap, 5 - top, top)
    proba = cal.softmax(scores, 1.0)
    review, offset = cal.fit_review(proba, y, 0.95)
    assert min(offset[:2]) > max(offset[2:]) + 0.5
    auto = cal.routed_alone(proba, review, offset)
    assert (proba.argmax(axis=1)[auto] == y[auto]).mean() >= 0.95
    assert auto[top < 2].mean() > 2 * auto[top >= 2].mean()


def test_old_models_keep_the_top_probability_rule():
    proba = np.array([[0.9, 0.1], [0.6, 0.4]])
    assert cal.routed_alone(proba, {"threshold": 0.8}, None).tolist() == [True, False]
