"""The served model: linear heads over TF-IDF blocks, in numpy alone.

Training (``triage.engine.model``, scikit-learn) produces one of these; a model folder stores
it as arrays and JSON (``triage.engine.persist``). The layout is generic: any number of
feature blocks (word or character n-grams, each with its vocabulary, idf and per-feature
scale), stacked side by side, and per head a linear map from them to class scores,
calibrated by a temperature, with a review threshold and a conformal cut-off.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from triage.engine.segment import Dictionary
from triage.engine.text import prepare, share_dictionary, tokenize_with

__all__ = [
    "ANALYZERS",
    "Block",
    "Features",
    "LinearHead",
    "ServingModel",
    "as_document",
    "char_ngrams",
    "softmax",
    "word_ngrams",
]

Item = str | Mapping[str, Any]
ANALYZERS = ("word", "char")


def as_document(item: Item) -> str:
    """The prepared document for a raw text or a {text, title} mapping."""
    if isinstance(item, str):
        return prepare(item)
    return prepare(str(item.get("text") or ""), item.get("title"))


def softmax(scores: np.ndarray, temperature: float) -> np.ndarray:
    z: np.ndarray = np.asarray(scores, dtype=np.float64) / temperature
    z = z - z.max(axis=-1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=-1, keepdims=True)
    return z


def word_ngrams(words: list[str], lo: int, hi: int) -> list[str]:
    grams = list(words) if lo <= 1 else []
    for k in range(max(2, lo), hi + 1):
        grams.extend(" ".join(words[i : i + k]) for i in range(len(words) - k + 1))
    return grams


def char_ngrams(doc: str, lo: int, hi: int) -> list[str]:
    doc = doc.lower()
    size = len(doc)
    return [doc[i : i + n] for n in range(lo, hi + 1) for i in range(size - n + 1)]


# What a feature may be as a reason (ServingModel._feature_names).
_HIDDEN, _WORD, _PHRASE, _CHAR = 0, 1, 2, 3


def _readable(term: str) -> bool:
    """A term worth showing a person: no punctuation, digits or placeholder fragments."""
    return not any(unicodedata.category(ch)[0] in "PSZCN" for ch in term)


@dataclass
class Block:
    """One block of features: TF-IDF (sublinear tf, l2 norm when ``norm``) of one analyzer's
    n-grams, each column then multiplied by ``scale``."""

    analyzer: str  # "word" (jieba words) or "char"
    ngram: tuple[int, int]
    terms: list[str]  # column order
    idf: np.ndarray
    scale: np.ndarray
    sublinear_tf: bool = True
    norm: str | None = "l2"

    def __post_init__(self) -> None:
        if self.analyzer not in ANALYZERS:
            raise ValueError(f"unknown analyzer {self.analyzer!r}")
        if self.norm not in ("l2", None):
            raise ValueError(f"unknown norm {self.norm!r}")
        lo, hi = self.ngram
        if not 1 <= lo <= hi:
            raise ValueError(f"bad n-gram range {self.ngram}")
        n = len(self.terms)
        if self.idf.shape != (n,) or self.scale.shape != (n,):
            raise ValueError(f"a block of {n} terms needs {n} idf and scale values")


@dataclass
class Features:
    """The blocks side by side, plus what the word analyzer needs: the segmentation
    dictionary (jieba's plus the user dictionary) and the stop words."""

    blocks: list[Block]
    userdict: tuple[str, ...]
    stopwords: frozenset[str]
    dictionary: Dictionary
    _lookups: list[Any] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._lookups, offsets = [], []
        offset = 0
        for block in self.blocks:
            self._lookups.append(
                dict(zip(block.terms, range(offset, offset + len(block.terms)), strict=True)).get
            )
            offsets.append(offset)
            offset += len(block.terms)
        self.n_features = offset
        self.idf = np.concatenate([b.idf for b in self.blocks]) if self.blocks else np.zeros(0)
        scale = np.concatenate([b.scale for b in self.blocks]) if self.blocks else np.zeros(0)
        self.scale = None if np.all(scale == 1.0) else scale  # ones change nothing: skip them
        self.bounds = np.asarray(offsets[1:], dtype=np.int64)
        self.sublinear = [b.sublinear_tf for b in self.blocks]
        self.l2 = [b.norm == "l2" for b in self.blocks]
        self.dictionary = share_dictionary(self.userdict, self.dictionary)

    def analyze(self, doc: str) -> list[list[str]]:
        """Each block's n-grams of ``doc`` (the text is segmented at most once)."""
        words: list[str] | None = None
        out = []
        for block in self.blocks:
            if block.analyzer == "char":
                out.append(char_ngrams(doc, *block.ngram))
                continue
            if words is None:
                words = tokenize_with(self.dictionary, doc, self.stopwords)
            out.append(word_ngrams(words, *block.ngram))
        return out

    def transform_one(self, doc: str) -> tuple[np.ndarray, np.ndarray]:
        """(columns, values) of one document's row, columns in increasing order."""
        ids: list[int] = []
        for get, grams in zip(self._lookups, self.analyze(doc), strict=True):
            ids += [j for j in map(get, grams) if j is not None]
        if not ids:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        idx, tf = np.unique(np.array(ids, dtype=np.int64), return_counts=True)
        val = tf.astype(np.float64)
        edges = [0, *np.searchsorted(idx, self.bounds).tolist(), len(idx)]
        for b in range(len(self.blocks)):
            part = val[edges[b] : edges[b + 1]]  # a view: changed in place
            if len(part) and self.sublinear[b]:
                np.log(part, out=part)
                part += 1.0
        val *= self.idf[idx]
        for b in range(len(self.blocks)):
            part = val[edges[b] : edges[b + 1]]
            if len(part) and self.l2[b]:
                part /= np.sqrt(np.dot(part, part))
        if self.scale is not None:
            val *= self.scale[idx]
        return idx, val

    def feature_names(self) -> list[str]:
        return [t for b in self.blocks for t in b.terms]


@dataclass
class LinearHead:
    """One head: class scores = features @ weights + intercept, calibrated by ``temperature``;
    below the review threshold the item needs a person; labels with probability at least
    ``1 - conformal_q`` are its candidates.

    With ``review["margin_threshold"]`` the rule is log(p1 / p2) + review_offset[top] (see
    ``calibration.fit_review``); without it (older models), top probability >=
    ``review["threshold"]``."""

    name: str
    labels: list[str]
    weights: np.ndarray  # (n_features, n_classes), C order: a document's rows are one gather
    intercept: np.ndarray  # (n_classes,)
    temperature: float
    review: dict[str, float]
    conformal_q: float
    names: dict[str, str]
    review_offset: np.ndarray | None = None  # (n_classes,)

    def confident(self, p: list[float], order: list[int]) -> bool:
        """Whether the top label may be routed without a person (p: probabilities, order:
        their indices best first)."""
        if "margin_threshold" not in self.review or len(order) < 2:
            return p[order[0]] >= self.review["threshold"]
        top, second = p[order[0]], max(p[order[1]], 1e-300)
        offset = 0.0 if self.review_offset is None else float(self.review_offset[order[0]])
        return math.log(top) - math.log(second) + offset >= self.review["margin_threshold"]

    def __post_init__(self) -> None:
        k = len(self.labels)
        if k < 2 or self.weights.ndim != 2 or self.weights.shape[1] != k or self.intercept.shape != (k,):
            raise ValueError(f"head {self.name!r}: weights and intercept do not fit {k} labels")
        if not self.temperature > 0 or "threshold" not in self.review:
            raise ValueError(f"head {self.name!r}: calibration is incomplete")
        if self.review_offset is not None and self.review_offset.shape != (k,):
            raise ValueError(f"head {self.name!r}: review offsets do not fit {k} labels")
        self.weights = np.ascontiguousarray(self.weights, dtype=np.float64)
        self.classes = np.asarray(self.labels, dtype=object)

    def scores_one(self, idx: np.ndarray, val: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One document's scores, and the weight rows of its features (reused for reasons)."""
        rows = self.weights[idx]
        return val @ rows + self.intercept, rows

    def name_of(self, label: str) -> str:
        return self.names.get(label, label)


class ServingModel:
    """What a worker serves: text in, the full prediction object out (numpy only)."""

    def __init__(
        self,
        features: Features,
        heads: Sequence[LinearHead],
        version: str,
        fallback: Mapping[str, str] | None = None,
        review_heads: Sequence[str] = (),
        n_reasons: int = 5,
        verified: Mapping[str, Mapping[str, str]] | None = None,
    ) -> None:
        self.features = features
        self.heads_ = {h.name: h for h in heads}
        for h in heads:
            if h.weights.shape[0] != features.n_features:
                raise ValueError(
                    f"head {h.name!r} has {h.weights.shape[0]} rows for {features.n_features} features"
                )
        self.version_ = version
        self.fallback = dict(fallback or {})
        self.review_heads = tuple(review_heads)
        self.n_reasons = n_reasons
        self.verified_ = {doc: dict(labels) for doc, labels in (verified or {}).items()}
        self._names: tuple[list[str], np.ndarray] | None = None

    @property
    def heads(self) -> list[str]:
        return list(self.heads_)

    # -- prediction ---------------------------------------------------------------------
    def _scored(self, doc: str) -> tuple[np.ndarray, np.ndarray, dict[str, tuple[np.ndarray, np.ndarray]]]:
        idx, val = self.features.transform_one(doc)
        return idx, val, {h: m.scores_one(idx, val) for h, m in self.heads_.items()}

    def predict_proba(self, X: Sequence[Item]) -> dict[str, np.ndarray]:
        """Calibrated probabilities per head, columns in ``heads_[h].labels`` order."""
        scores: dict[str, list[np.ndarray]] = {h: [] for h in self.heads_}
        for item in X:
            for h, (s, _) in self._scored(as_document(item))[2].items():
                scores[h].append(s)
        return {
            h: softmax(np.array(s).reshape(len(X), len(m.labels)), m.temperature)
            for (h, s), m in zip(scores.items(), self.heads_.values(), strict=True)
        }

    def predict(self, X: Sequence[Item]) -> np.ndarray:
        """Labels, one column per head in ``heads`` order (the model's own top label)."""
        proba = self.predict_proba(X)
        return np.column_stack([self.heads_[h].classes[p.argmax(axis=1)] for h, p in proba.items()])

    def route(self, item: Item) -> dict[str, Any]:
        """The full prediction object for one text."""
        doc = as_document(item)
        idx, val, scored = self._scored(doc)
        scores = {h: s for h, (s, _) in scored.items()}
        rows = {h: r for h, (_, r) in scored.items()}
        return self.explain(idx, val, scores, self.verified_.get(doc), rows, doc)

    def route_many(self, items: Sequence[Item]) -> list[dict[str, Any]]:
        return [self.route(item) for item in items]

    def explain(
        self,
        idx: np.ndarray,
        val: np.ndarray,
        scores: Mapping[str, np.ndarray],
        verified: Mapping[str, str] | None = None,
        rows: Mapping[str, np.ndarray] | None = None,
        doc: str | None = None,
    ) -> dict[str, Any]:
        """The prediction object from one document's features (``idx``, ``val``) and each
        head's raw ``scores`` (``doc``, the prepared text, lets a phrase be checked as
        written)."""
        result: dict[str, Any] = {}
        flagged = False
        for head, m in self.heads_.items():
            # Plain lists from here on: indexing numpy scalars one by one costs more than the maths.
            p = softmax(scores[head], m.temperature).tolist()
            order = sorted(range(len(p)), key=p.__getitem__, reverse=True)  # stable, like argsort
            top = order[0]
            label = m.labels[top]
            confident = m.confident(p, order)

            def entry(i: int, m: LinearHead = m, p: list[float] = p) -> dict[str, Any]:
                lab = m.labels[i]
                return {"label": lab, "name": m.name_of(lab), "confidence": round(p[i], 4)}

            cut = 1.0 - m.conformal_q
            cands = [entry(i) for i in order if p[i] >= cut]
            out = {
                **entry(top),
                "alternatives": [entry(i) for i in order[1:4]],
                "candidates": cands or [entry(top)],
                "reasons": self.reasons(idx, val, m, top, None if rows is None else rows[head], doc),
                "needs_review": not confident,
            }
            fallback = self.fallback.get(head)
            if verified and head in verified:
                others = [entry(i) for i in order if m.labels[i] != verified[head]][:3]
                out.update(_verified_entry(m, verified[head], others))
                confident = True
            elif not confident and fallback and fallback != label:
                out.update(label=fallback, name=m.name_of(fallback), fallback=True, suggested=label)
            result[head] = out
            flagged |= (not confident) and head in self.review_heads
        result["needs_review"] = flagged
        result["model_version"] = self.version_
        return result

    def reasons(
        self,
        idx: np.ndarray,
        val: np.ndarray,
        m: LinearHead,
        top: int,
        rows: np.ndarray | None = None,
        doc: str | None = None,
    ) -> list[str]:
        """The words and phrases of the text that pushed most towards label ``top``.

        Only whole words are shown: jieba words, word pairs that stand side by side in the
        text, and character n-grams that are themselves one of the text's words (never a
        fragment such as "事指" across two words). When no word pushes towards the label,
        the least opposed one is given, so a text with words always has a reason.
        """
        if not len(idx):
            return []
        contrib = val * (m.weights[idx, top] if rows is None else rows[:, top])
        names, kinds = self._feature_names()
        kind = kinds[idx]
        words = {names[j] for j in idx[kind == _WORD].tolist()}
        text = None if doc is None else doc.lower()

        def whole(j: int, k: int) -> bool:
            if k == _CHAR:
                return names[j] in words
            return k == _WORD or text is None or names[j] in text  # a phrase: as written

        among = np.flatnonzero(kind != _HIDDEN)
        ranked = among[np.lexsort((idx[among], -contrib[among]))]
        chosen: list[str] = []
        fallback = None
        for i in ranked.tolist():
            j, k = int(idx[i]), int(kind[i])
            if contrib[i] <= 0 and (chosen or fallback is not None):
                break
            if not whole(j, k):
                continue
            if contrib[i] <= 0:  # nothing pushes towards the label: the least opposed word
                fallback = names[j]
                continue
            term = names[j]
            if any(term in c or c in term for c in chosen):
                continue
            chosen.append(term)
            if len(chosen) == self.n_reasons:
                break
        return chosen or ([fallback] if fallback else [])

    def _feature_names(self) -> tuple[list[str], np.ndarray]:
        """Feature names (spaces removed) and what each may be as a reason (computed once):
        a word, a phrase of words, a character n-gram, or hidden (too short, punctuation,
        digits, placeholders, phrases with a one-character word)."""
        if self._names is None:
            names: list[str] = []
            kinds: list[int] = []
            for block in self.features.blocks:
                for t in block.terms:
                    term = t.replace(" ", "")
                    names.append(term)
                    if len(term) < 2 or not _readable(term):
                        kinds.append(_HIDDEN)
                    elif block.analyzer == "char":
                        kinds.append(_CHAR)
                    elif " " not in t:
                        kinds.append(_WORD)
                    else:  # a phrase reads as one only when each of its words does ("了要" not)
                        kinds.append(_PHRASE if min(map(len, t.split(" "))) >= 2 else _HIDDEN)
            self._names = (names, np.array(kinds, dtype=np.int8))
        return self._names

    def remember(self, verified: Mapping[str, Mapping[str, str]]) -> None:
        """Verified answers (prepared document -> head -> label) returned as given."""
        self.verified_ = {
            doc: {h: lab for h, lab in labels.items() if h in self.heads_ and lab}
            for doc, labels in verified.items()
        }


def _verified_entry(m: LinearHead, label: str, others: list[dict[str, Any]]) -> dict[str, Any]:
    """A reviewer verified this very text: their label, marked as such (``others``: the
    model's next labels, most likely first)."""
    mine = {"label": label, "name": m.name_of(label), "confidence": 1.0}
    return {**mine, "alternatives": others, "candidates": [mine], "needs_review": False, "verified": True}
