"""Turning cross-validated decision scores into calibrated confidences, review thresholds
and conformal candidate sets. Everything here is fit on out-of-fold scores only."""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.stats import binomtest

from triage.engine.metrics import in_topk
from triage.engine.scoring import agree_weights, follow

__all__ = [
    "agree_weights",
    "block_agreement",
    "coverage_of",
    "expected_calibration_error",
    "fit_conformal",
    "fit_follow",
    "fit_review",
    "fit_review_threshold",
    "fit_temperature",
    "review_scores",
    "routed_alone",
    "softmax",
]


# One-sided z of the review threshold's precision bound (95% confidence).
CONFIDENCE_Z = 1.645


def softmax(scores: np.ndarray, temperature: float) -> np.ndarray:
    z: np.ndarray = np.asarray(scores, dtype=np.float64) / temperature
    z = z - z.max(axis=-1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=-1, keepdims=True)
    return z


def fit_temperature(scores: np.ndarray, y: np.ndarray) -> float:
    """The temperature that minimises the log loss of softmax(scores / T) (y: class indices)."""
    rows = np.arange(len(y))

    def nll(log_t: float) -> float:
        p = softmax(scores, math.exp(log_t))[rows, y]
        return float(-np.log(np.clip(p, 1e-12, None)).mean())

    res = minimize_scalar(nll, bounds=(-6.0, 3.0), method="bounded")
    return float(math.exp(res.x))


# Strengths tried for the runner-up factors (0: none); see fit_follow.
FOLLOW_WEIGHTS = (0.0, 0.1, 0.2, 0.3, 0.5)


def _factors(top: np.ndarray, y: np.ndarray, n_classes: int, weight: float, alpha: float) -> np.ndarray:
    """P(true label c | top label a) from rows' top labels and truths (add-``alpha``
    smoothed), raised to ``weight``: each row the factors of one top label."""
    counts = np.zeros((n_classes, n_classes))
    np.add.at(counts, (top, y), 1.0)
    prior = (counts + alpha) / (counts.sum(axis=1, keepdims=True) + alpha * n_classes)
    factors: np.ndarray = np.power(prior, weight)
    return factors


def fit_follow(
    proba: np.ndarray, y: np.ndarray, seed: int = 0, alpha: float = 0.5, level: float = 0.05
) -> tuple[np.ndarray | None, float, np.ndarray]:
    """Runner-up factors from out-of-fold probabilities (see :func:`scoring.follow`): when
    the top label is a, the right label is more often some labels than others (a district
    office and the police station of that district). Returns (factors, their strength, the
    rows' probabilities with them). Each strength of ``FOLLOW_WEIGHTS`` is tried with
    factors fit on one half of the rows and applied to the other: the one that puts the
    right label in the top three for the most rows more than it takes it out is kept, if a
    one-sided exact sign test over those rows gives p < ``level``. (None, 0, proba) when
    none passes."""
    n_classes = proba.shape[1]
    top = proba.argmax(axis=1)
    half = np.random.default_rng(seed).permutation(len(y)) % 2
    before = in_topk(proba, y)
    best, gain, best_q = 0.0, 0.0, proba
    for weight in FOLLOW_WEIGHTS[1:]:
        q = proba.copy()
        for h in (0, 1):
            part, rest = half == h, half != h
            q[part] = follow(proba[part], _factors(top[rest], y[rest], n_classes, weight, alpha))
        after = in_topk(q, y)
        won, lost = int((after & ~before).sum()), int((before & ~after).sum())
        if won - lost > gain and binomtest(won, won + lost, alternative="greater").pvalue < level:
            best, gain, best_q = weight, won - lost, q
    if not best:
        return None, 0.0, proba
    return _factors(top, y, n_classes, best, alpha), best, best_q


def expected_calibration_error(proba: np.ndarray, y: np.ndarray, bins: int = 10) -> float:
    conf = proba.max(axis=1)
    right = proba.argmax(axis=1) == y
    edges = np.linspace(0.0, 1.0, bins + 1)
    ece = 0.0
    for lo, hi in itertools.pairwise(edges):
        inside = (conf > lo) & (conf <= hi)
        if inside.any():
            ece += inside.mean() * abs(conf[inside].mean() - right[inside].mean())
    return float(ece)


