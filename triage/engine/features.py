"""Features shared by every head: TF-IDF over jieba word n-grams and character n-grams.

Documents are analyzed once (``analyze``) and the token lists feed the vectorizers, so
cross-validation re-fits vocabularies per fold without segmenting the text again. Serving
uses the same analyzers without scikit-learn (``blocks`` hands the fitted vocabularies to
``triage.engine.scoring``).
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.utils.validation import check_is_fitted

from triage.engine.scoring import Block, char_ngrams, word_ngrams
from triage.engine.text import tokenize

__all__ = ["Chunk", "Featurizer", "TermCounts", "bounded_min_df", "count_chunk"]

Analyzed = tuple[list[str], list[str]]


def _identity(tokens: list[str]) -> list[str]:
    return tokens


class Featurizer(TransformerMixin, BaseEstimator):
    """TF-IDF (sublinear tf, l2 per block) of word and character n-grams, side by side.

    Parameters
    ----------
    word_ngram : longest word n-gram (0 turns word features off).
    char_ngram : (shortest, longest) character n-gram, or None.
    min_df : minimum document frequency of a term.
    max_features : when more terms than this pass ``min_df``, min_df is raised until they do
        not (applied when fitting from counts, as the model does; see ``bounded_min_df``).
    word_weight : the word block's features are multiplied by this (the character block's
        by 1): below 1 the classifier leans on the character n-grams, which carry the same
        words and the fragments jieba cuts wrongly.
    userdict, stopwords : jieba dictionary lines and stop words (stored, so a saved model
        segments exactly as it did when trained).
    """

    def __init__(
        self,
        word_ngram: int = 1,
        char_ngram: tuple[int, int] | None = (1, 3),
        min_df: int = 2,
        word_weight: float = 0.5,
        userdict: tuple[str, ...] = (),
        stopwords: tuple[str, ...] = (),
        max_features: int | None = None,
    ) -> None:
        self.word_ngram = word_ngram
        self.char_ngram = char_ngram
        self.min_df = min_df
        self.max_features = max_features
        self.word_weight = word_weight
        self.userdict = userdict
        self.stopwords = stopwords

    # -- analysis ---------------------------------------------------------------------
    def analyze(self, doc: str) -> Analyzed:
        words: list[str] = []
        if self.word_ngram:
            tokens = tokenize(doc, self.userdict, frozenset(self.stopwords))
            words = word_ngrams(tokens, 1, self.word_ngram)
        chars = char_ngrams(doc, *self.char_ngram) if self.char_ngram else []
        return words, chars

    def _blocks(self) -> list[int]:
        return [i for i, on in enumerate((self.word_ngram, self.char_ngram)) if on]

    def weight(self, block: int) -> float:
        """What each feature of ``block`` (0 words, 1 characters) is multiplied by."""
        return self.word_weight if block == 0 else 1.0

    # -- fitting on analyzed documents --------------------------------------------------
    def fit_analyzed(self, analyzed: Sequence[Analyzed]) -> Featurizer:
        self.vectorizers_: list[tuple[int, TfidfVectorizer]] = []
        offset = 0
        self.offsets_: list[int] = []
        for block in self._blocks():
            vec = TfidfVectorizer(analyzer=_identity, min_df=self.min_df, sublinear_tf=True, dtype=np.float64)
            vec.fit([doc[block] for doc in analyzed])
            vec.stop_words_ = None  # every pruned term; only bloats the artifact
            self.vectorizers_.append((block, vec))
            self.offsets_.append(offset)
            offset += len(vec.vocabulary_)
        self.n_features_ = offset
        return self

    def count_terms(self, analyzed: Iterable[Analyzed], chunk: int = 4096) -> TermCounts:
        """The term counts of ``analyzed`` over this featurizer's blocks, weighted as it weighs them."""
        blocks = self._blocks()
        it = iter(analyzed)

        def chunks() -> Iterator[Chunk]:
            while part := list(islice(it, chunk)):
                yield count_chunk(part, blocks)

        return self.merge_counts(chunks())

    def merge_counts(self, chunks: Iterable[Chunk]) -> TermCounts:
        """The term counts of documents counted in ``chunks`` (in order), as ``count_terms`` gives."""
        blocks = self._blocks()
        return TermCounts(chunks, blocks, self.min_df, [self.weight(b) for b in blocks], self.max_features)

    def fit_counts(self, counts: TermCounts) -> Featurizer:
        """The vectorizers ``fit_analyzed`` would give on the documents ``counts`` counted."""
        self.vectorizers_ = []
        self.offsets_ = []
        offset = 0
        vocabulary = counts.vocabulary()
        self.min_df_ = counts.min_df_  # min_df as raised by max_features
        for block, terms, (keep, idf) in zip(counts.blocks, counts.terms, vocabulary, strict=True):
            vec = TfidfVectorizer(
                analyzer=_identity, min_df=self.min_df_, sublinear_tf=True, dtype=np.float64
            )
            vec.vocabulary_ = {str(t): i for i, t in enumerate(terms[keep])}
            vec.idf_ = idf
            vec.stop_words_ = None
            self.vectorizers_.append((block, vec))
            self.offsets_.append(offset)
            offset += len(keep)
        self.n_features_ = offset
        return self

    def transform_analyzed(self, analyzed: Sequence[Analyzed]) -> sp.csr_matrix:
        check_is_fitted(self, "vectorizers_")
        mats = [vec.transform([doc[b] for doc in analyzed]) * self.weight(b) for b, vec in self.vectorizers_]
        return sp.hstack(mats, format="csr")

    def fit(self, docs: Sequence[str], y: object = None) -> Featurizer:
        return self.fit_analyzed([self.analyze(d) for d in docs])

    def transform(self, docs: Sequence[str]) -> sp.csr_matrix:
        return self.transform_analyzed([self.analyze(d) for d in docs])

    def feature_names(self) -> np.ndarray:
        check_is_fitted(self, "vectorizers_")
        return np.concatenate([vec.get_feature_names_out() for _, vec in self.vectorizers_])

    def blocks(self) -> list[Block]:
        """The fitted vectorizers as the served model's feature blocks (columns in order)."""
        check_is_fitted(self, "vectorizers_")
        out = []
        for block, vec in self.vectorizers_:
            if block == 0:
                kind, ngram = "word", (1, self.word_ngram)
            else:
                assert self.char_ngram is not None  # a second block exists only with char n-grams
                kind, ngram = "char", (self.char_ngram[0], self.char_ngram[1])
            terms = [str(t) for t in vec.get_feature_names_out()]
            idf = np.asarray(vec.idf_, dtype=np.float64)
            out.append(Block(kind, ngram, terms, idf, np.full(len(terms), self.weight(block))))
        return out


