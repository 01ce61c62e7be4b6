"""Hotspots and emerging topics: what is suddenly more frequent, and what is new.

A *hotspot* is a category, a department or a category x department cell whose ticket count
in the recent window is improbably high given its rate in the baseline period right before.
The test is the exact one for two Poisson counts: given a unit's tickets in both periods,
under "no change" each falls in the window with probability window / (window + baseline),
so the p-value is a binomial upper tail. (Plugging the baseline rate into a Poisson tail as
if it were known raised false alarms on simulated steady traffic from the nominal 1% to 4%:
a quiet cell's baseline is itself a noisy count.) Then the Benjamini-Hochberg correction
over every unit tested, a minimum count and a minimum rise. Its terms are the words that set
its recent messages apart from its earlier ones (log-odds ratio with an informative
Dirichlet prior, Monroe, Colaresi & Quinn 2008).

An *emerging topic* is a group of similar recent messages among those the taxonomy does not
place well (category ``other``, or tickets the model was unsure of): average-linkage
clusters of their TF-IDF vectors by cosine similarity, with their own distinguishing terms.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from triage.service.grouping import average_linkage, bh_qvalues, binom_sf, cosine_similarity
from triage.service.words import Words, with_words
from triage.storage.schema import Ticket

__all__ = ["Words", "distinguishing_terms", "emerging", "report", "spikes"]

MIN_RATIO = 1.5  # a significant rise smaller than this is not worth anyone's attention
PRIOR_STRENGTH = 50.0  # pseudo-counts of the prior, shared out by pooled frequency
TEXT_SAMPLE = 1000  # newest messages read per side when finding terms
CLUSTER_LIMIT = 1000  # newest messages clustered per group
MIN_SIMILARITY = 0.2  # average cosine within an emerging topic; unrelated pairs: 99% below 0.13


def distinguishing_terms(
    recent: Sequence[Sequence[str]], before: Sequence[Sequence[str]], top: int = 10, min_docs: int = 2
) -> list[dict[str, Any]]:
    """Words more frequent in ``recent`` documents than in ``before`` ones, by the z-score of
    their log-odds ratio under a Dirichlet prior from both together (rare words are shrunk
    towards no difference instead of topping the list). Counts are documents, so one long
    message cannot carry a word alone."""
    y_i = doc_counts(recent)
    return terms_of_counts(y_i, y_i + doc_counts(before), top, min_docs)


def doc_counts(docs: Sequence[Sequence[str]]) -> Counter[str]:
    """In how many documents each word occurs."""
    counts: Counter[str] = Counter()
    for doc in docs:
        counts.update(set(doc))
    return counts


def terms_of_counts(
    y_i: Counter[str], pooled: Counter[str], top: int = 10, min_docs: int = 2
) -> list[dict[str, Any]]:
    """distinguishing_terms from document counts: ``y_i`` of the recent side, ``pooled`` of
    both sides together (so a caller comparing many groups with the rest counts everything
    once; the other side is the difference)."""
    n_i = sum(y_i.values())
    total = sum(pooled.values())
    n_j = total - n_i
    if not n_i or not total:
        return []
    a0 = PRIOR_STRENGTH
    out: list[dict[str, Any]] = []
    for word, count in y_i.items():
        if count < min_docs:
            continue
        a = a0 * pooled[word] / total
        before = pooled[word] - count
        rest_recent, rest_before = n_i + a0 - count - a, n_j + a0 - before - a
        if rest_recent <= 0 or rest_before <= 0:
            continue  # the word is all the documents hold: no odds against other words
        delta = math.log((count + a) / rest_recent) - math.log((before + a) / rest_before)
        z = delta / math.sqrt(1 / (count + a) + 1 / (before + a))
        if z > 1.96:
            out.append({"term": word, "z": round(z, 2), "recent": count, "before": before})
    out.sort(key=lambda t: (-t["z"], t["term"]))
    return out[:top]


# -- spikes ----------------------------------------------------------------------------


def _units(category: str | None, department: str | None) -> list[tuple[str, str | None, str | None]]:
    """The units a ticket counts in; a model without a category or department head (NULL
    there) gives only the units of the head it has."""
    units: list[tuple[str, str | None, str | None]] = []
    if category is not None:
        units.append(("category", category, None))
    if department is not None:
        units.append(("department", None, department))
    if category is not None and department is not None:
        units.append(("cell", category, department))
    return units


def _unit_filter(unit: tuple[str, str | None, str | None]) -> list[ColumnElement[bool]]:
    _, category, department = unit
    conds: list[ColumnElement[bool]] = []
    if category is not None:
        conds.append(Ticket.category == category)
    if department is not None:
        conds.append(Ticket.department == department)
    return conds


def _texts(session: Session, conds: list[ColumnElement[bool]], words: Words) -> list[tuple[str, ...]]:
    rows = session.execute(
        with_words(select(Ticket.text_masked)).where(*conds).order_by(Ticket.id.desc()).limit(TEXT_SAMPLE)
    )
    return [words.read(text, stored) for text, stored in rows]


def spikes(
    session: Session,
    now: datetime,
    window: timedelta,
    baseline: timedelta,
    words: Words,
    department: str | None = None,
    alpha: float = 0.01,
    min_count: int = 5,
) -> dict[str, Any]:
    """Units whose window count is significantly above their baseline rate."""
    start = now - window
    since = start - baseline
    first = session.scalar(select(func.min(Ticket.created_at)))
    # A young database covers only part of the baseline: scale by what it covers.
    covered = max(start - max(since, first), timedelta(0)) if first else timedelta(0)
    scope: list[ColumnElement[bool]] = [Ticket.department == department] if department else []
    out: dict[str, Any] = {"tested": 0, "baseline_days": round(covered / timedelta(days=1), 2)}
    if covered < window:
        out["hotspots"] = []
        out["note"] = "Not enough history before the window to estimate a baseline rate."
        return out

    # Counted in the database: per category, department and side of ``start``.
    in_window = Ticket.created_at >= start
    rows = session.execute(
        select(Ticket.category, Ticket.department, in_window, func.count())
        .where(*scope, Ticket.created_at >= since, Ticket.created_at < now)
        .group_by(Ticket.category, Ticket.department, in_window)
    ).all()
    recent: Counter[tuple[str, str | None, str | None]] = Counter()
    before: Counter[tuple[str, str | None, str | None]] = Counter()
    for category, dept, is_recent, n in rows:
        side = recent if is_recent else before
        for unit in _units(category, dept):
            side[unit] += int(n)

    units = sorted(set(recent) | set(before), key=lambda u: (u[0], u[1] or "", u[2] or ""))
    scale = window / covered
    share = window / (window + covered)
    p = [binom_sf(recent[u] - 1, recent[u] + before[u], share) for u in units]
    q = bh_qvalues(p)
    out["tested"] = len(units)

    found: list[dict[str, Any]] = []
    for unit, p_u, q_u in zip(units, p, q, strict=True):
        k, expected = recent[unit], before[unit] * scale
        if q_u > alpha or k < min_count or k < MIN_RATIO * expected:
            continue
        found.append(
            {
                "unit": unit[0],
                "category": unit[1],
                "department": unit[2],
                "window": k,
                "baseline": before[unit],
                "expected": round(expected, 2),
                "ratio": round(k / expected, 2) if expected else None,
                "p_value": float(f"{p_u:.3g}"),
                "q_value": float(f"{q_u:.3g}"),
            }
        )
    found.sort(key=lambda h: (h["p_value"], -h["window"]))

    for spot in found:
        unit_conds = [*scope, *_unit_filter((spot["unit"], spot["category"], spot["department"]))]
        window_conds = [*unit_conds, Ticket.created_at >= start, Ticket.created_at < now]
        in_baseline = [Ticket.created_at >= since, Ticket.created_at < start]
        reference = [*unit_conds, *in_baseline] if spot["baseline"] >= 20 else [*scope, *in_baseline]
        recent_docs, earlier_docs = _texts(session, window_conds, words), _texts(session, reference, words)
        spot["terms"] = distinguishing_terms(recent_docs, earlier_docs)
        spot["examples"] = list(
            session.scalars(select(Ticket.code).where(*window_conds).order_by(Ticket.id.desc()).limit(5))
        )
    out["hotspots"] = found
    return out


# -- emerging topics -------------------------------------------------------------------


def clusters(
    docs: Sequence[Sequence[str]], min_size: int, background: Sequence[Sequence[str]] = ()
) -> list[list[int]]:
    """Groups of similar documents (indices), largest first; groups smaller than
    ``min_size`` are left out. Word weights are learnt with ``background`` too: on a small
    group alone, the very words its topic shares would get the lowest weight."""
    keep = [i for i, d in enumerate(docs) if d]
    if len(keep) < max(2, min_size):
        return []
    empty = [d for d in docs if not d]  # count as documents for the idf, as before
    # Identical messages (repeat complaints) are one point of their number's weight: average
    # linkage would merge them first, at distance 0, and the idf still counts each copy.
    same: dict[tuple[str, ...], list[int]] = {}
    for i in keep:
        same.setdefault(tuple(docs[i]), []).append(i)
    copies = list(same.values())
    extra = [docs[i] for members in copies for i in members[1:]]
    similarity = cosine_similarity([docs[m[0]] for m in copies], [*background, *empty, *extra])
    distance = np.clip(1.0 - similarity, 0.0, 2.0)
    labels = average_linkage(distance, 1.0 - MIN_SIMILARITY, [len(m) for m in copies])
    label_of = {i: int(label) for members, label in zip(copies, labels, strict=True) for i in members}
    groups: dict[int, list[int]] = {}
    for index in keep:
        groups.setdefault(label_of[index], []).append(index)
    found = [g for g in groups.values() if len(g) >= min_size]
    return sorted(found, key=lambda g: (-len(g), g[0]))


def emerging(
    session: Session,
    now: datetime,
    window: timedelta,
    words: Words,
    department: str | None = None,
    min_size: int = 5,
) -> dict[str, list[dict[str, Any]]]:
    """Topics among the window's `other` tickets and those sent to review as uncertain:
    candidates for a new category."""
    scope = [Ticket.created_at >= now - window, Ticket.created_at < now]
    if department:
        scope.append(Ticket.department == department)
    groups = {"other": Ticket.category == "other", "needs_review": Ticket.needs_review.is_(True)}
    background = _texts(session, [Ticket.created_at < now], words)
    background_counts = doc_counts(background)
    out: dict[str, list[dict[str, Any]]] = {}
    for name, cond in groups.items():
        rows = session.execute(
            with_words(select(Ticket.code, Ticket.category, Ticket.text_masked))
            .where(*scope, cond)
            .order_by(Ticket.id.desc())
            .limit(CLUSTER_LIMIT)
        ).all()
        docs = [words.read(text, stored) for _, _, text, stored in rows]
        everything = doc_counts(docs) + background_counts
        topics = []
        # The ten largest only (the answer shows no more); clusters() lists them largest first.
        for members in clusters(docs, min_size, background)[:10]:
            inside = doc_counts([docs[i] for i in members])
            # Against the rest of the group and everyday traffic (the group may be all one topic).
            topics.append(
                {
                    "size": len(members),
                    "terms": terms_of_counts(inside, everything),
                    "categories": dict(Counter(rows[i][1] for i in members).most_common()),
                    "examples": [rows[i][0] for i in members[:5]],
                }
            )
        out[name] = topics
    return out


def report(
    session: Session,
    now: datetime | None = None,
    window: timedelta = timedelta(days=7),
    baseline: timedelta = timedelta(days=28),
    department: str | None = None,
    alpha: float = 0.01,
    min_count: int = 5,
    words: Words | None = None,
) -> dict[str, Any]:
    """Hotspots and emerging topics of the window ending at ``now``."""
    now = now or datetime.now(UTC)
    words = words or Words()
    found = spikes(session, now, window, baseline, words, department, alpha, min_count)
    return {
        "window": {"from": (now - window).isoformat(), "to": now.isoformat()},
        "baseline": {"from": (now - window - baseline).isoformat(), "to": (now - window).isoformat()},
        "department": department,
        "alpha": alpha,
        "min_count": min_count,
        **found,
        "emerging": emerging(session, now, window, words, department, min_count),
    }
