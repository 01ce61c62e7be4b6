"""The triage model: one estimator, several heads (category, department, kind, or whatever
label columns the training data has), sharing one featurizer."""

from __future__ import annotations

import itertools
import re
import secrets
import threading
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.svm import LinearSVC

from triage.engine import calibration as cal
from triage.engine.counts import TermCounts
from triage.engine.features import Featurizer
from triage.engine.metrics import head_metrics
from triage.engine.parallel import count_documents
from triage.engine.progress import Progress, quiet
from triage.engine.scoring import Features, LinearHead, ServingModel, as_document, follow
from triage.engine.text import dictionary

__all__ = ["HeadModel", "TriageModel", "as_document", "block_tops", "class_weights"]

Item = str | Mapping[str, Any]

# liblinear draws its coordinate order from one process-wide generator (seeded by each fit):
# two fits at once draw from it in turn and, on the same data, give a slightly different
# model from run to run. Fits are serialised; building each fit's matrix and scoring its
# held-out rows still run side by side.
_LIBLINEAR = threading.Lock()

# A label's name says something only in words: a code such as "D17" or "dept_04" is skipped.
_HAN = re.compile(r"[\u4e00-\u9fff]")


def class_weights(y: np.ndarray, weights: np.ndarray, power: float) -> np.ndarray:
    """``weights`` times n_class ** -power (n_class: the weighted rows of each row's class),
    renormalised to mean 1. Power 0.5 lifts small classes without drowning the big ones
    (1 would be scikit-learn's "balanced"; 0 leaves the weights as given)."""
    if not power:
        return weights
    n_class = np.bincount(y, weights=weights)
    w: np.ndarray = weights * np.power(np.maximum(n_class[y], 1e-12), -power)
    return w * (len(w) / float(w.sum()))


@dataclass
class Plan:
    """How one head is fit: its labelled rows (indices into the training rows), their
    labels as indices into its classes, the calibration folds fit on their own, the
    positions (into ``rows``) its final classifier is fit on, and the held-out positions
    that classifier itself is calibrated on (None: the folds calibrate)."""

    head: str
    rows: np.ndarray
    y: np.ndarray
    classes: np.ndarray
    splits: list[tuple[np.ndarray, np.ndarray]]
    fit: np.ndarray
    held: np.ndarray | None
    names: int = 0  # rows after the labelled ones: the labels' names (see ``widen``)

    def widen(self, rows: np.ndarray, y: np.ndarray) -> None:
        """Add ``rows`` (labelled ``y``) to every fit of the head, never to what is scored."""
        at = np.arange(len(self.rows), len(self.rows) + len(rows))
        self.rows, self.y = np.r_[self.rows, rows], np.r_[self.y, y]
        self.splits = [(np.r_[train, at], test) for train, test in self.splits]
        self.fit = np.r_[self.fit, at]
        self.names += len(rows)

    def used(self) -> np.ndarray:
        """Positions (into ``rows``) some fit or score of this head reads."""
        parts = [self.fit, *(i for split in self.splits for i in split)]
        if self.held is not None:
            parts.append(self.held)
        return np.unique(np.concatenate(parts))


