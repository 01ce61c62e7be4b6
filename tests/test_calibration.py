import numpy as np
import pytest

from triage.engine import calibration as cal
from triage.engine.metrics import topk_accuracy
from triage.engine.scoring import _follow, follow


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


def _two_blocks(n=8000, seed=2):
    """Rows whose top label is right more often when both feature blocks pick it too, at
    the same margin: (probabilities, labels, each block's own best label)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 5, n)
    scores = rng.normal(0, 1, (n, 5))
    scores[np.arange(n), y] += rng.uniform(0, 3, n)
    proba = cal.softmax(scores, 1.0)
    top = proba.argmax(axis=1)
    right = top == y
    other = (top + 1) % 5
    # A block agrees with a right top label 90% of the time, with a wrong one 30%.
    tops = np.column_stack(
        [np.where(rng.random(n) < np.where(right, 0.9, 0.3), top, other) for _ in range(2)]
    )
    tops[:50, 0] = -1  # rows without a word: that block agrees with nothing
    return proba, y, tops


def test_blocks_that_agree_with_the_top_label_route_more_at_the_same_precision():
    from triage.engine.scoring import LinearHead

    proba, y, tops = _two_blocks()
    fit, test = slice(0, 4000), slice(4000, None)
    plain, plain_offset = cal.fit_review(proba[fit], y[fit], 0.95)
    review, offset = cal.fit_review(proba[fit], y[fit], 0.95, tops[fit])
    assert review["agree_0"] > 0.5 and review["agree_1"] > 0.5
    auto = cal.routed_alone(proba[test], review, offset, tops[test])
    before = cal.routed_alone(proba[test], plain, plain_offset)
    right = proba[test].argmax(axis=1) == y[test]
    assert right[auto].mean() >= 0.95
    assert auto.mean() > before.mean() + 0.05
    # The served rule reads the same blocks' labels and decides alike.
    head = LinearHead("h", list("abcde"), np.zeros((1, 5)), np.zeros(5), 1.0, review, 0.1, {}, offset)
    served = [
        head.confident(p.tolist(), list(np.argsort(-p, kind="stable")), t.tolist())
        for p, t in zip(proba[test], tops[test], strict=True)
    ]
    agree = cal.block_agreement(tops[test], proba[test].argmax(axis=1))
    clear = np.abs(cal.review_scores(proba[test], offset, agree, review) - review["margin_threshold"]) > 1e-9
    assert np.array(served)[clear].tolist() == auto[clear].tolist()
    with pytest.raises(ValueError, match="2 blocks"):
        head.confident(proba[0].tolist(), list(np.argsort(-proba[0])))
    with pytest.raises(ValueError, match="agreement of 2"):
        cal.routed_alone(proba[test], review, offset)


def test_the_threshold_keeps_a_confidence_margin_over_the_target():
    scores, y = _noisy(2000)
    proba = cal.softmax(scores, 1.0)
    plain, _ = cal.fit_review(proba, y, 0.95, z=0.0)
    bounded, _ = cal.fit_review(proba, y, 0.95)
    assert bounded["confidence_z"] == cal.CONFIDENCE_Z
    assert bounded["coverage"] < plain["coverage"]
    assert bounded["margin_threshold"] > plain["margin_threshold"]
    # Wilson's lower bound of the routed rows' precision clears the target; the plain share
    # alone would have been cut right at it.
    n = round(bounded["coverage"] * len(y))
    p, z = bounded["precision"], cal.CONFIDENCE_Z
    bound = (p + z * z / (2 * n) - z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))) / (1 + z * z / n)
    assert bound >= 0.95
    # Ten right rows of ten: plainly 100% precise, but not shown to be 95% precise.
    few = cal.softmax(np.eye(3)[[0, 1, 2, 0, 1, 2, 0, 1, 2, 0]] * 5, 1.0)
    assert cal.fit_review(few, few.argmax(axis=1), 0.95)[0]["coverage"] == 0.0
    assert cal.fit_review(few, few.argmax(axis=1), 0.95, z=0.0)[0]["coverage"] == 1.0


def _confused(n=6000, classes=8, seed=0):
    """Scores where the right label, when it is not on top, is most often the top label's
    partner (0 with 1, 2 with 3, ...) and yet scores low: what a head's confusions look like."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    scores = rng.normal(0, 1, (n, classes))
    scores[np.arange(n), y] += 2.0
    hard = rng.random(n) < 0.3
    partner = y ^ 1
    scores[hard, partner[hard]] += 3.5  # the partner wins these rows...
    scores[hard, y[hard]] -= 2.5  # ...and the right label falls back among the others
    return scores, y


def test_runner_up_factors_put_the_usual_confusion_second_and_keep_the_top():
    scores, y = _confused()
    fit, test = slice(0, 4000), slice(4000, None)
    t = cal.fit_temperature(scores[fit], y[fit])
    factors, weight, crossed = cal.fit_follow(cal.softmax(scores[fit], t), y[fit])
    assert factors is not None and weight > 0
    p = cal.softmax(scores[test], t)
    q = follow(p, factors)
    assert (q.argmax(axis=1) == p.argmax(axis=1)).all()
    assert np.allclose(q.max(axis=1), p.max(axis=1)) and np.allclose(q.sum(axis=1), 1.0)
    assert topk_accuracy(q, y[test], 2) > topk_accuracy(p, y[test], 2) + 0.05  # fresh rows
    assert topk_accuracy(crossed, y[fit], 3) > topk_accuracy(cal.softmax(scores[fit], t), y[fit], 3)


def test_without_a_usual_confusion_no_factors_are_kept():
    scores, y = _noisy()
    t = cal.fit_temperature(scores, y)
    p = cal.softmax(scores, t)
    factors, weight, crossed = cal.fit_follow(p, y)
    assert factors is None and weight == 0 and crossed is p
    assert follow(p, None) is p


def test_one_row_in_plain_floats_equals_the_rows_in_numpy():
    scores, y = _confused(n=500)
    p = cal.softmax(scores, 0.7)
    factors, _, _ = cal.fit_follow(p, y)
    q = follow(p, factors)
    kept = 0
    for row, want in zip(p, q, strict=True):
        top = int(row.argmax())
        got = _follow(row.tolist(), top, factors[top].tolist())
        assert np.allclose(got, want, atol=1e-12)
        kept += got == row.tolist()
    assert 0 < kept < len(p)  # some rows keep p: an alternative would have passed the top
