"""Term counts of the training documents, counted in runs and merged in order.

Token lists are not kept (at a million rows they would not fit in memory), only each block's
vocabulary, each term's document frequency over every row, and the sparse counts of the rows
asked for. A head that fits on a sample needs the counts of its sample and its calibration
rows only, while the shared vocabulary and idf need only the document frequencies: at a
million rows that keeps some 80,000 rows' counts instead of a million (about 5 GB of them).
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Sequence
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

__all__ = ["Analyzed", "Chunk", "TermCounts", "bounded_min_df", "count_chunk"]

Analyzed = tuple[list[str], list[str]]


class Chunk(NamedTuple):
    """One run of documents counted on its own: per block, its terms (in first-seen order),
    the count matrix of the run's kept rows (columns: those terms) and each term's document
    frequency over all the run's rows; and how many rows the run counted."""

    terms: list[list[str]]
    counts: list[sp.csr_matrix]
    df: list[np.ndarray]
    n: int


def count_chunk(analyzed: Iterable[Analyzed], blocks: Sequence[int], keep: np.ndarray | None = None) -> Chunk:
    """The term counts of ``analyzed`` with a vocabulary of their own (see :class:`TermCounts`),
    keeping the counts of the rows at positions ``keep`` only (default all)."""
    vocabs: list[dict[str, int]] = [{} for _ in blocks]
    open_: list[tuple[array[int], list[int]]] = [(array("i"), [0]) for _ in blocks]
    for doc in analyzed:
        for j, block in enumerate(blocks):
            vocab, (indices, indptr) = vocabs[j], open_[j]
            indices.extend([vocab.setdefault(t, len(vocab)) for t in doc[block]])
            indptr.append(len(indices))
    mats, dfs = [], []
    for vocab, (indices, indptr) in zip(vocabs, open_, strict=True):
        cols = np.frombuffer(indices, dtype=np.int32) if len(indices) else np.zeros(0, np.int32)
        m = sp.csr_matrix((np.ones(len(cols), np.float32), cols, indptr), shape=(len(indptr) - 1, len(vocab)))
        m.sum_duplicates()  # a term's count in a row; each (row, term) once
        dfs.append(np.bincount(m.indices, minlength=len(vocab)).astype(np.int64))
        mats.append(m if keep is None else m[keep])
    n = len(open_[0][1]) - 1 if open_ else 0
    return Chunk([list(v) for v in vocabs], mats, dfs, n)


