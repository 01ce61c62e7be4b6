"""Features shared by every head: TF-IDF over jieba word n-grams and character n-grams.

Documents are analyzed once (``analyze``) and the token lists feed the vectorizers, so
cross-validation re-fits vocabularies per fold without segmenting the text again. The
analyzers are module-level callables: they pickle, and hold no jieba object.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.utils.validation import check_is_fitted

from .text import tokenize

__all__ = ["Featurizer"]

Analyzed = tuple[list[str], list[str]]


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
        check_is_fitted(self, "vectorizers_")
        analyzed = self.analyze(doc)
        all_idx: list[np.ndarray] = []
        all_val: list[np.ndarray] = []
        for (block, vec), offset in zip(self.vectorizers_, self.offsets_, strict=True):
            vocab = vec.vocabulary_
            # Count in C first, then look up only the distinct terms.
            known = [(vocab[t], c) for t, c in Counter(analyzed[block]).items() if t in vocab]
            if not known:
                continue
            known.sort()  # index order, as in sklearn's CSR rows: both paths sum alike
            idx = np.fromiter((i for i, _ in known), dtype=np.int64, count=len(known))
            tf = np.fromiter((c for _, c in known), dtype=np.float64, count=len(known))
            val = (np.log(tf) + 1.0) * vec.idf_[idx]
            val /= np.sqrt(np.dot(val, val))
            all_idx.append(idx + offset)
            all_val.append(val)
        if not all_idx:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        return np.concatenate(all_idx), np.concatenate(all_val)

    def feature_names(self) -> np.ndarray:
        check_is_fitted(self, "vectorizers_")
        return np.concatenate([vec.get_feature_names_out() for _, vec in self.vectorizers_])
