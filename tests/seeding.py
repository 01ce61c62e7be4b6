"""Test data: real texts, throwaway PostgreSQL schemas, and tickets written straight into a
database for tests of what is computed over many."""

from __future__ import annotations

import contextlib
import csv
import random
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import numpy as np
from paths import PROJECT_ROOT

from triage.engine.text import prepare
from triage.service.codes import new_code
from triage.storage.db import migrated_session
from triage.storage.schema import Correction, Ticket

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def texts(limit: int | None = None, seed: int = 0) -> list[str]:
    """Real, varied messages from data/messages (shuffled, so lengths and topics mix)."""
    out: list[str] = []
    for path in sorted((PROJECT_ROOT / "data" / "messages").glob("*.csv")):
        with open(path, encoding="utf-8") as fh:
            out.extend(r["text"] for r in csv.DictReader(fh) if r.get("text", "").strip())
    random.Random(seed).shuffle(out)
    return out[:limit] if limit else out


@contextlib.contextmanager
def pg_schema(base_url: str = PG_URL, prefix: str = "t") -> Iterator[str]:
    """A throwaway schema on the PostgreSQL server, dropped afterwards."""
    import sqlalchemy as sa

    schema = f"{prefix}_{secrets.token_hex(5)}"
    engine = sa.create_engine(base_url)
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{base_url}?options=-csearch_path%3D{schema}"
    finally:
        try:
            with engine.begin() as conn:
                conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        finally:  # closed even if the drop fails: an open one warns wherever it is collected
            engine.dispose()


def session_at(url: str):
    """A session on a migrated database."""
    return migrated_session(url)


def prediction(category: str, department: str, kind: str = "complaint", confidence: float = 0.9):
    def head(label: str) -> dict[str, Any]:
        return {"label": label, "confidence": confidence, "alternatives": [], "needs_review": False}

    return {
        "category": head(category),
        "department": head(department),
        "kind": head(kind),
        "needs_review": False,
        "model_version": "test",
    }


def ticket(
    text: str = "排队太久",
    category: str = "queue_waiting",
    department: str = "service_center",
    kind: str = "complaint",
    created_at: datetime = NOW,
    **fields: Any,
) -> Ticket:
    """A ticket row with defaults for everything not given."""
    values: dict[str, Any] = {
        "code": new_code(),
        "created_at": created_at,
        "updated_at": created_at,
        "channel": "web",
        "text": text,
        "text_masked": prepare(text),
        "status": "received",
        "category": category,
        "department": department,
        "labels": {"category": category, "department": department, "kind": kind},
        "prediction": prediction(category, department, kind),
        "needs_review": False,
        "confidence": 0.9,
        "due_at": created_at + timedelta(days=14),
    }
    values.update(fields)
    return Ticket(**values)


#: The heads of the default model (data/taxonomy.json): what the seeded rows carry.
HEADS = ("category", "department", "kind")


def verdict(changed: str = "", predicted: dict | None = None, **labels: str) -> Correction:
    """A reviewer's verdict with these labels (head=label), as review.add_correction stores it."""
    return Correction(
        actor="r",
        predicted=predicted or {},
        changed=changed,
        labels=labels,
        category=labels.get("category"),
        department=labels.get("department"),
    )


@cache
def messages(category: str) -> tuple[dict[str, str], ...]:
    """The project's labelled messages of one category (text, department, kind)."""
    with open(PROJECT_ROOT / "data" / "messages" / f"{category}.csv", encoding="utf-8") as fh:
        return tuple(csv.DictReader(fh))


CATEGORIES = sorted(p.stem for p in (PROJECT_ROOT / "data" / "messages").glob("*.csv"))
WHERE = ["食品经营许可窗口", "办食品经营许可证的窗口", "食品许可那个窗口", "二楼食品经营许可窗口"]
WAIT = [
    "现场号排队等了两个小时",
    "拿了现场号等了快三个小时",
    "现场号排了一上午",
    "取了现场号在等候区等了两个半小时",
]
CALLED = ["预约号一直优先叫号", "叫号屏上全是预约号", "预约号来了直接插到前面叫", "一直在叫预约号"]
ENDING = [
    "现场等候的人没人管。",
    "希望现场号和预约号分开窗口。",
    "等候区坐满了，太不合理。",
    "能不能多开一个窗口？",
]
CHARGING = [
    "小区电动自行车充电桩太少，晚上都在楼道飞线充电，太危险了",
    "我们小区没有电动自行车充电桩，只能拉电线到楼下充电",
    "建议在小区多装一些电动自行车充电桩，现在充电排不上",
    "电动自行车充电桩坏了一半，物业不修，居民只能飞线充电",
    "新建小区没有规划电动自行车充电桩，大家只好在楼道充电",
    "小区门口的电动自行车充电桩被汽车占了，没法充电",
]


def ordinary_traffic(session, days: int = 35, per_day: float = 2.0, seed: int = 5) -> list[Ticket]:
    """Every category about twice a day, real messages, at random hours before NOW."""
    pick, counts = random.Random(seed), np.random.default_rng(seed)
    rows = []
    for day in range(days):
        for category in CATEGORIES:
            for _ in range(counts.poisson(per_day)):
                m = pick.choice(messages(category))
                at = NOW - timedelta(days=day, seconds=pick.randrange(86400))
                rows.append(ticket(m["text"], category, m["department"], m["kind"], at))
    session.add_all(rows)
    session.commit()
    return rows


def queue_spike(session, n: int = 30) -> None:
    """The seed's scenario: thirty complaints about the food-licence walk-in queue, written
    with variation, in the day before NOW."""
    pick = random.Random(9)
    texts = [
        f"{pick.choice(WHERE)}{pick.choice(WAIT)}，{pick.choice(CALLED)}，{pick.choice(ENDING)}"
        for _ in range(n)
    ]
    start = NOW - timedelta(hours=20)
    session.add_all(
        ticket(t, "queue_waiting", "service_center", created_at=start + timedelta(minutes=20 * i))
        for i, t in enumerate(texts)
    )
    session.commit()
