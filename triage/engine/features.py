"""Features shared by every head: TF-IDF over jieba word n-grams and character n-grams.

Documents are analyzed once (``analyze``) and the token lists feed the vectorizers, so
cross-validation re-fits vocabularies per fold without segmenting the text again. The
analyzers are module-level callables: they pickle, and hold no jieba object.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.utils.validation import check_is_fitted

from triage.engine.text import tokenize

__all__ = ["Featurizer"]

Analyzed = tuple[list[str], list[str]]
Lookup = tuple[int, Callable[[str], int | None], int]  # block, term -> column, first column


def _identity(tokens: list[str]) -> list[str]:
    return tokens


def word_ngrams(words: list[str], n: int) -> list[str]:
    grams = list(words)
    for k in range(2, n + 1):
        grams.extend(" ".join(words[i : i + k]) for i in range(len(words) - k + 1))
    return grams


def char_ngrams(doc: str, lo: int, hi: int) -> list[str]:
    doc = doc.lower()
    size = len(doc)
    return [doc[i : i + n] for n in range(lo, hi + 1) for i in range(size - n + 1)]


class Featurizer(TransformerMixin, BaseEstimator):
    """TF-IDF (sublinear tf, l2 per block) of word and character n-grams, side by side.

    Parameters
    ----------
    word_ngram : longest word n-gram (0 turns word features off).
    char_ngram : (shortest, longest) character n-gram, or None.
    min_df : minimum document frequency of a term.
    userdict, stopwords : jieba dictionary lines and stop words (stored, so a saved model
        segments exactly as it did when trained).
    """

    def __init__(
        self,
        word_ngram: int = 2,
        char_ngram: tuple[int, int] | None = (1, 3),
        min_df: int = 2,
        userdict: tuple[str, ...] = (),
        stopwords: tuple[str, ...] = (),
    ) -> None:
        self.word_ngram = word_ngram
        self.char_ngram = char_ngram
        self.min_df = min_df
        self.userdict = userdict
        self.stopwords = stopwords

    # -- analysis ---------------------------------------------------------------------
    def analyze(self, doc: str) -> Analyzed:
        words: list[str] = []
        if self.word_ngram:
            tokens = tokenize(doc, self.userdict, frozenset(self.stopwords))
            words = word_ngrams(tokens, self.word_ngram)
        chars = char_ngrams(doc, *self.char_ngram) if self.char_ngram else []
        return words, chars

    def _blocks(self) -> list[int]:
        return [i for i, on in enumerate((self.word_ngram, self.char_ngram)) if on]

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
        mats = [vec.transform([doc[b] for doc in analyzed]) for b, vec in self.vectorizers_]
        return sp.hstack(mats, format="csr")

    def fit(self, docs: Sequence[str], y: object = None) -> Featurizer:
        return self.fit_analyzed([self.analyze(d) for d in docs])

    def transform(self, docs: Sequence[str]) -> sp.csr_matrix:
        return self.transform_analyzed([self.analyze(d) for d in docs])

    # -- one document without sklearn's per-call overhead --------------------------------
    def transform_one(self, doc: str) -> tuple[np.ndarray, np.ndarray]:
        """(indices, values) of one document's row; equal to ``transform([doc])``'s row."""
        lookups, idf, bounds = self._scoring_tables()
        analyzed = self.analyze(doc)
        ids: list[int] = []
        for block, get, offset in lookups:
            found = [j for j in map(get, analyzed[block]) if j is not None]
            ids += [j + offset for j in found] if offset else found
        if not ids:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        # Sorted, as in sklearn's CSR rows, so both paths sum in the same order.
        idx, tf = np.unique(np.array(ids, dtype=np.int64), return_counts=True)
        val = (np.log(tf) + 1.0) * idf[idx]
        for part in np.split(val, np.searchsorted(idx, bounds)):
            if len(part):
                part /= np.sqrt(np.dot(part, part))  # l2 per block, in place (a view of val)
        return idx, val

    def _scoring_tables(self) -> tuple[list[Lookup], np.ndarray, np.ndarray]:
        """Per block its term lookup and first column, the stacked idf and the blocks' first
        columns: built once, so one document costs one pass and one np.unique."""
        tables = self.__dict__.get("_tables")
        if tables is None:
            check_is_fitted(self, "vectorizers_")
            lookups = [
                (block, vec.vocabulary_.get, offset)
                for (block, vec), offset in zip(self.vectorizers_, self.offsets_, strict=True)
            ]
            idf = np.concatenate([vec.idf_ for _, vec in self.vectorizers_])
            tables = (lookups, idf, np.asarray(self.offsets_[1:], dtype=np.int64))
            self._tables = tables
        return tables

    def __getstate__(self) -> dict[str, Any]:
        state: dict[str, Any] = super().__getstate__()
        state.pop("_tables", None)  # derived from the vectorizers; rebuilt on first use
        return state

    def feature_names(self) -> np.ndarray:
        check_is_fitted(self, "vectorizers_")
        return np.concatenate([vec.get_feature_names_out() for _, vec in self.vectorizers_])
