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
