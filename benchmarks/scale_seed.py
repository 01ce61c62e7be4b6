"""A year of a hotline, planned in numpy for benchmarks.scale and written by the database
itself (benchmarks/scale_load.py).

Every ticket is a real intake row from data/messages, routed once by the model, replicated
over 365 days: weekly and seasonal volume swings, popular topics more frequent than rare
ones, older tickets closed and reviewed, a few sent back; and in the last 30 days one
complaint re-sent thousands of times with small edits, all open and linked in one cluster.

Two small tables describe it: the *base* (one row per distinct message, with what intake
derives from it: masked text, prediction, review fields, LSH bands) and the *plan* (one
row per ticket: which base row, when, its code, and the choices drawn for it: closed when,
status, channel, phone, sent back, reviewed, recategorised). The tickets and what hangs
off them are then INSERT ... SELECT joins of the two.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from triage.engine.text import mask, normalize
from triage.service import repeats
from triage.service.codes import ALPHABET
from triage.service.tickets import labels_of, review_fields
from triage.service.words import Words

DAYS = 365
CHANNELS = ("web", "web", "web", "phone", "phone", "app", "window")
OPEN = ("received", "dispatched", "accepted", "replied")
US = 1_000_000  # microseconds per second: plan times are integer microseconds since 1970
DAY_US = 86400 * US


@dataclass(frozen=True)
class Base:
    """One real message as intake stored it: masked text, prediction and bands."""

    text: str
    masked: str
    prediction: dict[str, Any]
    prediction_json: str
    review: dict[str, Any]
    bands: list[int]
    words: str  # what intake stores in ticket_words

    def label(self, head: str) -> str:
        return str(self.prediction[head]["label"])

    def labels(self) -> dict[str, str]:
        """Every head's label, as a ticket stores them (triage.service.tickets.labels_of)."""
        return labels_of(self.prediction)


def derive(text: str, prediction: dict[str, Any], review: dict[str, Any] | None = None) -> Base:
    """What intake stores for ``text`` routed as ``prediction``."""
    masked = mask(normalize(text))
    grams = repeats.shingles(masked)
    return Base(
        text=text,
        masked=masked,
        prediction=prediction,
        prediction_json=json.dumps(prediction, ensure_ascii=False),
        review=review if review is not None else review_fields(prediction, 0.02),
        bands=repeats.band_hashes(grams) if grams else [],
        words=_words().stored(masked),
    )


@lru_cache(maxsize=1)
def _words() -> Words:
    return Words.load(Path(__file__).resolve().parent.parent / "data")


def routed(texts: Sequence[str], model: Any, version: str) -> list[Base]:
    """Each text routed once by the model, with what intake derives from the prediction."""
    predictions = model.route_many([{"text": t} for t in texts])
    return [derive(t, {**p, "model_version": version}) for t, p in zip(texts, predictions, strict=True)]


def timeline(n: int, now: datetime) -> np.ndarray:
    """N increasing times (microseconds) over the last year: the density swings +-40% over
    the week and +-30% over the seasons (a monotone warp of evenly spaced points, so ids
    follow time)."""
    u = (np.arange(n) + 0.5) / n
    weekly, seasonal = 2 * math.pi * 52, 2 * math.pi
    warped = u + 0.4 * np.sin(weekly * u) / weekly + 0.3 * np.sin(seasonal * u) / seasonal
    start = int((now - timedelta(days=DAYS)).timestamp() * US)
    return start + (warped * DAYS * DAY_US).astype(np.int64)


def codes(n: int, rng: np.random.Generator) -> np.ndarray:
    """N valid query codes (triage.service.codes: 14 random symbols and a Damm check
    symbol over GF(32)), made in numpy; 70 random bits each, so distinct in practice."""
    symbols = rng.integers(0, 32, size=(n, 14), dtype=np.int64)
    interim = np.zeros(n, dtype=np.int64)

    def times2(x: np.ndarray) -> np.ndarray:
        x = x << 1
        return np.where(x & 0b100000, x ^ 0b100101, x)

    for column in symbols.T:
        interim = times2(interim) ^ column
    raw = np.concatenate([symbols, times2(interim)[:, None]], axis=1)
    letters = np.frombuffer(ALPHABET.encode(), dtype=np.uint8)[raw]
    dash = np.full((n, 1), ord("-"), dtype=np.uint8)
    grouped = np.concatenate([letters[:, :5], dash, letters[:, 5:10], dash, letters[:, 10:]], axis=1)
    return np.ascontiguousarray(grouped).view("S17").ravel()


def flood_base(base: list[Base]) -> Base:
    """The complaint re-sent thousands of times: a long, confident, non-`other` one (any
    non-`other` one from a model too small to route anything alone at its promised precision)."""
    fit = [b for b in base if b.label("category") != "other"]
    fit = [b for b in fit if not b.prediction["needs_review"]] or fit
    return max(fit, key=lambda b: (len(b.masked), b.masked))


@dataclass
class Plan:
    """Per ticket (arrays in id order, id = index + 1) the choices of the seeded year; the
    base list grows by one row per flood near-duplicate (its text names its ticket)."""

    base: list[Base]
    messages: int  # base rows before the flood's
    which: np.ndarray  # index into base
    created: np.ndarray  # microseconds
    closed: np.ndarray  # microseconds; -1: open
    status: np.ndarray  # index into STATUSES
    channel: np.ndarray  # index into CHANNELS
    phone: np.ndarray  # nine digits after "13"; -1: none
    returned: np.ndarray
    reviewed: np.ndarray
    category: np.ndarray  # index into categories when a reviewer recategorised, else -1
    changed: np.ndarray
    categories: list[str]
    codes: np.ndarray
    first_flood: int | None  # the id of the flood's first ticket (its cluster)

    def __len__(self) -> int:
        return len(self.which)