def _bounds(vocabulary: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """Where each feature block after the first starts, for a vocabulary of kept columns."""
    return np.cumsum([len(keep) for keep, _ in vocabulary])[:-1]


def block_tops(X: Any, coef: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """Rows x blocks: the class whose weights (``coef``: classes x features; one row for a
    binary head, scoring class 1 against 0) give the row's features in each block (columns
    split at ``bounds``) the highest score; -1 for a row with no feature in the block."""
    edges = [0, *np.asarray(bounds).tolist(), X.shape[1]]
    out = np.full((X.shape[0], len(edges) - 1), -1, dtype=np.int64)
    for b, (lo, hi) in enumerate(itertools.pairwise(edges)):
        part = X[:, lo:hi]
        s = np.asarray(part @ coef[:, lo:hi].T)
        if s.shape[1] == 1:
            s = np.column_stack([np.zeros(len(s)), s])
        has = np.diff(part.indptr) > 0
        out[has, b] = s[has].argmax(axis=1)
    return out


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
        review_offset: np.ndarray | None = None,
        follow: np.ndarray | None = None,
    ) -> None:
        self.name = name
        self.clf = clf
        self.classes = np.asarray(clf.classes_)
        self.temperature = temperature
        self.review = review
        self.review_offset = review_offset
        self.follow = follow
        self.conformal_q = conformal_q
        self.names = dict(names)

    def linear(self) -> LinearHead:
        """This head as the served model has it: class scores = features @ weights + intercept."""
        coef, intercept = self.clf.coef_, np.atleast_1d(self.clf.intercept_)
        if len(self.classes) == 2:  # binary LinearSVC keeps one row: score class 1 vs 0
            coef = np.vstack([np.zeros_like(coef[0]), coef[0]])
            intercept = np.array([0.0, intercept[0]])
        return LinearHead(
            name=self.name,
            labels=[str(c) for c in self.classes],
            weights=np.ascontiguousarray(coef.T, dtype=np.float64),
            intercept=np.asarray(intercept, dtype=np.float64),
            temperature=float(self.temperature),
            review={k: float(v) for k, v in self.review.items()},
            conformal_q=float(self.conformal_q),
            names=self.names,
            review_offset=None if self.review_offset is None else np.asarray(self.review_offset, np.float64),
            follow=None if self.follow is None else np.asarray(self.follow, np.float64),
        )

    def scores(self, X: Any) -> np.ndarray:
        s = self.clf.decision_function(X)
        return np.column_stack([np.zeros_like(s), s]) if s.ndim == 1 else s

    def proba(self, scores: np.ndarray) -> np.ndarray:
        """Calibrated probabilities of rows of scores (runner-ups reweighted, see ``follow``)."""
        return follow(cal.softmax(scores, self.temperature), self.follow)

    def name_of(self, label: str) -> str:
        return self.names.get(label, label)


class TriageModel(BaseEstimator):
    """Multi-head text classifier with calibrated confidence, review flags and candidate sets.

    Parameters
    ----------
    C : regularisation of each head's LinearSVC.
    cv : folds for the out-of-fold scores that calibrate confidence, fit the review
        thresholds and conformal sets, and give the card's metrics.
    two_folds_above : a head with more rows uses at most 2 folds (three fits, two of them
        on half the rows); a smaller one is cheap, and its third fold calibrates better.
    holdout_above, holdout_rows : a head with more than ``holdout_above`` rows is
        calibrated on one stratified held-out slice of ``holdout_rows`` rows instead of
        ``cv`` folds (one extra fit instead of ``cv``, or none: see ``max_fit_rows``).
    max_fit_rows : a head with more rows fits its classifier on a stratified sample of this
        many (every row weighted above 1, a verified correction, is kept; so is every row of a
        class with fewer than ``min_class_rows`` rows). When the rows left out of the sample
        can hold the calibration slice, the slice comes from them and is scored by the head's
        final classifier itself: a large head costs one fit of ``max_fit_rows`` rows, however
        many it has (the defaults: above 40,000 rows). None fits on every row.
    min_class_rows : see ``max_fit_rows``.
    tol : liblinear's stopping tolerance (1e-3 gave the same predictions as 1e-4).
    large_max_iter : passes over the rows at most for a head above ``holdout_above``,
        so its cost is bounded by its fit rows.
    class_weight_power : each head's rows are weighted by n_class ** -power on top of
        the sample weights (0 turns it off).
    n_jobs : the text is counted in this many processes, and the fits' matrices are built
        and scored side by side in threads (liblinear itself fits one at a time).
    target_precision : precision the auto-routed share must reach (per head).
    coverage : probability that a head's candidate set holds the right label.
    fallback : head -> label used when that head is below its review threshold.
    review_heads : heads whose uncertainty flags the whole item for review.
    names : head -> {label: human name}; labels without a name show their id.
    name_weight, name_below : the name (else the id) of each label with fewer than
        ``name_below`` rows, when it has Chinese words, joins its head's training rows as one
        short text of weight ``name_weight``, never scored for calibration: a department seen
        a handful of times is still found by the words of its name (a label with hundreds of
        rows speaks for itself). ``name_weight`` 0 turns it off.
    word_ngram, char_ngram, min_df, max_features, word_weight, userdict, stopwords : see
        :class:`Featurizer`.
    """

    def __init__(
        self,
        C: float = 0.5,
        cv: int = 3,
        two_folds_above: int = 10_000,
        holdout_above: int = 40_000,
        holdout_rows: int = 10_000,
        max_fit_rows: int | None = 30_000,
        min_class_rows: int = 200,
        tol: float = 1e-3,
        large_max_iter: int = 30,
        class_weight_power: float = 0.5,
        n_jobs: int = 2,
        target_precision: float = 0.95,
        coverage: float = 0.90,
        fallback: Mapping[str, str] | None = None,
        review_heads: Sequence[str] = ("category", "department"),
        names: Mapping[str, Mapping[str, str]] | None = None,
        word_ngram: int = 1,
        char_ngram: tuple[int, int] | None = (1, 3),
        min_df: int = 2,
        max_features: int | None = 1_000_000,
        word_weight: float = 0.5,
        userdict: tuple[str, ...] = (),
        stopwords: tuple[str, ...] = (),
        n_reasons: int = 5,
        name_weight: float = 10.0,
        name_below: int = 100,
        random_state: int = 0,
    ) -> None:
        self.C = C
        self.cv = cv
        self.two_folds_above = two_folds_above
        self.holdout_above = holdout_above
        self.holdout_rows = holdout_rows
        self.max_fit_rows = max_fit_rows
        self.min_class_rows = min_class_rows
        self.tol = tol
        self.large_max_iter = large_max_iter
        self.class_weight_power = class_weight_power
        self.n_jobs = n_jobs
        self.target_precision = target_precision
        self.coverage = coverage
        self.fallback = fallback
        self.review_heads = review_heads
        self.names = names
        self.word_ngram = word_ngram
        self.char_ngram = char_ngram
        self.min_df = min_df
        self.max_features = max_features
        self.word_weight = word_weight
        self.userdict = userdict
        self.stopwords = stopwords
        self.n_reasons = n_reasons
        self.name_weight = name_weight
        self.name_below = name_below
        self.random_state = random_state

    # -- fitting ----------------------------------------------------------------------
    def _featurizer(self) -> Featurizer:
        return Featurizer(
            word_ngram=self.word_ngram,
            char_ngram=self.char_ngram,
            min_df=self.min_df,
            max_features=self.max_features,
            word_weight=self.word_weight,
            userdict=tuple(self.userdict),
            stopwords=tuple(self.stopwords),
        )

    def _classifier(self, head_rows: int) -> LinearSVC:
        # Past a few dozen passes liblinear only polishes: a large head stops early, so
        # its cost is linear in rows (a small one runs to the tolerance, as it always has).
        max_iter = 10000 if head_rows <= self.holdout_above else self.large_max_iter
        return LinearSVC(C=self.C, tol=self.tol, max_iter=max_iter, random_state=self.random_state)

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
        featurizer = self._featurizer()
        weights = np.ones(len(X)) if sample_weight is None else np.asarray(sample_weight, float)
        # Which rows each head fits and calibrates on follows from the labels alone, so the
        # text is read once, knowing whose counts to keep (all rows' document frequencies).
        plans = [self._plan(head, labels, weights) for head, labels in y.items()]
        docs, weights = self._with_names(X, plans, weights)
        rows = np.unique(np.concatenate([p.rows[p.used()] for p in plans]))
        # Segmented in runs (by n_jobs processes), counted without keeping token lists.
        kept = None if len(rows) == len(docs) else rows
        counts = count_documents(featurizer, docs, self.n_jobs, progress=progress, rows=kept)
        self.featurizer_ = featurizer.fit_counts(counts)
        # Every fit (each head's calibration folds and its final model) is independent; each
        # builds its own rows' matrix when it starts, so only the running fits hold one.
        jobs = []
        for plan in plans:
            w = weights[plan.rows]
            jobs += [
                delayed(self._fold_scores)(counts, plan.rows, plan.y, w, tr, te) for tr, te in plan.splits
            ]
            jobs.append(delayed(self._final)(counts, plan, w))
        # A large head's capped passes end unconverged by design. Warning filters are
        # process-wide and catch_warnings is not thread-safe, so it wraps the threads here.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=ConvergenceWarning)
            results = Parallel(n_jobs=self.n_jobs, prefer="threads", return_as="generator")(jobs)
            self.heads_: dict[str, HeadModel] = {}
            self.cv_: dict[str, dict[str, Any]] = {}
            self.oof_: dict[str, tuple[np.ndarray, np.ndarray]] = {}
            for plan in plans:
                parts = []
                for k in range(len(plan.splits)):
                    parts.append(next(results))  # in order, as each fit finishes
                    progress(f"cross-validating {plan.head}", k + 1, len(plan.splits))
                clf, held_scores, held_tops = next(results)
                if plan.held is not None:
                    scored, scores, tops = plan.held, held_scores, held_tops
                else:
                    scored = np.concatenate([te for _, te in plan.splits])
                    scores, tops = np.vstack([p[0] for p in parts]), np.vstack([p[1] for p in parts])
                head = self._calibrate_head(plan, clf, plan.y[scored], scores, tops)
                self.heads_[plan.head] = head
                self.oof_[plan.head] = (plan.rows[scored], head.proba(scores))
        self.n_train_ = len(X)
        self.version_ = f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"
        self.serving_ = self._serving()
        return self

    def _with_names(
        self, X: Sequence[Item], plans: list[Plan], weights: np.ndarray
    ) -> tuple[Sequence[Item], np.ndarray]:
        """The training texts, then the names of each head's rare labels (see
        ``name_below``); each plan fits on its own (in every fold), never scores them."""
        if not self.name_weight:
            return X, weights
        extra: list[Item] = []
        for plan in plans:
            names = (self.names or {}).get(plan.head, {})
            rare = np.flatnonzero(np.bincount(plan.y, minlength=len(plan.classes)) < self.name_below)
            texts = {c: names.get(str(plan.classes[c])) or str(plan.classes[c]) for c in rare.tolist()}
            worded = np.array([c for c, t in texts.items() if _HAN.search(t)], dtype=np.int64)
            start = len(X) + len(extra)
            extra += [{"text": texts[c]} for c in worded.tolist()]
            plan.widen(np.arange(start, len(X) + len(extra)), worded)
        if not extra:
            return X, weights
        return [*X, *extra], np.r_[weights, np.full(len(extra), float(self.name_weight))]

    def _plan(self, head: str, labels: Sequence[str | None], weights: np.ndarray) -> Plan:
        """Which rows the head calibrates on and which its final classifier is fit on."""
        rows = np.array([i for i, lab in enumerate(labels) if lab], dtype=np.int64)
        if len(rows) == 0:
            raise ValueError(f"head {head!r} has no labelled rows")
        yh = np.array([labels[i] for i in rows], dtype=object).astype(str)
        classes = np.unique(yh)
        if len(classes) < 2:
            raise ValueError(f"head {head!r} needs at least two labels, found {len(classes)}")
        yi = np.searchsorted(classes, yh)
        w = weights[rows]
        cap = self.max_fit_rows
        if len(rows) > self.holdout_above and cap is not None and len(rows) - self.holdout_rows >= cap:
            # The sample leaves rows out anyway: the slice is taken from them, and the final
            # classifier, which never sees it, is the one calibrated on it (one fit, not two).
            rest, held = self._held_out(yi, w)
            fit = rest[self._sample(yi[rest], w[rest])]
            return Plan(head, rows, yi, classes, [], fit, held)
        splits = self._splits(yi, w)
        return Plan(head, rows, yi, classes, splits, self._sample(yi, w), None)

    def _sample(self, y: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """Sorted indices of at most ``max_fit_rows`` rows, stratified by class: every row
        weighted above 1 and every row of a class with fewer than ``min_class_rows`` rows
        stays (so the sample may be that much larger), and each class gives the rest its
        share of the remaining room. All rows when they fit."""
        cap = self.max_fit_rows
        if cap is None or len(y) <= cap:
            return np.arange(len(y))
        must = weights > 1
        n_class = np.bincount(y)
        must |= n_class[y] < self.min_class_rows
        free = np.flatnonzero(~must)
        room = max(cap - int(must.sum()), 0)
        free_per_class = np.bincount(y[free], minlength=len(n_class))
        quota = np.floor(free_per_class * (room / max(len(free), 1))).astype(np.int64)
        rng = np.random.default_rng(self.random_state)
        order = free[rng.permutation(len(free))]
        # The first ``quota[c]`` rows of class c in a random order.
        rank = np.empty(len(order), dtype=np.int64)
        by_class = np.argsort(y[order], kind="stable")
        starts = np.r_[0, np.cumsum(free_per_class)[:-1]]
        rank[by_class] = np.arange(len(order)) - np.repeat(starts, free_per_class)
        taken = order[rank < quota[y[order]]]
        return np.sort(np.concatenate([np.flatnonzero(must), taken]))

    def _held_out(self, y: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """A stratified slice of ``holdout_rows`` rows, none of them weighted above 1 (a
        verified correction is always trained on): (the other rows, the slice), sorted."""
        index = np.arange(len(y))
        free = index[weights <= 1]
        strata = y[free].copy()
        counts = np.bincount(strata)
        strata[counts[strata] < 2] = -1  # singletons share one stratum
        if (strata == -1).sum() == 1:
            strata[strata == -1] = counts.argmax()
        _, test = train_test_split(
            free,
            test_size=min(self.holdout_rows, len(free) // 2),
            stratify=strata,
            random_state=self.random_state,
        )
        test = np.sort(test)
        return np.setdiff1d(index, test, assume_unique=True), test

    def _splits(self, y: np.ndarray, weights: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """Stratified folds; for a large head one held-out slice (one extra fit, not ``cv``)."""
        index = np.arange(len(y))
        with warnings.catch_warnings():
            # Rare classes (fewer members than folds) are expected in real data sets.
            warnings.filterwarnings("ignore", message="The least populated class")
            if len(y) > self.holdout_above:
                return [self._held_out(y, weights)]
            cv = min(self.cv, 2) if len(y) > self.two_folds_above else self.cv
            folds = max(2, min(cv, int(np.bincount(y).max())))
            splitter = StratifiedKFold(folds, shuffle=True, random_state=self.random_state)
            return list(splitter.split(index, y))

    def _fit(self, X: Any, y: np.ndarray, weights: np.ndarray, head_rows: int) -> LinearSVC:
        clf, w = self._classifier(head_rows), class_weights(y, weights, self.class_weight_power)
        with _LIBLINEAR:  # one liblinear fit at a time, so a fit is repeatable (see _LIBLINEAR)
            return clf.fit(X, y, w)

    def _final(
        self, counts: TermCounts, plan: Plan, weights: np.ndarray
    ) -> tuple[LinearSVC, np.ndarray | None, np.ndarray | None]:
        """The head's classifier, fit on its sample, and its scores and block tops of the
        held-out slice (when the slice calibrates it)."""
        fit_rows = plan.rows[plan.fit]
        clf = self._fit(counts.tfidf(fit_rows), plan.y[plan.fit], weights[plan.fit], len(plan.rows))
        if plan.held is None:
            return clf, None, None
        X_held = counts.tfidf(plan.rows[plan.held])
        bounds = _bounds(counts.vocabulary())
        return clf, self._scores(clf, X_held, int(plan.y.max()) + 1), self._tops(clf, X_held, bounds)

    def _fold_scores(
        self,
        counts: TermCounts,
        rows: np.ndarray,
        y: np.ndarray,
        weights: np.ndarray,
        train: np.ndarray,
        test: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Scores of the ``test`` rows by a model fit on the ``train`` rows only (its own
        vocabulary and idf), one column per class of the head; and each feature block's own
        best class (see :func:`block_tops`)."""
        train = train[self._sample(y[train], weights[train])]  # as the final fit samples
        vocabulary = counts.vocabulary(rows[train])
        X_train, X_test = counts.fold(rows[train], rows[test], vocabulary)
        clf = self._fit(X_train, y[train], weights[train], len(rows))
        return self._scores(clf, X_test, int(y.max()) + 1), self._tops(clf, X_test, _bounds(vocabulary))

    @staticmethod
    def _scores(clf: LinearSVC, X: Any, n_classes: int) -> np.ndarray:
        """Decision scores, one column per class of the head."""
        scores = clf.decision_function(X)
        if scores.ndim == 1:
            scores = np.column_stack([-scores, scores]) / 2
        # A class absent from the fit's rows can never win here.
        block = np.full((X.shape[0], n_classes), scores.min() - 1.0)
        block[:, clf.classes_] = scores
        return block

    @staticmethod
    def _tops(clf: LinearSVC, X: Any, bounds: np.ndarray) -> np.ndarray:
        """Each feature block's own best class (an index into the head's classes; -1: none)."""
        tops = block_tops(X, clf.coef_, bounds)
        return np.where(tops >= 0, np.asarray(clf.classes_)[np.maximum(tops, 0)], -1)

    def _serving(self) -> ServingModel:
        """The fitted model without scikit-learn: what is saved, loaded and served."""
        features = Features(
            blocks=self.featurizer_.blocks(),
            userdict=tuple(self.userdict),
            stopwords=frozenset(self.stopwords),
            dictionary=dictionary(tuple(self.userdict)),
        )
        return ServingModel(
            features,
            [m.linear() for m in self.heads_.values()],
            version=self.version_,
            fallback=self.fallback,
            review_heads=self.review_heads,
            n_reasons=self.n_reasons,
        )

    def _calibrate_head(
        self,
        plan: Plan,
        clf: LinearSVC,
        yi: np.ndarray,
        oof_scores: np.ndarray,
        oof_tops: np.ndarray | None = None,
    ) -> HeadModel:
        """Temperature, review threshold and conformal cut-off from out-of-fold scores
        (``oof_tops``: each feature block's own best label, see :func:`block_tops`)."""
        head, classes, n_splits = plan.head, plan.classes, max(len(plan.splits), 1)
        clf.classes_ = classes  # fitted on class indices; the head speaks labels
        temperature = cal.fit_temperature(oof_scores, yi)
        # Review, candidates and metrics read the probabilities as served: with the runner-up
        # factors, each row's from factors fit on other rows.
        proba = cal.softmax(oof_scores, temperature)
        factors, follow_weight, proba = cal.fit_follow(proba, yi, self.random_state)
        review, offset = cal.fit_review(proba, yi, self.target_precision, oof_tops)
        q = cal.fit_conformal(proba, yi, self.coverage)
        cov, size = cal.cross_conformal(proba, yi, self.coverage, self.random_state)
        metrics = head_metrics(yi, proba, classes)
        metrics["ece"] = cal.expected_calibration_error(proba, yi)
        self.cv_[head] = {
            "folds": n_splits,
            "calibration": "folds" if n_splits > 1 else f"held-out slice of {len(yi)} rows",
            "calibration_rows": len(yi),
            "fit_rows": len(plan.fit) - plan.names,
            "rows": len(plan.rows) - plan.names,
            "name_rows": plan.names,
            "temperature": temperature,
            "follow_weight": follow_weight,
            "review": {"target_precision": self.target_precision, **review},
            "candidates": {
                "target_coverage": self.coverage,
                "q": q,
                "coverage_cross_fitted": cov,
                "mean_set_size": size,
            },
            "metrics": metrics,
        }
        names = (self.names or {}).get(head, {})
        return HeadModel(head, clf, temperature, review, q, names, offset, factors)

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
        return {h: m.proba(m.scores(F)) for h, m in self.heads_.items()}

    def block_tops(self, X: Sequence[Item]) -> dict[str, np.ndarray]:
        """Per head, rows x feature blocks: each block's own best label (its index; -1 when
        the text has no feature in the block), as the review rule reads them."""
        self._check()
        F = self.featurizer_.transform([as_document(x) for x in X])
        bounds = np.asarray(self.featurizer_.offsets_[1:], dtype=np.int64)
        return {h: block_tops(F, m.clf.coef_, bounds) for h, m in self.heads_.items()}

    def predict(self, X: Sequence[Item]) -> np.ndarray:
        """Labels, one column per head in ``heads`` order (the model's own top label)."""
        proba = self.predict_proba(X)
        cols = [self.heads_[h].classes[p.argmax(axis=1)] for h, p in proba.items()]
        return np.column_stack(cols)

    def remember(self, items: Sequence[Item], labels: Mapping[str, Sequence[str]]) -> TriageModel:
        """Verified answers: a text a person labelled gets those labels back exactly (the
        model itself also learns from it, for the texts like it)."""
        self._check()
        self.serving_.remember(  # an empty label: that head was not verified for that text
            {
                as_document(item): {h: labels[h][i] for h in labels if labels[h][i]}
                for i, item in enumerate(items)
            }
        )
        return self

    def route(self, item: Item) -> dict[str, Any]:
        """The full prediction object for one text, as the saved model serves it."""
        self._check()
        return self.serving_.route(item)

    def route_many(self, items: Sequence[Item]) -> list[dict[str, Any]]:
        self._check()
        return self.serving_.route_many(items)

    def card(self) -> dict[str, Any]:
        """What the model card says about training: parameters, data size, each head's
        cross-validated calibration and metrics."""
        self._check()
        return {
            "version": self.version_,
            "params": {
                k: v for k, v in self.get_params().items() if k not in ("names", "userdict", "stopwords")
            },
            "n_train": self.n_train_,
            "n_features": self.featurizer_.n_features_,
            "min_df": getattr(self.featurizer_, "min_df_", self.min_df),  # as max_features raised it
            "heads": {
                h: {
                    "labels": [str(c) for c in m.classes],
                    "names": {str(c): m.name_of(str(c)) for c in m.classes},
                    "fallback": (self.fallback or {}).get(h),
                    **self.cv_[h],
                }
                for h, m in self.heads_.items()
            },
        }

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("oof_", None)  # training-time diagnostics
        return state

    # -- persistence --------------------------------------------------------------------
    def save(self, directory: str | Path, extra: Mapping[str, Any] | None = None) -> Path:
        """Write the served model (arrays and JSON) and its card into ``directory``; load it
        with ``triage.engine.persist.load_model`` (no scikit-learn needed)."""
        from triage.engine.persist import save_model

        self._check()
        return save_model(self.serving_, Path(directory), {**self.card(), **(extra or {})})
