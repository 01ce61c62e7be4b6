"""Features shared by every head: TF-IDF over jieba word n-grams and character n-grams.

Documents are analyzed once (``analyze``) and the token lists feed the vectorizers, so
cross-validation re-fits vocabularies per fold without segmenting the text again. Serving
uses the same analyzers without scikit-learn (``blocks`` hands the fitted vocabularies to
``triage.engine.scoring``).
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.utils.validation import check_is_fitted

from triage.engine.scoring import Block, char_ngrams, word_ngrams
from triage.engine.text import tokenize

__all__ = ["Featurizer"]

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
    ) -> None:
        self.word_ngram = word_ngram
        self.char_ngram = char_ngram
        self.min_df = min_df
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
        return TermCounts(analyzed, blocks, self.min_df, [self.weight(b) for b in blocks], chunk)

    def fit_counts(self, counts: TermCounts) -> Featurizer:
        """The vectorizers ``fit_analyzed`` would give on the documents ``counts`` counted."""
        self.vectorizers_ = []
        self.offsets_ = []
        offset = 0
        for block, terms, (keep, idf) in zip(counts.blocks, counts.terms, counts.vocabulary(), strict=True):
            vec = TfidfVectorizer(analyzer=_identity, min_df=self.min_df, sublinear_tf=True, dtype=np.float64)
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


class TermCounts:
    """Raw term counts of every block over all training rows, counted in one pass.

    The documents may be a generator: token lists are not kept (at a million rows they would
    not fit in memory), only each block's vocabulary and a sparse count matrix, built in
    chunks. Cross-validation needs each fold's own TF-IDF (vocabulary and idf from the fold's
    training rows only): selecting columns of these counts gives exactly what refitting
    ``TfidfVectorizer`` per fold gives (terms in the same sorted order).
    """

    def __init__(
        self,
        analyzed: Iterable[Analyzed],
        blocks: Sequence[int],
        min_df: int,
        weights: Sequence[float] | None = None,
        chunk: int = 4096,
    ) -> None:
        self.min_df = min_df
        self.blocks = list(blocks)
        self.weights = list(weights) if weights is not None else [1.0] * len(self.blocks)
        vocabs: list[dict[str, int]] = [{} for _ in self.blocks]
        done: list[list[sp.csr_matrix]] = [[] for _ in self.blocks]
        open_: list[tuple[array[int], list[int]]] = [(array("i"), [0]) for _ in self.blocks]

        def flush() -> None:
            for j, (indices, indptr) in enumerate(open_):
                if len(indptr) > 1:
                    cols = np.frombuffer(indices, dtype=np.int32)
                    m = sp.csr_matrix(
                        (np.ones(len(cols), np.float32), cols, indptr),
                        shape=(len(indptr) - 1, len(vocabs[j])),
                    )
                    m.sum_duplicates()  # a term's count in a row
                    done[j].append(m)
                open_[j] = (array("i"), [0])

        for n, doc in enumerate(analyzed, start=1):
            for j, block in enumerate(self.blocks):
                vocab, (indices, indptr) = vocabs[j], open_[j]
                indices.extend([vocab.setdefault(t, len(vocab)) for t in doc[block]])
                indptr.append(len(indices))
            if n % chunk == 0:
                flush()
        flush()
        self.terms: list[np.ndarray] = []
        self.counts: list[sp.csr_matrix] = []
        for vocab, parts in zip(vocabs, done, strict=True):
            terms = np.array(list(vocab), dtype=object)
            order = np.argsort(terms, kind="stable")
            rank = np.empty(len(order), dtype=np.int32)
            rank[order] = np.arange(len(order), dtype=np.int32)
            # Columns in sorted term order, as sklearn has them; each chunk as wide as the end.
            parts = [
                sp.csr_matrix((m.data, rank[m.indices], m.indptr), shape=(m.shape[0], len(vocab)))
                for m in parts
            ]
            counts = (
                sp.vstack(parts, format="csr") if parts else sp.csr_matrix((0, len(vocab)), dtype=np.float32)
            )
            counts.sort_indices()
            self.terms.append(terms[order])
            self.counts.append(counts)

    def vocabulary(self, rows: np.ndarray | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per block: (kept column indices, their idf) with document frequencies over ``rows``
        (default all), as TfidfVectorizer(min_df, smooth idf) would keep and weigh them."""
        out = []
        for counts in self.counts:
            fit = counts if rows is None else counts[rows]
            df = np.bincount(fit.indices, minlength=fit.shape[1])
            keep = np.flatnonzero(df >= self.min_df)
            out.append((keep, np.log((1 + fit.shape[0]) / (1 + df[keep])) + 1.0))
        return out

    def tfidf(self) -> sp.csr_matrix:
        """TF-IDF of every row with vocabulary and idf from every row: the featurizer's matrix."""
        blocks = zip(self.counts, self.vocabulary(), self.weights, strict=True)
        parts = [_tfidf(c[:, keep], idf) * weight for c, (keep, idf), weight in blocks]
        return sp.hstack(parts, format="csr")

    def fold(self, train: np.ndarray, test: np.ndarray) -> tuple[sp.csr_matrix, sp.csr_matrix]:
        """TF-IDF of the ``train`` and ``test`` rows with vocabulary and idf from ``train``."""
        parts: tuple[list[sp.csr_matrix], list[sp.csr_matrix]] = ([], [])
        for counts, (keep, idf), weight in zip(
            self.counts, self.vocabulary(train), self.weights, strict=True
        ):
            for rows, out in ((train, parts[0]), (test, parts[1])):
                out.append(_tfidf(counts[rows][:, keep], idf) * weight)
        return sp.hstack(parts[0], format="csr"), sp.hstack(parts[1], format="csr")


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