class Chunk(NamedTuple):
    """One run of documents counted on its own: per block, its terms (in first-seen order)
    and a count matrix whose columns are those terms."""

    terms: list[list[str]]
    counts: list[sp.csr_matrix]


def count_chunk(analyzed: Iterable[Analyzed], blocks: Sequence[int]) -> Chunk:
    """The term counts of ``analyzed`` with a vocabulary of their own (see :class:`TermCounts`)."""
    vocabs: list[dict[str, int]] = [{} for _ in blocks]
    open_: list[tuple[array[int], list[int]]] = [(array("i"), [0]) for _ in blocks]
    for doc in analyzed:
        for j, block in enumerate(blocks):
            vocab, (indices, indptr) = vocabs[j], open_[j]
            indices.extend([vocab.setdefault(t, len(vocab)) for t in doc[block]])
            indptr.append(len(indices))
    mats = []
    for vocab, (indices, indptr) in zip(vocabs, open_, strict=True):
        cols = np.frombuffer(indices, dtype=np.int32) if len(indices) else np.zeros(0, np.int32)
        m = sp.csr_matrix((np.ones(len(cols), np.float32), cols, indptr), shape=(len(indptr) - 1, len(vocab)))
        m.sum_duplicates()  # a term's count in a row
        mats.append(m)
    return Chunk([list(v) for v in vocabs], mats)


class TermCounts:
    """Raw term counts of every block over all training rows, counted in one pass.

    Documents arrive as :class:`Chunk` s, each counted with a vocabulary of its own (in this
    process or in a worker: see ``triage.engine.parallel``), and are merged in order: token
    lists are not kept (at a million rows they would not fit in memory), only each block's
    vocabulary and a sparse count matrix. Cross-validation needs each fold's own TF-IDF
    (vocabulary and idf from the fold's training rows only): selecting columns of these
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
    ) -> None:
        self.min_df = min_df
        self.max_features = max_features
        self.min_df_ = min_df
        self._vocabulary: list[tuple[np.ndarray, np.ndarray]] | None = None
        self.blocks = list(blocks)
        self.weights = list(weights) if weights is not None else [1.0] * len(self.blocks)
        vocabs: list[dict[str, int]] = [{} for _ in self.blocks]
        # Per block, each chunk's (data, column ids in first-seen order, indptr).
        done: list[list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = [[] for _ in self.blocks]
        for chunk in chunks:
            for j, (names, m) in enumerate(zip(chunk.terms, chunk.counts, strict=True)):
                vocab = vocabs[j]
                ids = np.fromiter((vocab.setdefault(t, len(vocab)) for t in names), np.int32, len(names))
                done[j].append((m.data, ids[m.indices], m.indptr))
        self.terms: list[np.ndarray] = []
        self.counts: list[sp.csr_matrix] = []
        for vocab, parts in zip(vocabs, done, strict=True):
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

    def vocabulary(self, rows: np.ndarray | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per block: (kept column indices, their idf) with document frequencies over ``rows``
        (default all), as TfidfVectorizer(min_df, smooth idf) would keep and weigh them, with
        min_df raised as far as ``max_features`` needs (see :func:`bounded_min_df`)."""
        if rows is None and self._vocabulary is not None:
            return self._vocabulary
        dfs, n_rows = [], 0
        for counts in self.counts:
            fit = counts if rows is None else counts[rows]
            dfs.append(np.bincount(fit.indices, minlength=fit.shape[1]))
            n_rows = fit.shape[0]
        min_df = bounded_min_df(dfs, self.min_df, self.max_features)
        out = [
            (keep := np.flatnonzero(df >= min_df), np.log((1 + n_rows) / (1 + df[keep])) + 1.0) for df in dfs
        ]
        if rows is None:
            self.min_df_, self._vocabulary = min_df, out
        return out

    def tfidf(self, rows: np.ndarray | None = None) -> sp.csr_matrix:
        """TF-IDF of ``rows`` (default every row) with vocabulary and idf from every row: the
        featurizer's matrix."""
        blocks = zip(self.counts, self.vocabulary(), self.weights, strict=True)
        parts = [_tfidf((c if rows is None else c[rows])[:, keep], idf) * w for c, (keep, idf), w in blocks]
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
        for counts, (keep, idf), weight in zip(self.counts, vocabulary, self.weights, strict=True):
            for rows, out in ((train, parts[0]), (test, parts[1])):
                out.append(_tfidf(counts[rows][:, keep], idf) * weight)
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
