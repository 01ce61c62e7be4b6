"""The statistics hotspots need, in numpy alone (a web worker carries no scipy or
scikit-learn): the binomial upper tail, Benjamini-Hochberg q-values, TF-IDF cosine
similarity of token lists and average-linkage clustering cut at a distance.
tests/test_hotspots.py checks each against the scipy / scikit-learn function it replaces."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import numpy as np

__all__ = ["average_linkage", "bh_qvalues", "binom_sf", "cosine_similarity"]


def binom_sf(k: int, n: int, p: float) -> float:
    """P(X > k) for X ~ Binomial(n, p), as ``scipy.stats.binom.sf(k, n, p)``."""
    if k < 0:
        return 1.0
    if k >= n or p <= 0.0:
        return 0.0
    if p >= 1.0:
        return 1.0
    # Terms i = k+1..n of the pmf in log space (they can underflow), each from the one
    # before by the ratio (n - i) / (i + 1) * p / (1 - p).
    first = (
        math.lgamma(n + 1)
        - math.lgamma(k + 2)
        - math.lgamma(n - k)
        + (k + 1) * math.log(p)
        + (n - k - 1) * math.log1p(-p)
    )
    i = np.arange(k + 1, n, dtype=np.float64)
    steps = np.log((n - i) / (i + 1)) + (math.log(p) - math.log1p(-p))
    log_terms = first + np.concatenate(([0.0], np.cumsum(steps)))
    top = log_terms.max()
    return float(min(1.0, math.exp(top) * np.exp(log_terms - top).sum()))


def bh_qvalues(p: Sequence[float]) -> list[float]:
    """Benjamini-Hochberg adjusted p-values, as ``scipy.stats.false_discovery_control(p, method="bh")``."""
    ps = np.asarray(p, dtype=np.float64)
    m = len(ps)
    if not m:
        return []
    order = np.argsort(ps)
    ranked = ps[order] * m / np.arange(1, m + 1)
    ranked = np.minimum.accumulate(ranked[::-1])[::-1]
    q = np.empty(m)
    q[order] = np.clip(ranked, 0.0, 1.0)
    return q.tolist()


def cosine_similarity(docs: Sequence[Sequence[str]], background: Sequence[Sequence[str]] = ()) -> np.ndarray:
    """Cosine similarity of the TF-IDF rows of ``docs`` (sublinear tf, smoothed idf learnt on
    ``background`` and ``docs`` together, l2 rows: scikit-learn's TfidfVectorizer defaults)."""
    df: Counter[str] = Counter()
    for doc in (*background, *docs):
        df.update(set(doc))
    n = len(background) + len(docs)
    bags = [Counter(doc) for doc in docs]
    ids: dict[str, int] = {}
    seen = [
        np.fromiter((ids.setdefault(w, len(ids)) for w in bag), dtype=np.int64, count=len(bag))
        for bag in bags
    ]
    idf = np.log((1 + n) / (1 + np.fromiter((df[w] for w in ids), dtype=np.float64, count=len(ids)))) + 1.0
    # One (row, word, count) triple per distinct word of each of ``docs``.
    rows = np.repeat(np.arange(len(bags)), [len(bag) for bag in bags])
    cols = np.concatenate(seen) if bags else np.zeros(0, dtype=np.int64)
    counts = np.fromiter((c for bag in bags for c in bag.values()), dtype=np.float64, count=len(cols))
    weights = (1.0 + np.log(counts)) * idf[cols] if len(cols) else np.zeros(0)
    norms = np.sqrt(np.bincount(rows, weights * weights, minlength=len(bags)))
    # Only words shared by two of ``docs`` can make two rows similar: the columns kept dense.
    in_docs = np.bincount(cols, minlength=len(ids))
    shared = np.flatnonzero(in_docs >= 2)
    column = np.full(len(ids), -1, dtype=np.int64)
    column[shared] = np.arange(len(shared))
    keep = column[cols] >= 0
    X = np.zeros((len(docs), len(shared)))
    X[rows[keep], column[cols[keep]]] = weights[keep] / norms[rows[keep]]
    sim = X @ X.T
    np.fill_diagonal(sim, [1.0 if doc else 0.0 for doc in docs])
    return sim


def average_linkage(distance: np.ndarray, threshold: float, sizes: Sequence[int] | None = None) -> list[int]:
    """Cluster labels of average-linkage (UPGMA) clustering, merging while the distance is
    below ``threshold``: scikit-learn's AgglomerativeClustering(linkage="average",
    metric="precomputed", distance_threshold=threshold, n_clusters=None), up to label names.
    ``sizes``: how many identical points each row stands for (1 each by default).

    The nearest-neighbour chain: average linkage is reducible, so merging reciprocal nearest
    neighbours in any order gives the same clusters, and a cluster whose nearest neighbour is
    at ``threshold`` or more never merges again."""
    n = len(distance)
    d = np.array(distance, dtype=np.float64)
    np.fill_diagonal(d, np.inf)
    size = np.ones(n) if sizes is None else np.asarray(sizes, dtype=np.float64)
    active = np.ones(n, dtype=bool)
    parent = list(range(n))
    chain: list[int] = []
    while active.sum() > 1:
        if not chain:
            chain.append(int(np.flatnonzero(active)[0]))
        a = chain[-1]
        row = np.where(active, d[a], np.inf)
        row[a] = np.inf
        b = int(np.argmin(row))
        if len(chain) > 1 and row[chain[-2]] <= row[b]:
            b = chain[-2]  # reciprocal nearest neighbours (ties kept on the chain)
        if row[b] >= threshold:
            active[a] = False  # nothing is near enough: a is final
            chain.clear()
            continue
        if len(chain) < 2 or b != chain[-2]:
            chain.append(b)
            continue
        chain.pop()
        chain.pop()
        # Merge b into a (Lance-Williams for the average).
        merged = (size[a] * d[a] + size[b] * d[b]) / (size[a] + size[b])
        d[a], d[:, a] = merged, merged
        d[a, a] = np.inf
        size[a] += size[b]
        active[b] = False
        d[b], d[:, b] = np.inf, np.inf
        parent[b] = a
    labels = []
    for i in range(n):
        root = i
        while parent[root] != root:
            root = parent[root]
        labels.append(root)
    return labels
