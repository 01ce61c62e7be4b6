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
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import chain, pairwise, repeat
from operator import add
from typing import Any

import numpy as np

from triage.engine.chargrams import CharTable
from triage.engine.segment import Dictionary
from triage.engine.text import prepare, share_dictionary, tokenize_with

__all__ = [
    "ANALYZERS",
    "Block",
    "Features",
    "LinearHead",
    "ServingModel",
    "agree_weights",
    "as_document",
    "char_ngrams",
    "follow",
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


# The n-grams are built by map() and zip(), which run in C: a Python loop over every n-gram
# cost a tenth of a prediction.
def word_ngrams(words: list[str], lo: int, hi: int) -> list[str]:
    grams = list(words) if lo <= 1 else []
    for k in range(max(2, lo), hi + 1):
        grams += map(" ".join, zip(*(words[i:] for i in range(k)), strict=False))
    return grams


def char_ngrams(doc: str, lo: int, hi: int) -> list[str]:
    """Every n-gram of the lower-cased ``doc``, by n then position."""
    doc = doc.lower()
    grams: list[str] = []
    run = list(doc)  # the n-grams of one length; each next one is one character longer
    for n in range(1, hi + 1):
        if n > 1:
            run = list(map(add, run, doc[n - 1 :]))
        if n >= lo:
            grams += run
    return grams


def _softmax(scores: Sequence[float], temperature: float) -> list[float]:
    """``softmax`` of one row, in plain floats (numpy costs more for a dozen numbers)."""
    z = [s / temperature for s in scores]
    top = max(z)
    e = [math.exp(v - top) for v in z]
    total = sum(e)
    return [v / total for v in e]


def follow(proba: np.ndarray, factors: np.ndarray | None) -> np.ndarray:
    """Rows of ``proba`` with the runner-ups reweighted by what the top label is usually
    confused with: q[c] ∝ p[c] * factors[top, c] over the other labels, which keep their
    total mass; the top keeps its label and probability. A row where some other label would
    then pass the top keeps ``proba`` (None: every row does)."""
    if factors is None:
        return proba
    rows, top = np.arange(len(proba)), proba.argmax(axis=1)
    p1 = proba[rows, top]
    q: np.ndarray = proba * factors[top]
    q[rows, top] = 0.0
    q *= ((1.0 - p1) / np.maximum(q.sum(axis=1), 1e-300))[:, None]
    keep = (q >= p1[:, None]).any(axis=1)
    q[rows, top] = p1
    q[keep] = proba[keep]
    return q


def _follow(p: list[float], top: int, factors: Sequence[float]) -> list[float]:
    """:func:`follow` for one row in plain floats."""
    q = [a * b for a, b in zip(p, factors, strict=True)]
    q[top] = 0.0
    scale = (1.0 - p[top]) / max(sum(q), 1e-300)
    q = [v * scale for v in q]
    if max(q) >= p[top]:
        return p
    q[top] = p[top]
    return q


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
    _tables: list[CharTable | None] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        # Each term maps to its column + 1, so that 0 (falsy) is "not a term": filter(None, ...)
        # then drops the rest in C (transform_one). Character blocks also get a packed table,
        # which finds the same columns without building the n-grams (chargrams.py).
        self._lookups, self._tables, offsets = [], [], []
        offset = 0
        for block in self.blocks:
            columns = range(offset + 1, offset + 1 + len(block.terms))
            self._lookups.append(dict(zip(block.terms, columns, strict=True)).get)
            packed = block.analyzer == "char" and block.ngram[1] <= 4
            self._tables.append(CharTable(block.terms, columns, *block.ngram) if packed else None)
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
        packed: list[np.ndarray] = []  # column + 1 of each term, by block
        found = []
        words: list[str] | None = None
        for block, get, table in zip(self.blocks, self._lookups, self._tables, strict=True):
            if table is not None and (cols := table.columns(doc.lower())) is not None:
                packed.append(cols)
                continue
            if block.analyzer == "char":
                grams = char_ngrams(doc, *block.ngram)
            else:
                if words is None:
                    words = tokenize_with(self.dictionary, doc, self.stopwords)
                grams = word_ngrams(words, *block.ngram)
            found.append(filter(None, map(get, grams, repeat(0))))
        ids = np.fromiter(chain.from_iterable(found), dtype=np.int64)
        if packed:
            ids = np.concatenate([ids, *packed])
        if not ids.size:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        idx, tf = np.unique(ids, return_counts=True)
        idx -= 1
        val = tf.astype(np.float64)
        edges = [0, *np.searchsorted(idx, self.bounds).tolist(), len(idx)]
        blocks = [(edges[b], edges[b + 1]) for b in range(len(self.blocks))]
        if all(self.sublinear):  # the usual case: one call for all blocks
            np.log(val, out=val)
            val += 1.0
        else:
            for (a, b), sublinear in zip(blocks, self.sublinear, strict=True):
                if a < b and sublinear:
                    val[a:b] = np.log(val[a:b]) + 1.0
        val *= self.idf[idx]
        for (a, b), l2 in zip(blocks, self.l2, strict=True):
            if a < b and l2:
                part = val[a:b]  # a view: changed in place
                part /= math.sqrt(np.dot(part, part))
        if self.scale is not None:
            val *= self.scale[idx]
        return idx, val

    def feature_names(self) -> list[str]:
        return [t for b in self.blocks for t in b.terms]


def agree_weights(review: Mapping[str, float]) -> np.ndarray:
    """The review rule's weight per feature block (``agree_0``, ``agree_1``...; none in
    models saved before it)."""
    n = sum(1 for k in review if k.startswith("agree_"))
    return np.array([review[f"agree_{b}"] for b in range(n)], dtype=np.float64)


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
    follow: np.ndarray | None = None  # (n_classes, n_classes): runner-up factors, see ``follow``

    def confident(
        self,
        p: list[float],
        order: list[int],
        block_tops: Sequence[int] | Callable[[], Sequence[int]] = (),
    ) -> bool:
        """Whether the top label may be routed without a person (p: probabilities, order:
        their indices best first, block_tops: each feature block's own best label, -1 for
        an empty block, or a function giving them; needed when the rule weighs them (review
        ``agree_<b>``), and asked for only when they can change the answer)."""
        if "margin_threshold" not in self.review or len(order) < 2:
            return p[order[0]] >= self.review["threshold"]
        top, second = p[order[0]], max(p[order[1]], 1e-300)
        offset = 0.0 if self.review_offset is None else float(self.review_offset[order[0]])
        score = math.log(top) - math.log(second) + offset
        threshold = self.review["margin_threshold"]
        if not self.agree:
            return score >= threshold
        # Whatever the blocks say, the score ends between these two: often on one side.
        if score + sum(min(w, 0.0) for w in self.agree) >= threshold:
            return True
        if score + sum(max(w, 0.0) for w in self.agree) < threshold:
            return False
        tops = block_tops() if callable(block_tops) else block_tops
        if len(tops) != len(self.agree):
            raise ValueError(f"head {self.name!r}: the review rule needs {len(self.agree)} blocks")
        return score + sum(w for w, t in zip(self.agree, tops, strict=True) if t == order[0]) >= threshold

    def block_tops(self, val: np.ndarray, rows: np.ndarray, edges: Sequence[int]) -> list[int]:
        """Each feature block's own best label for one document (``val``: its feature
        values, ``rows``: this head's weight rows of them, ``edges``: where each block's
        features start and end in them); -1 for a block without features."""
        out = []
        for a, b in pairwise(edges):
            out.append(int(np.argmax(val[a:b] @ rows[a:b])) if a < b else -1)
        return out

    def __post_init__(self) -> None:
        k = len(self.labels)
        if k < 2 or self.weights.ndim != 2 or self.weights.shape[1] != k or self.intercept.shape != (k,):
            raise ValueError(f"head {self.name!r}: weights and intercept do not fit {k} labels")
        if not self.temperature > 0 or "threshold" not in self.review:
            raise ValueError(f"head {self.name!r}: calibration is incomplete")
        if self.review_offset is not None and self.review_offset.shape != (k,):
            raise ValueError(f"head {self.name!r}: review offsets do not fit {k} labels")
        if self.follow is not None and self.follow.shape != (k, k):
            raise ValueError(f"head {self.name!r}: runner-up factors do not fit {k} labels")
        self.weights = np.ascontiguousarray(self.weights, dtype=np.float64)
        self.classes = np.asarray(self.labels, dtype=object)
        self.agree: list[float] = agree_weights(self.review).tolist()  # empty in models saved before

    def proba_one(self, scores: Sequence[float]) -> list[float]:
        """Calibrated probabilities of one row of scores (see :func:`follow`)."""
        p = _softmax(scores, self.temperature)
        if self.follow is None:
            return p
        top = max(range(len(p)), key=p.__getitem__)
        return _follow(p, top, self.follow[top].tolist())  # one row: no labels x labels lists kept

    def proba(self, scores: np.ndarray) -> np.ndarray:
        """Calibrated probabilities of rows of scores."""
        return follow(softmax(scores, self.temperature), self.follow)

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
        # Every head's weights side by side: a document's rows are one gather and its scores
        # one product; each head keeps a view of its own columns.
        self._weights = np.ascontiguousarray(
            np.hstack([h.weights for h in heads]) if heads else np.zeros((features.n_features, 0))
        )
        self._intercept = np.concatenate([h.intercept for h in heads]) if heads else np.zeros(0)
        self._spans: dict[str, tuple[int, int]] = {}
        for h in heads:
            start = sum(b - a for a, b in self._spans.values())
            self._spans[h.name] = (start, start + len(h.labels))
            h.weights = self._weights[:, start : start + len(h.labels)]
        self.version_ = version
        self.fallback = dict(fallback or {})
        self.review_heads = tuple(review_heads)
        self.n_reasons = n_reasons
        self.verified_ = {doc: dict(labels) for doc, labels in (verified or {}).items()}
        self._names: tuple[list[str], bytes] | None = None

    @property
    def heads(self) -> list[str]:
        return list(self.heads_)

    # -- prediction ---------------------------------------------------------------------
    def _scored(self, doc: str) -> tuple[np.ndarray, np.ndarray, dict[str, list[float]], np.ndarray]:
        """A document's features, per head its class scores, and the weight rows of its
        features for every head's classes side by side (reused for reasons)."""
        idx, val = self.features.transform_one(doc)
        rows = self._weights[idx]
        scores = (val @ rows + self._intercept).tolist()
        return idx, val, {h: scores[a:b] for h, (a, b) in self._spans.items()}, rows

    def predict_proba(self, X: Sequence[Item]) -> dict[str, np.ndarray]:
        """Calibrated probabilities per head, columns in ``heads_[h].labels`` order."""
        scores: dict[str, list[list[float]]] = {h: [] for h in self.heads_}
        for item in X:
            for h, s in self._scored(as_document(item))[2].items():
                scores[h].append(s)
        return {
            h: m.proba(np.array(s).reshape(len(X), len(m.labels)))
            for (h, s), m in zip(scores.items(), self.heads_.values(), strict=True)
        }

    def predict(self, X: Sequence[Item]) -> np.ndarray:
        """Labels, one column per head in ``heads`` order (the model's own top label)."""
        proba = self.predict_proba(X)
        return np.column_stack([self.heads_[h].classes[p.argmax(axis=1)] for h, p in proba.items()])

    def route(self, item: Item) -> dict[str, Any]:
        """The full prediction object for one text."""
        doc = as_document(item)
        idx, val, scores, rows = self._scored(doc)
        return self.explain(idx, val, scores, self.verified_.get(doc), rows, doc)

    def route_many(self, items: Sequence[Item]) -> list[dict[str, Any]]:
        return [self.route(item) for item in items]

    def explain(
        self,
        idx: np.ndarray,
        val: np.ndarray,
        scores: Mapping[str, Sequence[float] | np.ndarray],
        verified: Mapping[str, str] | None = None,
        rows: Mapping[str, np.ndarray] | np.ndarray | None = None,
        doc: str | None = None,
    ) -> dict[str, Any]:
        """The prediction object from one document's features (``idx``, ``val``) and each
        head's raw ``scores`` (``rows``: the weight rows of the features, per head or every
        head's side by side as ``_scored`` gives them; ``doc``, the prepared text, lets a
        phrase be checked as written)."""
        rows = self._side_by_side(idx, rows)
        ranked = []
        for head, m in self.heads_.items():
            # Plain lists from here on: indexing numpy scalars one by one costs more than the maths.
            row = scores[head]
            p = m.proba_one(row.tolist() if isinstance(row, np.ndarray) else row)
            ranked.append((head, m, p, sorted(range(len(p)), key=p.__getitem__, reverse=True)))  # stable
        found = _Found(idx, *self._feature_names(), doc)
        pushes = self._pushes(found, val, [(head, order[0]) for head, _, _, order in ranked], rows)
        result: dict[str, Any] = {}
        flagged = False
        for (head, m, p, order), push in zip(ranked, pushes, strict=True):
            top = order[0]
            label = m.labels[top]

            def tops(head: str = head, m: LinearHead = m) -> list[int]:
                edges = [0, *np.searchsorted(idx, self.features.bounds).tolist(), len(idx)]
                a, b = self._spans[head]
                return m.block_tops(val, rows[:, a:b], edges)

            confident = m.confident(p, order, tops)
            entry = _Entries(m, p)

            cut = 1.0 - m.conformal_q
            cands = [entry(i) for i in order if p[i] >= cut]
            out = {
                **entry(top),
                "alternatives": [entry(i) for i in order[1:4]],
                "candidates": cands or [entry(top)],
                "reasons": self._reasons(found, push),
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

    def _side_by_side(
        self, idx: np.ndarray, rows: Mapping[str, np.ndarray] | np.ndarray | None
    ) -> np.ndarray:
        """The weight rows of the features ``idx`` for every head's classes side by side (as
        ``_scored`` gives them), from any form ``explain`` takes."""
        if isinstance(rows, np.ndarray):
            return rows
        if rows is None:
            every: np.ndarray = self._weights[idx]
            return every
        return np.hstack([rows[h] for h in self.heads_]) if self.heads_ else np.zeros((len(idx), 0))

    def _pushes(
        self,
        found: _Found,
        val: np.ndarray,
        tops: list[tuple[str, int]],
        rows: np.ndarray,
    ) -> list[Iterator[tuple[int, float]]]:
        """Per head, how much each visible feature pushed towards its top label, best first
        (``rows``: every head's weight rows side by side). Every head at once: each numpy
        call on these small arrays costs more than its sums."""
        weights = rows[:, [self._spans[h][0] + top for h, top in tops]]
        push = weights[found.visible] * val[found.visible, None]
        order = np.argsort(-push, axis=0, kind="stable")  # the columns are increasing: ties keep them so
        first = order[: _Rest.FIRST]
        cols = found.cols[first].T.tolist()
        best = np.take_along_axis(push, first, axis=0).T.tolist()
        return [
            chain(zip(c, b, strict=True), _Rest(found.cols, push, order, j))
            for j, (c, b) in enumerate(zip(cols, best, strict=True))
        ]

    def _reasons(self, found: _Found, push: Iterator[tuple[int, float]]) -> list[str]:
        """The words and phrases of the text that pushed most towards the label (``push``:
        the text's visible features, best first; ``found``: what they are).

        Only whole words are shown: jieba words, word pairs that stand side by side in the
        text, and character n-grams that are themselves one of the text's words (never a
        fragment such as "事指" across two words). When no word pushes towards the label,
        the least opposed one is given, so a text with words always has a reason. Features
        are looked at best first (ties: lower column first) until enough are found.
        """
        names, kinds = self._feature_names()
        chosen: list[str] = []
        fallback = None
        for j, c in push:
            if c <= 0 and (chosen or fallback is not None):
                break
            k = kinds[j]
            if k == _CHAR:
                if names[j] not in found.words:
                    continue
            elif k == _PHRASE and found.text is not None and names[j] not in found.text:  # as written
                continue
            term = names[j]
            if c <= 0:  # nothing pushes towards the label: the least opposed word
                fallback = term
                continue
            if _overlaps(term, chosen):
                continue
            chosen.append(term)
            if len(chosen) == self.n_reasons:
                break
        return chosen or ([fallback] if fallback else [])

    def _feature_names(self) -> tuple[list[str], bytes]:
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
            self._names = (names, bytes(kinds))
        return self._names

    def remember(self, verified: Mapping[str, Mapping[str, str]]) -> None:
        """Verified answers (prepared document -> head -> label) returned as given."""
        self.verified_ = {
            doc: {h: lab for h, lab in labels.items() if h in self.heads_ and lab}
            for doc, labels in verified.items()
        }


class _Entries:
    """``entries(i)``: label ``i`` of head ``m`` as an answer entry, a new dict each time; its
    parts are worked out once per label (round() costs more than the rest)."""

    def __init__(self, m: LinearHead, p: list[float]) -> None:
        self.m, self.p = m, p
        self.seen: dict[int, tuple[str, str, float]] = {}

    def __call__(self, i: int) -> dict[str, Any]:
        parts = self.seen.get(i)
        if parts is None:
            lab = self.m.labels[i]
            parts = self.seen[i] = (lab, self.m.name_of(lab), round(self.p[i], 4))
        return {"label": parts[0], "name": parts[1], "confidence": parts[2]}


class _Found:
    """What every head's reasons share of one document: its features that are not hidden
    (positions in ``idx``, and their columns), its jieba words, its lower-cased text."""

    def __init__(self, idx: np.ndarray, names: list[str], kinds: bytes, doc: str | None) -> None:
        kind = np.frombuffer(kinds, dtype=np.int8)[idx]
        self.visible = np.flatnonzero(kind != _HIDDEN)
        self.cols = idx[self.visible]
        self.words = {names[j] for j in idx[kind == _WORD].tolist()}
        self.text = None if doc is None else doc.lower()


class _Rest:
    """One head's visible features after the first ``FIRST``, as (column, push): converted
    only if its reasons look that far (they rarely do)."""

    FIRST = 48

    def __init__(self, cols: np.ndarray, push: np.ndarray, order: np.ndarray, head: int) -> None:
        self.cols, self.push, self.order, self.head = cols, push, order, head

    def __iter__(self) -> Iterator[tuple[int, float]]:
        part = self.order[self.FIRST :, self.head]
        return zip(self.cols[part].tolist(), self.push[part, self.head].tolist(), strict=True)


def _overlaps(term: str, chosen: list[str]) -> bool:
    """Whether ``term`` is inside one of ``chosen`` or holds one (a loop: any() over a
    generator cost more than the test)."""
    for x in chosen:  # noqa: SIM110
        if term in x or x in term:
            return True
    return False


def _verified_entry(m: LinearHead, label: str, others: list[dict[str, Any]]) -> dict[str, Any]:
    """A reviewer verified this very text: their label, marked as such (``others``: the
    model's next labels, most likely first)."""
    mine = {"label": label, "name": m.name_of(label), "confidence": 1.0}
    return {**mine, "alternatives": others, "candidates": [mine], "needs_review": False, "verified": True}