def fit_review_threshold(proba: np.ndarray, y: np.ndarray, target: float) -> dict[str, float]:
    """Lowest confidence above which the auto-routed share is at least ``target`` precise.

    Items whose top confidence is >= the threshold are auto-routed; the rest go to review.
    Returns the threshold with the precision and coverage it gave on the same scores; a
    threshold of 1.0 (coverage 0) when no cut reaches the target.
    """
    right = (proba.argmax(axis=1) == y).astype(np.float64)
    return _cut(proba.max(axis=1), right, target, none=1.0)


def review_scores(
    proba: np.ndarray,
    offset: np.ndarray,
    agree: np.ndarray | None = None,
    review: Mapping[str, float] | None = None,
) -> np.ndarray:
    """How sure each row's top label is: log(p1 / p2), the calibrated score margin between
    the two best labels, plus the top label's offset (see :func:`fit_review`), plus, per
    feature block whose own best label is the top label (``agree``: rows x blocks), that
    block's ``agree_<b>`` weight from ``review``."""
    top2 = np.sort(np.clip(proba, 1e-300, None), axis=1)[:, -2:]
    margin: np.ndarray = np.log(top2[:, 1]) - np.log(top2[:, 0]) + offset[proba.argmax(axis=1)]
    weights = agree_weights(review or {})
    if weights.size:
        if agree is None or agree.shape != (len(proba), weights.size):
            raise ValueError(f"the review rule needs the agreement of {weights.size} feature blocks")
        margin = margin + agree.astype(np.float64) @ weights
    return margin


def block_agreement(block_tops: np.ndarray, top: np.ndarray) -> np.ndarray:
    """rows x blocks: whether each block's own best label (``block_tops``; -1 for a block
    with no feature in the row) is the row's top label."""
    return np.asarray(block_tops == np.asarray(top)[:, None])


def routed_alone(
    proba: np.ndarray,
    review: Mapping[str, float],
    offset: np.ndarray | None,
    block_tops: np.ndarray | None = None,
) -> np.ndarray:
    """Which rows the head routes without a person (the served model's rule, for arrays;
    ``block_tops``: rows x blocks, each feature block's own best label, see
    :func:`block_agreement`)."""
    if "margin_threshold" not in review:
        return np.asarray(proba.max(axis=1) >= review["threshold"])
    offset = np.zeros(proba.shape[1]) if offset is None else offset
    agree = None if block_tops is None else block_agreement(block_tops, proba.argmax(axis=1))
    return np.asarray(review_scores(proba, offset, agree, review) >= review["margin_threshold"])


def fit_review(
    proba: np.ndarray,
    y: np.ndarray,
    target: float,
    block_tops: np.ndarray | None = None,
    z: float = CONFIDENCE_Z,
) -> tuple[dict[str, float], np.ndarray]:
    """Review settings from out-of-fold probabilities: (review dict, per-class offsets).

    The margin between the two best labels ranks rows by how likely the top label is right
    better than the top probability alone, and a label that is common in training is more
    often right at the same margin (class weights flatten the big labels' scores). Some
    labels are also reliably right (or wrong) at a lower (higher) margin than their share
    says: a department whose orders read alike. And a top label that the word block's and
    the character block's scores each pick on their own (``block_tops``: rows x blocks, the
    out-of-fold best label of each block's part of the scores, -1 for an empty block) is
    more often right than one that only their sum picks. A logistic fit of "top label right"
    on the margin, the log share of the top label, each block's agreement and one indicator
    per top label (L2-shrunk, so a label seen a few times stays near what its share says)
    gives, in margin units, each label its offset, offset[c] = (weight * log share(c) + own
    term of c) / margin slope, and each block its weight ``agree_<b>``.
    ``margin_threshold`` is then the lowest score whose auto-routed rows are ``target``
    precise with one-sided confidence z (Wilson's bound; z = 1.645: 95%), so the promise
    survives the sampling noise between the folds and the next month's rows; ``threshold``
    keeps the top-probability rule's cut for models and readers that know only that one.
    """
    from scipy import sparse
    from sklearn.linear_model import LogisticRegression

    n_classes = proba.shape[1]
    share = np.maximum(np.bincount(y, minlength=n_classes) / len(y), 1e-6)
    top = proba.argmax(axis=1)
    right = (top == y).astype(np.float64)
    base = review_scores(proba, np.zeros(n_classes))
    agree = np.zeros((len(y), 0))
    if block_tops is not None:
        agree = block_agreement(block_tops, top).astype(np.float64)
    gamma, own, agree_w = 0.0, np.zeros(n_classes), np.zeros(agree.shape[1])
    if 0 < right.sum() < len(right):
        labels = sparse.csr_matrix(
            (np.ones(len(top)), (np.arange(len(top)), top)), shape=(len(top), n_classes)
        )
        dense = np.column_stack([base, np.log(share[top]), agree])
        X = sparse.hstack([sparse.csr_matrix(dense), labels]).tocsr()
        coef = LogisticRegression(C=1.0, max_iter=5000).fit(X, right).coef_[0]
        a, b = coef[:2]
        if a > 0:
            gamma, own = float(np.clip(b / a, 0.0, 5.0)), coef[dense.shape[1] :] / a
            agree_w = coef[2 : dense.shape[1]] / a
    offset = gamma * np.log(share) + own
    review = fit_review_threshold(proba, y, target)
    review.update({f"agree_{k}": float(w) for k, w in enumerate(agree_w)})
    by_margin = _cut(review_scores(proba, offset, agree, review), right, target, z=z)
    review.update(
        margin_threshold=by_margin["threshold"],
        precision=by_margin["precision"],
        coverage=by_margin["coverage"],
        prior_weight=gamma,
        confidence_z=z,
    )
    return review, offset


