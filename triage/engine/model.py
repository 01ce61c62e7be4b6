"""The triage model: one estimator, several heads (category, department, kind, or whatever
label columns the training data has), sharing one featurizer."""

from __future__ import annotations

import secrets
import unicodedata
import warnings
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import StratifiedKFold
from sklearn.svm import LinearSVC

from triage.engine import calibration as cal
from triage.engine.features import Featurizer
from triage.engine.metrics import head_metrics
from triage.engine.progress import Progress, quiet
from triage.engine.text import prepare

__all__ = ["HeadModel", "TriageModel"]

Item = str | Mapping[str, Any]


def as_document(item: Item) -> str:
    """The prepared document for a raw text or a {text, title} mapping."""
    if isinstance(item, str):
        return prepare(item)
    return prepare(str(item.get("text") or ""), item.get("title"))


def _readable(term: str) -> bool:
    """A term worth showing a person: no punctuation, digits or placeholder fragments."""
    return not any(unicodedata.category(ch)[0] in "PSZCN" for ch in term)


class HeadModel:
    """One fitted head: a linear classifier plus its calibration and review settings."""

    def __init__(
        self,
        name: str,
        clf: LinearSVC,
        temperature: float,
        review: dict[str, float],
        conformal_q: float,
        names: Mapping[str, str],
    ) -> None:
        self.name = name
        self.clf = clf
        self.classes = np.asarray(clf.classes_)
        self.temperature = temperature
        self.review = review
        self.conformal_q = conformal_q
        self.names = dict(names)
        self._prepare_weights()

    def _prepare_weights(self) -> None:
        # Fortran order makes coef_.T C-contiguous: sparse @ dense then needs no copy of the
        # whole matrix per call, for sklearn's decision_function and our own scoring alike.
        self.clf.coef_ = np.asfortranarray(self.clf.coef_)
        coef, intercept = self.clf.coef_, np.atleast_1d(self.clf.intercept_)
        if len(self.classes) == 2:  # binary LinearSVC keeps one row: score class 1 vs 0
            coef = np.asfortranarray(np.vstack([np.zeros_like(coef[0]), coef[0]]))
            intercept = np.array([0.0, intercept[0]])
        self.weights = coef.T  # (n_features, n_classes), C-contiguous view
        self.intercept = np.asarray(intercept, dtype=np.float64)
        self.labels = [str(c) for c in self.classes]

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._prepare_weights()

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("weights", None)  # derived from clf; rebuilt on load
        state.pop("labels", None)
        return state

    def scores(self, X: Any) -> np.ndarray:
        s = self.clf.decision_function(X)
        return np.column_stack([np.zeros_like(s), s]) if s.ndim == 1 else s

    def scores_one(self, idx: np.ndarray, val: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One document's scores, and the weight rows of its features (reused for reasons)."""
        rows = self.weights[idx]
        return val @ rows + self.intercept, rows

    def name_of(self, label: str) -> str:
        return self.names.get(label, label)


class TriageModel(BaseEstimator):
    """Multi-head text classifier with calibrated confidence, review flags and candidate sets.

    Parameters
    ----------
    C : regularisation of each head's LinearSVC.
    cv : folds for the out-of-fold scores that calibrate confidence, fit the review
        thresholds and conformal sets, and give the card's metrics.
    target_precision : precision the auto-routed share must reach (per head).
    coverage : probability that a head's candidate set holds the right label.
    fallback : head -> label used when that head is below its review threshold.
    review_heads : heads whose uncertainty flags the whole item for review.
    names : head -> {label: human name}; labels without a name show their id.
    word_ngram, char_ngram, min_df, userdict, stopwords : see :class:`Featurizer`.
    """

    def __init__(
        self,
        C: float = 0.5,
        cv: int = 5,
        target_precision: float = 0.95,
        coverage: float = 0.90,
        fallback: Mapping[str, str] | None = None,
        review_heads: Sequence[str] = ("category", "department"),
        names: Mapping[str, Mapping[str, str]] | None = None,
        word_ngram: int = 2,
        char_ngram: tuple[int, int] | None = (1, 3),
        min_df: int = 2,
        userdict: tuple[str, ...] = (),
        stopwords: tuple[str, ...] = (),
        n_reasons: int = 5,
        random_state: int = 0,
    ) -> None:
        self.C = C
        self.cv = cv
        self.target_precision = target_precision
        self.coverage = coverage
        self.fallback = fallback
        self.review_heads = review_heads
        self.names = names
        self.word_ngram = word_ngram
        self.char_ngram = char_ngram
        self.min_df = min_df
        self.userdict = userdict
        self.stopwords = stopwords
        self.n_reasons = n_reasons
        self.random_state = random_state

    # -- fitting ----------------------------------------------------------------------
    def _featurizer(self) -> Featurizer:
        return Featurizer(
            word_ngram=self.word_ngram,
            char_ngram=self.char_ngram,
            min_df=self.min_df,
            userdict=tuple(self.userdict),
            stopwords=tuple(self.stopwords),
        )

    def _classifier(self) -> LinearSVC:
        return LinearSVC(C=self.C, max_iter=10000, random_state=self.random_state)

    def fit(
        self,
        X: Sequence[Item],
        y: Mapping[str, Sequence[str | None]],
        sample_weight: Sequence[float] | None = None,
        progress: Progress = quiet,
    ) -> TriageModel:
        """Fit every head in ``y`` (head -> labels; empty labels leave a row out of a head).

        ``sample_weight`` lets a verified correction count more than a base row. The
        out-of-fold probabilities stay in ``oof_`` (head -> (rows, proba)) until saved.
        ``progress`` hears of segmentation, then of each head's cross-validation folds.
        """
        if not y:
            raise ValueError("no label columns to train")
        docs = [as_document(item) for item in X]
        featurizer = self._featurizer()
        analyzed = []
        for n, doc in enumerate(docs, start=1):
            analyzed.append(featurizer.analyze(doc))
            if n % 500 == 0 or n == len(docs):
                progress("segmenting", n, len(docs))
        self.heads_: dict[str, HeadModel] = {}
        self.cv_: dict[str, dict[str, Any]] = {}
        self.oof_: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        weights = np.ones(len(docs)) if sample_weight is None else np.asarray(sample_weight, float)
        self.featurizer_ = featurizer.fit_analyzed(analyzed)
        X_all = self.featurizer_.transform_analyzed(analyzed)
        for head, labels in y.items():
            rows = np.array([i for i, lab in enumerate(labels) if lab], dtype=np.int64)
            if len(rows) != len(docs) and len(rows) == 0:
                raise ValueError(f"head {head!r} has no labelled rows")
            yh = np.array([labels[i] for i in rows], dtype=object).astype(str)
            classes = np.unique(yh)
            if len(classes) < 2:
                raise ValueError(f"head {head!r} needs at least two labels, found {len(classes)}")
            yi = np.searchsorted(classes, yh)
            w = weights[rows]
            scores = self._oof_scores([analyzed[i] for i in rows], yi, len(classes), w, head, progress)
            self.heads_[head] = self._calibrate_head(head, classes, yi, scores, X_all[rows], yh, w)
            self.oof_[head] = (rows, cal.softmax(scores, self.heads_[head].temperature))
        self.n_train_ = len(docs)
        self.version_ = f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"
        return self

    def _oof_scores(
        self,
        analyzed: list[Any],
        y: np.ndarray,
        n_classes: int,
        weights: np.ndarray,
        head: str = "",
        progress: Progress = quiet,
    ) -> np.ndarray:
        scores = np.zeros((len(y), n_classes))
        smallest = np.bincount(y, minlength=n_classes).max()
        folds = max(2, min(self.cv, int(smallest)))
        with warnings.catch_warnings():
            # Rare classes (fewer members than folds) are expected in real data sets.
            warnings.filterwarnings("ignore", message="The least populated class")
            splitter = StratifiedKFold(folds, shuffle=True, random_state=self.random_state)
            splits = list(splitter.split(np.zeros(len(y)), y))
        for k, (train, test) in enumerate(splits):
            fz = self._featurizer().fit_analyzed([analyzed[i] for i in train])
            clf = self._classifier().fit(
                fz.transform_analyzed([analyzed[i] for i in train]), y[train], weights[train]
            )
            fold_scores = clf.decision_function(fz.transform_analyzed([analyzed[i] for i in test]))
            if fold_scores.ndim == 1:
                fold_scores = np.column_stack([-fold_scores, fold_scores]) / 2
            # A class absent from this fold's training part can never win here.
            block = np.full((len(test), n_classes), fold_scores.min() - 1.0)
            block[:, clf.classes_] = fold_scores
            scores[test] = block
            progress(f"cross-validating {head}", k + 1, len(splits))
        return scores

    def _calibrate_head(
        self,
        head: str,
        classes: np.ndarray,
        yi: np.ndarray,
        oof_scores: np.ndarray,
        X: Any,
        y: np.ndarray,
        weights: np.ndarray,
    ) -> HeadModel:
        temperature = cal.fit_temperature(oof_scores, yi)
        proba = cal.softmax(oof_scores, temperature)
        review = cal.fit_review_threshold(proba, yi, self.target_precision)
        q = cal.fit_conformal(proba, yi, self.coverage)
        cov, size = cal.cross_conformal(proba, yi, self.coverage, self.random_state)
        metrics = head_metrics(yi, proba, classes)
        metrics["ece"] = cal.expected_calibration_error(proba, yi)
        self.cv_[head] = {
            "folds": min(self.cv, int(np.bincount(yi).max())),
            "temperature": temperature,
            "review": {"target_precision": self.target_precision, **review},
            "candidates": {
                "target_coverage": self.coverage,
                "q": q,
                "coverage_cross_fitted": cov,
                "mean_set_size": size,
            },
            "metrics": metrics,
        }
        clf = self._classifier().fit(X, y, weights)
        names = (self.names or {}).get(head, {})
        return HeadModel(head, clf, temperature, review, q, names)

    # -- prediction ---------------------------------------------------------------------
    def _check(self) -> None:
        if not hasattr(self, "heads_"):
            raise NotFittedError("This TriageModel is not fitted yet; call fit or load one.")

    @property
    def heads(self) -> list[str]:
        self._check()
        return list(self.heads_)

    def predict_proba(self, X: Sequence[Item]) -> dict[str, np.ndarray]:
        """Calibrated probabilities per head, columns in ``heads_[h].classes`` order."""
        self._check()
        F = self.featurizer_.transform([as_document(x) for x in X])
        return {h: cal.softmax(m.scores(F), m.temperature) for h, m in self.heads_.items()}

    def predict(self, X: Sequence[Item]) -> np.ndarray:
        """Labels, one column per head in ``heads`` order (the model's own top label)."""
        proba = self.predict_proba(X)
        cols = [self.heads_[h].classes[p.argmax(axis=1)] for h, p in proba.items()]
        return np.column_stack(cols)

    def remember(self, items: Sequence[Item], labels: Mapping[str, Sequence[str]]) -> TriageModel:
        """Verified answers: a text a person labelled gets those labels back exactly (the
        model itself also learns from it, for the texts like it)."""
        self._check()
        self.verified_ = {
            as_document(item): {h: labels[h][i] for h in labels if h in self.heads_ and labels[h][i]}
            for i, item in enumerate(items)
        }
        return self

    def route(self, item: Item) -> dict[str, Any]:
        """The full prediction object for one text (fast path, no sklearn per-call overhead)."""
        self._check()
        doc = as_document(item)
        idx, val = self.featurizer_.transform_one(doc)
        scored = {h: m.scores_one(idx, val) for h, m in self.heads_.items()}
        scores = {h: s for h, (s, _) in scored.items()}
        rows = {h: r for h, (_, r) in scored.items()}
        return self._explain(idx, val, scores, getattr(self, "verified_", {}).get(doc), rows)

    def route_many(self, items: Sequence[Item]) -> list[dict[str, Any]]:
        """Prediction objects for many texts at once (batch path; same results as route)."""
        self._check()
        docs = [as_document(x) for x in items]
        F = self.featurizer_.transform(docs)
        scores = {h: m.scores(F) for h, m in self.heads_.items()}
        verified = getattr(self, "verified_", {})
        out = []
        for r in range(F.shape[0]):
            lo, hi = F.indptr[r], F.indptr[r + 1]
            row_scores = {h: s[r] for h, s in scores.items()}
            out.append(self._explain(F.indices[lo:hi], F.data[lo:hi], row_scores, verified.get(docs[r])))
        return out

    def _explain(
        self,
        idx: np.ndarray,
        val: np.ndarray,
        scores: Mapping[str, np.ndarray],
        verified: Mapping[str, str] | None = None,
        rows: Mapping[str, np.ndarray] | None = None,
    ) -> dict[str, Any]:
        result: dict[str, Any] = {}
        flagged = False
        for head, m in self.heads_.items():
            # Plain lists from here on: indexing numpy scalars one by one costs more than the maths.
            p = cal.softmax(scores[head], m.temperature).tolist()
            order = sorted(range(len(p)), key=p.__getitem__, reverse=True)  # stable, like argsort
            top = order[0]
            label = m.labels[top]
            confident = p[top] >= m.review["threshold"]

            def entry(i: int, m: HeadModel = m, p: list[float] = p) -> dict[str, Any]:
                lab = m.labels[i]
                return {"label": lab, "name": m.name_of(lab), "confidence": round(p[i], 4)}

            cut = 1.0 - m.conformal_q
            cands = [entry(i) for i in order if p[i] >= cut]
            out = {
                **entry(top),
                "alternatives": [entry(i) for i in order[1:4]],
                "candidates": cands or [entry(top)],
                "reasons": self._reasons(idx, val, m, top, None if rows is None else rows[head]),
                "needs_review": not confident,
            }
            fallback = (self.fallback or {}).get(head)
            if verified and head in verified:
                others = [entry(i) for i in order if m.labels[i] != verified[head]][:3]
                out.update(self._verified_entry(m, verified[head], others))
                confident = True
            elif not confident and fallback and fallback != label:
                out.update(label=fallback, name=m.name_of(fallback), fallback=True, suggested=label)
            result[head] = out
            flagged |= (not confident) and head in self.review_heads
        result["needs_review"] = flagged
        result["model_version"] = getattr(self, "version_", None)
        return result

    @staticmethod
    def _verified_entry(m: HeadModel, label: str, others: list[dict[str, Any]]) -> dict[str, Any]:
        """A reviewer verified this very text: their label, marked as such (``others``: the
        model's next labels, most likely first)."""
        mine = {"label": label, "name": m.name_of(label), "confidence": 1.0}
        return {**mine, "alternatives": others, "candidates": [mine], "needs_review": False, "verified": True}

    def _reasons(
        self, idx: np.ndarray, val: np.ndarray, m: HeadModel, top: int, rows: np.ndarray | None = None
    ) -> list[str]:
        if not len(idx):
            return []
        contrib = val * (m.weights[idx, top] if rows is None else rows[:, top])
        names, shown = self._feature_names()
        chosen: list[str] = []
        # Only the strongest few need ordering; ties broken by feature index, so the fast and
        # batch paths (both in index order) agree exactly.
        k = min(len(contrib), self.n_reasons * 6)
        strongest = np.argpartition(-contrib, k - 1)[:k] if len(contrib) > k else np.arange(len(contrib))
        ranked = strongest[np.lexsort((idx[strongest], -contrib[strongest]))]
        for j, weight in zip(idx[ranked].tolist(), contrib[ranked].tolist(), strict=True):
            if weight <= 0 or len(chosen) == self.n_reasons:
                break
            if not shown[j]:
                continue
            term = str(names[j]).replace(" ", "")
            if any(term in c or c in term for c in chosen):
                continue
            chosen.append(term)
        return chosen

    def _feature_names(self) -> tuple[np.ndarray, np.ndarray]:
        """Feature names, and which of them may be shown as a reason (computed once)."""
        cached = getattr(self, "_names_cache", None)
        if cached is None:
            names = self.featurizer_.feature_names()
            terms = (str(n).replace(" ", "") for n in names)
            shown = np.fromiter((len(t) >= 2 and _readable(t) for t in terms), dtype=bool, count=len(names))
            cached = self._names_cache = (names, shown)
        return cached

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_names_cache", None)
        state.pop("oof_", None)  # training-time diagnostics, not part of the artifact
        return state

    # -- persistence --------------------------------------------------------------------
    def save(self, directory: str | Path, extra: Mapping[str, Any] | None = None) -> Path:
        """Write the artifact and its card into ``directory`` (created if needed)."""
        from triage.engine.persist import save_model

        self._check()
        return save_model(self, Path(directory), extra or {})

    @classmethod
    def load(cls, directory: str | Path) -> TriageModel:
        """Load a model folder, refusing one whose artifact does not match its card."""
        from triage.engine.persist import load_model

        return load_model(Path(directory))
