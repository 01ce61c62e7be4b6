"""Counting the training documents' terms in worker processes.

Preparing and segmenting a text is pure Python (the GIL allows one thread at a time), and
at 100,000 rows it was most of a fit's first minutes. Each worker prepares, segments and
counts a run of documents with a vocabulary of its own; the parent merges the runs in order,
so the counts are exactly those of one process (tests/test_parallel.py checks it). A run
keeps the counts of the rows asked for only, and every term's document frequency.
"""

from __future__ import annotations

import multiprocessing as mp
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

import numpy as np

from triage.engine.counts import Chunk, TermCounts, count_chunk
from triage.engine.features import Featurizer
from triage.engine.progress import Progress, quiet
from triage.engine.scoring import as_document
from triage.engine.text import dictionary

__all__ = ["count_documents"]

Item = str | Mapping[str, Any]

_featurizer: Featurizer | None = None  # a worker's own, set once when it starts


def _start(featurizer: Featurizer) -> None:
    global _featurizer
    _featurizer = featurizer
    dictionary(tuple(featurizer.userdict))  # built now (or inherited, when forked)


def _count(items: Sequence[Item], keep: np.ndarray | None) -> Chunk:
    assert _featurizer is not None, "a counting worker runs _start first"
    fz = _featurizer
    return count_chunk((fz.analyze(as_document(x)) for x in items), fz._blocks(), keep)


def count_documents(
    featurizer: Featurizer,
    items: Sequence[Item],
    n_jobs: int = 1,
    chunk: int = 2048,
    progress: Progress = quiet,
    rows: np.ndarray | None = None,
) -> TermCounts:
    """The term counts of ``items`` (prepared as the model prepares them), with ``n_jobs``
    worker processes when there is more than one run of ``chunk`` documents; the counts of
    ``rows`` (sorted indices into ``items``; default all) are kept, see :class:`TermCounts`."""
    n = len(items)
    runs = [(a, min(a + chunk, n)) for a in range(0, n, chunk)]
    if rows is not None:
        rows = np.unique(np.asarray(rows, dtype=np.int64))
        if len(rows) and (rows[0] < 0 or rows[-1] >= n):
            raise ValueError(f"rows to keep must be indices into the {n} items")

    def keep(a: int, b: int) -> np.ndarray | None:
        if rows is None:
            return None
        return rows[np.searchsorted(rows, a) : np.searchsorted(rows, b)] - a

    def serial() -> Iterator[Chunk]:
        _start(featurizer)
        for a, b in runs:
            yield _count(items[a:b], keep(a, b))
            progress("segmenting", b, n)

    if n_jobs <= 1 or len(runs) < 2:
        return featurizer.merge_counts(serial(), rows)
    # Fork where there is one: the dictionary (built first, here) is shared, not rebuilt.
    dictionary(tuple(featurizer.userdict))
    context = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
    with ProcessPoolExecutor(n_jobs, context, initializer=_start, initargs=(featurizer,)) as pool:

        def parallel() -> Iterator[Chunk]:
            # A few runs ahead of the merge at most: memory stays bounded at a million rows.
            ahead: deque[tuple[int, Future[Chunk]]] = deque()
            todo = iter(runs)
            for a, b in todo:
                ahead.append((b, pool.submit(_count, items[a:b], keep(a, b))))
                if len(ahead) >= 2 * n_jobs:
                    break
            while ahead:
                b, future = ahead.popleft()
                for a2, b2 in todo:
                    ahead.append((b2, pool.submit(_count, items[a2:b2], keep(a2, b2))))
                    break
                yield future.result()
                progress("segmenting", b, n)

        return featurizer.merge_counts(parallel(), rows)