class TermCounts:
    """Raw term counts of every block, merged from :class:`Chunk` s in order.

    ``rows``: the sorted indices of the rows whose counts the chunks kept (None: every row).
    Document frequencies always cover every row, so the vocabulary and idf are those of all
    rows either way. Cross-validation needs each fold's own TF-IDF (vocabulary and idf from
    the fold's training rows only, which must be kept rows): selecting columns of these
    counts gives exactly what refitting ``TfidfVectorizer`` per fold gives (terms in the same
    sorted order).
    """

    def __init__(
        self,
        chunks: Iterable[Chunk],
        blocks: Sequence[int],
        min_df: int,
        weights: Sequence[float] | None = None,
        max_features: int | None = None,
        rows: np.ndarray | None = None,
    ) -> None:
        self.min_df = min_df
        self.max_features = max_features
        self.min_df_ = min_df
        self._vocabulary: list[tuple[np.ndarray, np.ndarray]] | None = None
        self.blocks = list(blocks)
        self.weights = list(weights) if weights is not None else [1.0] * len(self.blocks)
        self.rows = None if rows is None else np.asarray(rows, dtype=np.int64)
        vocabs: list[dict[str, int]] = [{} for _ in self.blocks]
        dfs = [np.zeros(1024, np.int64) for _ in self.blocks]
        self.n_rows = 0
        # Per block, each chunk's (data, column ids in first-seen order, indptr).
        done: list[list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = [[] for _ in self.blocks]
        for chunk in chunks:
            for j, (names, m, df) in enumerate(zip(chunk.terms, chunk.counts, chunk.df, strict=True)):
                vocab = vocabs[j]
                ids = np.fromiter((vocab.setdefault(t, len(vocab)) for t in names), np.int32, len(names))
                if len(vocab) > len(dfs[j]):  # grown by doubling: amortised constant per term
                    dfs[j] = np.concatenate([dfs[j], np.zeros(max(len(vocab), 2 * len(dfs[j])), np.int64)])
                dfs[j][ids] += df  # a run's terms are distinct, so no id repeats here
                done[j].append((m.data, ids[m.indices], m.indptr))
            self.n_rows += chunk.n
        self.terms: list[np.ndarray] = []
        self.counts: list[sp.csr_matrix] = []
        self.df: list[np.ndarray] = []
        for vocab, parts, df in zip(vocabs, done, dfs, strict=True):
            terms = np.array(list(vocab), dtype=object)
            order = np.argsort(terms, kind="stable")
            rank = np.empty(len(order), dtype=np.int32)
            rank[order] = np.arange(len(order), dtype=np.int32)
            # Columns in sorted term order, as sklearn has them; each chunk as wide as the end.
            mats = [
                sp.csr_matrix((data, rank[cols], indptr), shape=(len(indptr) - 1, len(vocab)))
                for data, cols, indptr in parts
            ]
            parts.clear()
            empty = sp.csr_matrix((0, len(vocab)), dtype=np.float32)
            counts = sp.vstack(mats, format="csr") if mats else empty
            del mats
            counts.sort_indices()
            self.terms.append(terms[order])
            self.counts.append(counts)
            self.df.append(df[: len(vocab)][order])
        kept = self.n_rows if self.rows is None else len(self.rows)
        if any(c.shape[0] != kept for c in self.counts):
            raise ValueError(f"the chunks kept {self.counts[0].shape[0]} rows' counts, not {kept}")

    def local(self, rows: np.ndarray) -> np.ndarray:
        """Positions of ``rows`` (indices of the counted rows) among the kept rows."""
        rows = np.asarray(rows, dtype=np.int64)
        if self.rows is None:
            return rows
        pos = np.searchsorted(self.rows, rows)
        found = pos < len(self.rows)
        if not found.all() or (self.rows[pos[found]] != rows[found]).any():
            raise ValueError("asked for rows whose counts were not kept")
        return pos

    def vocabulary(self, rows: np.ndarray | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per block: (kept column indices, their idf) with document frequencies over ``rows``
        (default all counted rows), as TfidfVectorizer(min_df, smooth idf) would keep and weigh
        them, with min_df raised as far as ``max_features`` needs (see :func:`bounded_min_df`)."""
        if rows is None and self._vocabulary is not None:
            return self._vocabulary
        if rows is None:
            dfs, n_rows = self.df, self.n_rows
        else:
            at = self.local(rows)
            dfs = [np.bincount(c[at].indices, minlength=c.shape[1]) for c in self.counts]
            n_rows = len(at)
        min_df = bounded_min_df(dfs, self.min_df, self.max_features)
        out = [
            (keep := np.flatnonzero(df >= min_df), np.log((1 + n_rows) / (1 + df[keep])) + 1.0) for df in dfs
        ]
        if rows is None:
            self.min_df_, self._vocabulary = min_df, out
        return out

    def tfidf(self, rows: np.ndarray | None = None) -> sp.csr_matrix:
        """TF-IDF of ``rows`` (default every kept row) with vocabulary and idf from every
        counted row: the featurizer's matrix."""
        at = None if rows is None else self.local(rows)
        blocks = zip(self.counts, self.vocabulary(), self.weights, strict=True)
        parts = [_tfidf((c if at is None else c[at])[:, keep], idf) * w for c, (keep, idf), w in blocks]
        return sp.hstack(parts, format="csr")

    def fold(
        self,
        train: np.ndarray,
        test: np.ndarray,
        vocabulary: list[tuple[np.ndarray, np.ndarray]] | None = None,
    ) -> tuple[sp.csr_matrix, sp.csr_matrix]:
        """TF-IDF of the ``train`` and ``test`` rows with vocabulary and idf from ``train``
        (``vocabulary``: that of ``train``, when the caller has it already)."""
        parts: tuple[list[sp.csr_matrix], list[sp.csr_matrix]] = ([], [])
        if vocabulary is None:
            vocabulary = self.vocabulary(train)
        at_train, at_test = self.local(train), self.local(test)
        for counts, (keep, idf), weight in zip(self.counts, vocabulary, self.weights, strict=True):
            for at, out in ((at_train, parts[0]), (at_test, parts[1])):
                out.append(_tfidf(counts[at][:, keep], idf) * weight)
        return sp.hstack(parts[0], format="csr"), sp.hstack(parts[1], format="csr")


def bounded_min_df(dfs: Sequence[np.ndarray], min_df: int, max_features: int | None) -> int:
    """The least document frequency, at least ``min_df``, that keeps at most ``max_features``
    terms over all blocks: the vocabulary (and each head's weights, a dense classes x terms
    array) stops growing with the rows, the rarest terms going first."""
    df = np.concatenate(dfs) if dfs else np.zeros(0, np.int64)
    if max_features is None or int((df >= min_df).sum()) <= max_features:
        return min_df
    if max_features <= 0:
        return int(df.max()) + 1
    # One more than the (max_features + 1)-th largest frequency: the terms above it fit.
    return max(min_df, int(np.partition(df, len(df) - max_features - 1)[len(df) - max_features - 1]) + 1)


def _tfidf(counts: sp.csr_matrix, idf: np.ndarray) -> sp.csr_matrix:
    """Sublinear tf times idf, each row l2-normalised (TfidfVectorizer's defaults here)."""
    m = counts.astype(np.float64)  # a copy: counts are float32
    m.eliminate_zeros()
    np.log(m.data, out=m.data)
    m.data += 1.0
    m = m @ sp.diags(idf)
    norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sp.csr_matrix(sp.diags(1.0 / norms) @ m)
