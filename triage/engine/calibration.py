"""Turning cross-validated decision scores into calibrated confidences, review thresholds
and conformal candidate sets. Everything here is fit on out-of-fold scores only."""

from __future__ import annotations

import itertools
import math

import numpy as np
from scipy.optimize import minimize_scalar

__all__ = [
    "coverage_of",
    "expected_calibration_error",
    "fit_conformal",
    "fit_review_threshold",
    "fit_temperature",
    "softmax",
]


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
    conf = proba.max(axis=1)
    right = (proba.argmax(axis=1) == y).astype(np.float64)
    order = np.argsort(-conf, kind="stable")
    conf, right = conf[order], right[order]
    precision = np.cumsum(right) / np.arange(1, len(right) + 1)
    # Cut only between distinct confidences, so the threshold is a real boundary.
    last_of_run = np.r_[conf[1:] != conf[:-1], True]
    ok = np.flatnonzero(last_of_run & (precision >= target))
    if not len(ok):
        return {"threshold": 1.0, "precision": float("nan"), "coverage": 0.0}
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
