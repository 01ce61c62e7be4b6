"""A realistic history for the pages: the project's handwritten messages arriving over five
weeks, routed by the app's model, half verified by a reviewer, many closed, a few sent back,
and a rise of one category in the last week (a hotspot)."""

from __future__ import annotations

import csv
import random
from datetime import UTC, datetime, timedelta
from typing import Any

from paths import PROJECT_ROOT

from triage.service import review
from triage.service.tickets import add_event, create_ticket

HEADS = ("category", "department", "kind")
REVIEWER = "王敏 (3fa9c2d1)"
CHANNELS = ("web", "web", "phone", "window", "app")


def handwritten() -> list[dict[str, str]]:
    with open(PROJECT_ROOT / "data" / "eval" / "handwritten.csv", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def seed(app: Any, days: int = 35, per_day: int = 4, spike: str = "food_license", extra: int = 14) -> None:
    rng = random.Random(20261120)
    rows = handwritten()
    now = datetime.now(UTC)
    arrivals = [
        (rng.choice(rows), now - timedelta(days=rng.uniform(0.2, days))) for _ in range(days * per_day)
    ]
    rising = [r for r in rows if r["category"] == spike]
    arrivals += [(rng.choice(rising), now - timedelta(days=rng.uniform(0.2, 6.5))) for _ in range(extra)]
    model = app.extensions["triage.models"].get()
    known = {h: [str(c) for c in m.classes] for h, m in model.heads_.items()}
    session = app.extensions["triage.db"].session()
    try:
        for row, at in sorted(arrivals, key=lambda pair: pair[1]):
            _arrive(session, model, known, row, at, now, rng, verify=row["category"] == spike)
    finally:
        session.close()


def _arrive(session, model, known, row, at, now, rng, verify) -> None:
    title = row["title"] or None
    ticket = create_ticket(
        session,
        text=row["text"],
        title=title,
        channel=rng.choice(CHANNELS),
        contact={},
        prediction=model.route({"text": row["text"], "title": title or ""}),
        days=10,
        tz="Asia/Shanghai",
        qc_share=0.08,
        now=at,
    )
    age = now - at
    truth = {h: row[h] for h in HEADS if row[h] in known[h]}
    if (verify or rng.random() < 0.5) and age > timedelta(hours=6):
        review.add_correction(session, ticket, REVIEWER, truth, known, now=at + timedelta(hours=2))
    if age > timedelta(days=3) and rng.random() < 0.08:
        review.return_ticket(
            session, ticket, ticket.department, "部门经办人", "不属于本部门职责", None, "general_office",
            now=at + timedelta(hours=20),
        )  # fmt: skip
    elif age > timedelta(days=2) and rng.random() < 0.7:
        done = at + timedelta(days=rng.uniform(0.5, min(12.0, age.days)))
        add_event(session, ticket, "closed", "部门经办人", now=done)