def _cut(
    conf: np.ndarray, right: np.ndarray, target: float, none: float = 1e9, z: float = 0.0
) -> dict[str, float]:
    """The lowest ``conf`` above which the rows are at least ``target`` right (``none``: no
    cut); with ``z`` > 0, right by Wilson's lower bound at that one-sided z, not the plain
    share."""
    order = np.argsort(-conf, kind="stable")
    conf, right = conf[order], right[order]
    n = np.arange(1, len(right) + 1)
    precision = np.cumsum(right) / n
    bound = precision
    if z > 0:
        spread = z * np.sqrt(precision * (1 - precision) / n + z * z / (4 * n * n))
        bound = (precision + z * z / (2 * n) - spread) / (1 + z * z / n)
    # Cut only between distinct values, so the threshold is a real boundary.
    last_of_run = np.r_[conf[1:] != conf[:-1], True]
    ok = np.flatnonzero(last_of_run & (bound >= target))
    if not len(ok):
        return {"threshold": none, "precision": float("nan"), "coverage": 0.0}
    k = int(ok[-1])
    return {
        "threshold": float(conf[k]),
        "precision": float(precision[k]),
        "coverage": float((k + 1) / len(conf)),
    }


def fit_conformal(proba: np.ndarray, y: np.ndarray, coverage: float) -> float:
    """Split-conformal cut-off q: candidates are the labels with probability >= 1 - q.

    Nonconformity is 1 - p(true label) (the "LAC" score, which gives the smallest sets on
    average); q is its finite-sample-corrected ``coverage`` quantile.
    """
    n = len(y)
    s = 1.0 - proba[np.arange(n), y]
    level = min(1.0, math.ceil((n + 1) * coverage) / n)
    return float(np.quantile(s, level, method="higher"))


def coverage_of(proba: np.ndarray, y: np.ndarray, q: float) -> tuple[float, float]:
    """(share of rows whose candidate set holds the true label, mean set size)."""
    sets = proba >= 1.0 - q
    sets[np.arange(len(y)), proba.argmax(axis=1)] = True
    return float(sets[np.arange(len(y)), y].mean()), float(sets.sum(axis=1).mean())


def cross_conformal(proba: np.ndarray, y: np.ndarray, coverage: float, seed: int = 0) -> tuple[float, float]:
    """Coverage and set size measured honestly: q fit on one half, measured on the other."""
    rng = np.random.default_rng(seed)
    half = rng.permutation(len(y)) < len(y) // 2
    results = []
    for fit_part in (half, ~half):
        q = fit_conformal(proba[fit_part], y[fit_part], coverage)
        results.append(coverage_of(proba[~fit_part], y[~fit_part], q))
    cov, size = np.mean(results, axis=0)
    return float(cov), float(size)
