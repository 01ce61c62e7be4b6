"""Features shared by every head: TF-IDF over jieba word n-grams and character n-grams.

Documents are analyzed once (``analyze``) and the token lists feed the vectorizers, so
cross-validation re-fits vocabularies per fold without segmenting the text again. Serving
uses the same analyzers without scikit-learn (``blocks`` hands the fitted vocabularies to
``triage.engine.scoring``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from itertools import islice

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.utils.validation import check_is_fitted

from triage.engine.counts import Analyzed, Chunk, TermCounts, count_chunk
from triage.engine.scoring import Block, char_ngrams, word_ngrams
from triage.engine.text import tokenize

__all__ = ["Featurizer"]


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

    def merge_counts(self, chunks: Iterable[Chunk], rows: np.ndarray | None = None) -> TermCounts:
        """The term counts of documents counted in ``chunks`` (in order), as ``count_terms``
        gives; ``rows``: the rows whose counts the chunks kept (see :class:`TermCounts`)."""
        blocks = self._blocks()
        weights = [self.weight(b) for b in blocks]
        return TermCounts(chunks, blocks, self.min_df, weights, self.max_features, rows)

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