STATUSES = ("closed", *OPEN)


def plan(n: int, messages: list[Base], now: datetime, seed: int = 12) -> Plan:
    """Which message each ticket is, when it came, and what happened to it since."""
    rng = np.random.default_rng(seed)
    k = len(messages)
    weights = 1 / np.arange(1, k + 1) ** 0.5  # some topics far more common than others
    which = rng.permutation(k)[rng.choice(k, size=n, p=weights / weights.sum())]
    created = timeline(n, now)
    now_us = int(now.timestamp() * US)
    recent = np.flatnonzero(created >= now_us - 30 * DAY_US)
    at = np.sort(rng.choice(recent, size=min(min(5000, n // 200), len(recent)), replace=False))
    original = flood_base(messages)
    flood = [
        derive(f"{original.text}，第{i + 1}号再次反映，请尽快处理", original.prediction, original.review)
        for i in at.tolist()
    ]
    which[at] = k + np.arange(len(at))
    is_flood = which >= k
    age = (now_us - created) / DAY_US
    closed = ~is_flood & (rng.random(n) < np.where(age > 30, 0.97, age / 30 * 0.9))
    delay = np.minimum(rng.exponential(72, n), age * 24) * 3600 * US
    returned = ~is_flood & (rng.random(n) < 0.01)
    every = [*messages, *flood]
    has_reason = np.array([b.review["review_reason"] is not None for b in every])[which]
    reviewed = (has_reason | returned) & (age > 14)
    categories = sorted({b.label("category") for b in messages})
    own = np.array([categories.index(b.label("category")) for b in every])[which]
    drawn = rng.integers(0, len(categories), n)
    recategorised = reviewed & (rng.random(n) < 0.1)
    return Plan(
        base=every,
        messages=k,
        which=which,
        created=created,
        closed=np.where(closed, created + delay.astype(np.int64), -1),
        status=np.where(closed, 0, rng.integers(1, len(STATUSES), n)),
        channel=rng.integers(0, len(CHANNELS), n),
        phone=np.where(rng.random(n) < 0.6, rng.integers(0, 10**9, n), -1),
        returned=returned,
        reviewed=reviewed,
        category=np.where(recategorised, drawn, -1),
        changed=recategorised & (drawn != own),
        categories=categories,
        codes=codes(n, rng),
        first_flood=int(at[0]) + 1 if len(at) else None,
    )


# The staging tables: (name, type) per column; types are "int", "text", "json", "bool",
# "float". One more per-ticket value derived from the message (its stored words, say) is
# one more base column here, its value in base_rows, and its fill in scale_load.FILLS.
BASE_COLUMNS = (
    *(("id", "int"), ("text", "text"), ("masked", "text"), ("prediction", "json"), ("labels", "json")),
    *(("category", "text"), ("department", "text"), ("model_version", "text"), ("needs_review", "bool")),
    *(("confidence", "float"), ("review_reason", "text"), ("uncertain_heads", "text"), ("margin", "float")),
    ("flood", "bool"),
    ("words", "text"),
)
BAND_COLUMNS = (("base", "int"), ("band", "int"), ("hash", "int"))
PLAN_COLUMNS = (
    *(("id", "int"), ("base", "int"), ("code", "text"), ("created_us", "int"), ("closed_us", "int")),
    *(("status", "text"), ("channel", "text"), ("phone", "text"), ("returned", "bool")),
    *(("reviewed", "bool"), ("category", "text"), ("changed", "text")),
)


def base_rows(p: Plan) -> Iterator[tuple[Any, ...]]:
    for i, b in enumerate(p.base):
        yield (
            *(i, b.text, b.masked, b.prediction_json, json.dumps(b.labels(), ensure_ascii=False)),
            *(b.label("category"), b.label("department"), b.prediction["model_version"]),
            bool(b.prediction["needs_review"]),
            float(b.prediction["category"]["confidence"]),
            *(b.review["review_reason"], b.review["uncertain_heads"], b.review["margin"]),
            i >= p.messages,
            b.words,
        )


def band_rows(p: Plan) -> Iterator[tuple[int, int, int]]:
    for i, b in enumerate(p.base):
        for band, value in enumerate(b.bands):
            yield i, band, value


def plan_rows(p: Plan, start: int, stop: int) -> Iterator[tuple[Any, ...]]:
    """Rows ``start``..``stop`` of the plan, as the staging table holds them."""
    closed = p.closed[start:stop].tolist()
    phone = p.phone[start:stop].tolist()
    category = p.category[start:stop].tolist()
    columns = zip(
        range(start + 1, stop + 1),
        p.which[start:stop].tolist(),
        p.codes[start:stop].astype("U17").tolist(),
        p.created[start:stop].tolist(),
        closed,
        p.status[start:stop].tolist(),
        p.channel[start:stop].tolist(),
        phone,
        p.returned[start:stop].tolist(),
        p.reviewed[start:stop].tolist(),
        category,
        p.changed[start:stop].tolist(),
        strict=True,
    )
    for tid, base, code, created, close, status, channel, tel, ret, rev, cat, changed in columns:
        yield (
            *(tid, base, code, created, None if close < 0 else close, STATUSES[status], CHANNELS[channel]),
            None if tel < 0 else f"13{tel:09d}",
            *(ret, rev, None if cat < 0 else p.categories[cat], "category" if changed else ""),
        )
