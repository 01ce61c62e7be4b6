"""Features shared by every head: TF-IDF over jieba word n-grams and character n-grams.

Documents are analyzed once (``analyze``) and the token lists feed the vectorizers, so
cross-validation re-fits vocabularies per fold without segmenting the text again. Serving
uses the same analyzers without scikit-learn (``blocks`` hands the fitted vocabularies to
``triage.engine.scoring``).
"""

from __future__ import annotations

from collections.abc import Sequence

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
        word_ngram: int = 2,
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
    """Raw term counts of every block over all training rows, counted once.

    Cross-validation needs each fold's own TF-IDF (vocabulary and idf from the fold's
    training rows only). Selecting columns of these counts gives exactly what refitting
    ``TfidfVectorizer`` per fold gives (terms in the same sorted order), without walking the
    token lists again.
    """

    def __init__(self, analyzed: Sequence[Analyzed], featurizer: Featurizer) -> None:
        self.min_df = featurizer.min_df
        self.weights = [featurizer.weight(b) for b in featurizer._blocks()]
        self.counts: list[sp.csr_matrix] = []
        for block in featurizer._blocks():
            vocab: dict[str, int] = {}
            indptr: list[int] = [0]
            indices: list[int] = []
            for doc in analyzed:
                indices.extend(vocab.setdefault(t, len(vocab)) for t in doc[block])
                indptr.append(len(indices))
            data = np.ones(len(indices), dtype=np.float64)
            m = sp.csr_matrix((data, indices, indptr), shape=(len(analyzed), len(vocab)))
            m.sum_duplicates()
            order = np.argsort(np.array(list(vocab), dtype=object), kind="stable")
            self.counts.append(m[:, order].tocsr())  # columns in sorted term order, as sklearn

    def fold(self, train: np.ndarray, test: np.ndarray) -> tuple[sp.csr_matrix, sp.csr_matrix]:
        """TF-IDF of the ``train`` and ``test`` rows with vocabulary and idf from ``train``."""
        parts: tuple[list[sp.csr_matrix], list[sp.csr_matrix]] = ([], [])
        for counts, weight in zip(self.counts, self.weights, strict=True):
            fit = counts[train]
            df = np.bincount(fit.indices, minlength=fit.shape[1])
            keep = np.flatnonzero(df >= self.min_df)
            idf = np.log((1 + len(train)) / (1 + df[keep])) + 1.0
            for rows, out in ((fit, parts[0]), (counts[test], parts[1])):
                out.append(_tfidf(rows[:, keep], idf) * weight)
        return sp.hstack(parts[0], format="csr"), sp.hstack(parts[1], format="csr")


def _tfidf(counts: sp.csr_matrix, idf: np.ndarray) -> sp.csr_matrix:
    """Sublinear tf times idf, each row l2-normalised (TfidfVectorizer's defaults here)."""
    m = counts.tocsr(copy=True)
    m.eliminate_zeros()
    np.log(m.data, out=m.data)
    m.data += 1.0
    m = m @ sp.diags(idf)
    norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sp.csr_matrix(sp.diags(1.0 / norms) @ m)
