"""Writing a planned year (benchmarks/scale_seed.py) into the database: the base and plan
go into temporary staging tables (COPY on PostgreSQL, executemany on SQLite), the seeded
tables lose their secondary indexes and foreign keys, the rows are made by INSERT ...
SELECT joins inside the database, and the indexes and keys are built again once, sorted.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import sqlalchemy as sa

from triage.storage.rollups import rebuild

from .scale_seed import BAND_COLUMNS, BASE_COLUMNS, PLAN_COLUMNS, Plan, band_rows, base_rows, plan_rows

SEEDED = ("tickets", "ticket_events", "corrections", "returns", "ticket_bands", "ticket_words")
# The statements that make the dropped indexes and keys again, kept in the database from
# the moment they are dropped until they are all done, so that a failure after the rows are
# in loses nothing: `benchmarks.scale --reuse URL` finishes what is left (:func:`pending`).
RESTORE = "seed_restore"
CHUNK = 200_000  # plan rows per write
_TYPES = {
    "postgresql": {"int": "bigint", "text": "text", "json": "json", "bool": "boolean", "float": "float8"},
    "sqlite": {"int": "INTEGER", "text": "TEXT", "json": "TEXT", "bool": "INTEGER", "float": "REAL"},
}
# A time in SQL from integer microseconds since 1970 (UTC), as each database stores it.
_TIME = {
    "postgresql": "(TIMESTAMPTZ '1970-01-01 00:00:00+00' + ({}) * INTERVAL '1 microsecond')",
    # SQLAlchemy's SQLite DateTime: naive UTC text with six decimals.
    "sqlite": "(strftime('%Y-%m-%d %H:%M:%S', ({0}) / 1000000, 'unixepoch')"
    " || printf('.%06d', ({0}) % 1000000))",
}
# The ticket's labels, its category replaced by a reviewer's where one recategorised it.
_LABELS = {
    "postgresql": "CASE WHEN p.category IS NULL THEN b.labels"
    " ELSE CAST(jsonb_set(CAST(b.labels AS jsonb), '{category}', to_jsonb(p.category)) AS json) END",
    "sqlite": "CASE WHEN p.category IS NULL THEN b.labels"
    " ELSE json_set(b.labels, '$.category', p.category) END",
}
HOUR, DAY = "3600000000", "86400000000"

# Each seeded table: its columns and their fill, over the plan ``p`` and the base ``b``
# ({time:...}: a time in microseconds; {labels}: the ticket's labels), and which tickets.
TICKETS = {
    "id": "p.id",
    "code": "p.code",
    "created_at": "{time:p.created_us}",
    "updated_at": "{time:coalesce(p.closed_us, CASE WHEN p.reviewed THEN p.created_us + "
    f"{DAY} END, p.created_us)}}",
    "channel": "p.channel",
    "text": "b.text",
    "text_masked": "b.masked",
    "contact_phone": "p.phone",
    "status": "p.status",
    "category": "coalesce(p.category, b.category)",
    "department": "b.department",
    "labels": "{labels}",
    "prediction": "b.prediction",
    "model_version": "b.model_version",
    "needs_review": "b.needs_review",
    "confidence": "b.confidence",
    "due_at": f"{{time:p.created_us + 10 * {DAY}}}",
    "closed_at": "CASE WHEN p.closed_us IS NOT NULL THEN {time:p.closed_us} END",
    "review_reason": "CASE WHEN p.returned THEN 'returned' ELSE b.review_reason END",
    "uncertain_heads": "b.uncertain_heads",
    "margin": "b.margin",
    "reviewed_at": f"CASE WHEN p.reviewed THEN {{time:p.created_us + {DAY}}} END",
    "duplicate_of": "CASE WHEN b.flood AND p.id <> :first THEN :first END",
    "cluster_id": "CASE WHEN b.flood THEN :first END",
}
FILLS: tuple[tuple[str, dict[str, str], str], ...] = (
    ("tickets", TICKETS, "TRUE"),
    ("ticket_words", {"ticket_id": "p.id", "words": "b.words"}, "TRUE"),
    (
        "ticket_events",
        {"ticket_id": "p.id", "type": "'received'", "at": "{time:p.created_us}", "actor": "'intake'"}
        | {"department": "b.department"},
        "TRUE",
    ),
    (
        "ticket_events",
        {"ticket_id": "p.id", "type": "'closed'", "at": "{time:p.closed_us}", "actor": "'staff'"}
        | {"department": "b.department"},
        "p.closed_us IS NOT NULL",
    ),
    (
        "corrections",
        {"ticket_id": "p.id", "at": f"{{time:p.created_us + {DAY}}}", "actor": "'reviewer'"}
        | {"model_version": "b.model_version", "predicted": "b.labels", "category": TICKETS["category"]}
        | {"department": "b.department", "labels": "{labels}", "changed": "p.changed", "new_label": "FALSE"},
        "p.reviewed",
    ),
    (
        "returns",
        {"ticket_id": "p.id", "at": f"{{time:p.created_us + 2 * {HOUR}}}", "department": "b.department"}
        | {"actor": "'dept'", "reason": "'不属于本部门'", "routed_to": "b.department"},
        "p.returned",
    ),
)


def _expression(template: str, dialect: str) -> str:
    out = template.replace("{labels}", _LABELS[dialect])
    while "{time:" in out:
        start = out.index("{time:")
        depth, end = 0, start
        for end in range(start, len(out)):  # the matching brace (the fill may hold parentheses)
            depth += {"{": 1, "}": -1}.get(out[end], 0)
            if depth == 0:
                break
        out = out[:start] + _TIME[dialect].format(out[start + 6 : end]) + out[end + 1 :]
    return out


def _stage(
    conn: sa.Connection, name: str, columns: tuple[tuple[str, str], ...], rows: Iterable[tuple[Any, ...]]
) -> None:
    dialect = conn.dialect.name
    types = ", ".join(f"{c} {_TYPES[dialect][t]}" for c, t in columns)
    # Plain tables (unlogged: no WAL), so the connections that copy out of them see them.
    unlogged = "UNLOGGED " if dialect == "postgresql" else ""
    conn.execute(sa.text(f"CREATE {unlogged}TABLE {name} ({types})"))
    raw: Any = conn.connection.dbapi_connection
    names = ", ".join(c for c, _ in columns)
    if dialect == "postgresql":
        with raw.cursor() as cursor, cursor.copy(f"COPY {name} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    else:
        cursor = raw.cursor()
        cursor.executemany(f"INSERT INTO {name} VALUES ({', '.join('?' * len(columns))})", rows)
        cursor.close()


def _chunks(p: Plan) -> Iterator[tuple[Any, ...]]:
    for start in range(0, len(p), CHUNK):
        yield from plan_rows(p, start, min(start + CHUNK, len(p)))


def load(engine: sa.Engine, p: Plan) -> tuple[dict[str, int], list[str]]:
    """Write the planned tickets and what hangs off them, without their secondary indexes
    and keys; returns the rows written per table and the statements that make the indexes
    and keys again (for :func:`finish`)."""
    counts = dict.fromkeys(SEEDED, 0)
    dialect = engine.dialect.name

    def step(label: str, started: float) -> None:
        print(f"  {label}: {time.perf_counter() - started:.0f} s", flush=True)

    started = time.perf_counter()
    with engine.begin() as conn:
        _stage(conn, "seed_base", BASE_COLUMNS, base_rows(p))
        _stage(conn, "seed_bands", BAND_COLUMNS, band_rows(p))
        _stage(conn, "seed_plan", PLAN_COLUMNS, _chunks(p))
        restore = detach(conn, SEEDED)
        conn.execute(sa.text(f"CREATE TABLE {RESTORE} (step INTEGER PRIMARY KEY, statement TEXT NOT NULL)"))
        conn.execute(
            sa.text(f"INSERT INTO {RESTORE} (step, statement) VALUES (:step, :statement)"),
            [{"step": i, "statement": s} for i, s in enumerate(restore)],
        )
    step(
        f"staged {len(p.base)} messages and {len(p)} planned tickets, dropped {len(restore)} indexes", started
    )
    fills = [
        (
            table,
            ", ".join(fill),
            f"SELECT {', '.join(_expression(v, dialect) for v in fill.values())} FROM seed_plan p"
            f" JOIN seed_base b ON b.id = p.base WHERE {where}",
        )
        for table, fill, where in FILLS
    ]
    bands = "SELECT p.id, s.band, s.hash FROM seed_plan p JOIN seed_bands s ON s.base = p.base"
    for table, columns, select in [*fills, ("ticket_bands", "ticket_id, band, hash", bands)]:
        started = time.perf_counter()
        select = select.replace(":first", str(p.first_flood or 0))
        counts[table] += _fill(engine, table, columns, select)
        step(f"{table}: {select[select.index(' WHERE ') + 7 :] if ' WHERE ' in select else 'all'}", started)
    with engine.begin() as conn:
        for name in ("seed_plan", "seed_bands", "seed_base"):
            conn.execute(sa.text(f"DROP TABLE {name}"))
    return counts, restore


def _fill(engine: sa.Engine, table: str, columns: str, select: str) -> int:
    """INSERT INTO table SELECT ...; on PostgreSQL as COPY out of the query into COPY into
    the table (COPY writes rows a page at a time, INSERT one by one), bytes passed on
    untouched."""
    if engine.dialect.name != "postgresql":
        with engine.begin() as conn:
            return int(conn.execute(sa.text(f"INSERT INTO {table} ({columns}) {select}")).rowcount)
    source: Any = engine.raw_connection()
    target: Any = engine.raw_connection()
    try:
        with source.cursor() as out, target.cursor() as into:
            with (
                out.copy(f"COPY ({select}) TO STDOUT") as rows,
                into.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
            ):
                for block in rows:
                    copy.write(block)
            written = into.rowcount
        target.commit()
        source.commit()
    finally:
        target.close()
        source.close()
    return int(written)


def detach(conn: sa.Connection, tables: tuple[str, ...]) -> list[str]:
    """Drop the secondary indexes, unique constraints and foreign keys of ``tables``
    (primary keys stay); returns the statements that make them again, in order."""
    if conn.dialect.name == "sqlite":
        marks = ", ".join(f"'{t}'" for t in tables)
        found = conn.execute(
            sa.text(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
                f" AND tbl_name IN ({marks})"
            )
        ).all()
        for name, _ in found:
            conn.execute(sa.text(f'DROP INDEX "{name}"'))
        return [sql for _, sql in found]
    names = "ARRAY[" + ", ".join(f"'{t}'" for t in tables) + "]"
    constraints = conn.execute(
        sa.text(
            "SELECT c.contype, c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid)"
            " FROM pg_constraint c JOIN pg_class r ON r.oid = c.conrelid"
            f" WHERE r.relnamespace = current_schema()::regnamespace AND r.relname = ANY({names})"
            " AND c.contype IN ('f', 'u') ORDER BY c.contype"  # f before u: keys need their index
        )
    ).all()
    indexes = conn.execute(
        sa.text(
            "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i"
            " JOIN pg_class r ON r.oid = i.indrelid"
            f" WHERE r.relnamespace = current_schema()::regnamespace AND r.relname = ANY({names})"
            " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)"
        )
    ).all()
    for _, table, name, _ in constraints:
        conn.execute(sa.text(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"'))
    for name, _ in indexes:
        conn.execute(sa.text(f"DROP INDEX {name}"))
    # A unique constraint is made as its index (built beside the others), then attached.
    uniques = [(t, n, d.removeprefix("UNIQUE ")) for kind, t, n, d in constraints if kind == "u"]
    builds = [f'CREATE UNIQUE INDEX "{n}" ON {t} {cols}' for t, n, cols in uniques]
    attach = [f'ALTER TABLE {t} ADD CONSTRAINT "{n}" UNIQUE USING INDEX "{n}"' for t, n, _ in uniques]
    keys = [f'ALTER TABLE {t} ADD CONSTRAINT "{n}" {d}' for kind, t, n, d in constraints if kind == "f"]
    return [*builds, *(d for _, d in indexes), *attach, *keys]


def pending(engine: sa.Engine) -> list[str] | None:
    """The restore statements a seeding left undone (None: it finished, or the database was
    not seeded here); an error if its rows were never all written."""
    with engine.connect() as conn:
        tables = set(sa.inspect(conn).get_table_names())
        if "seed_plan" in tables:
            raise RuntimeError("this database's seeding stopped before all its rows were in: seed it anew")
        if RESTORE not in tables:
            return None
        return list(conn.scalars(sa.text(f"SELECT statement FROM {RESTORE} ORDER BY step")))


def finish(engine: sa.Engine, restore: list[str], workers: int = 4) -> None:
    """The indexes and keys again (index builds and the rollups' recount side by side on
    PostgreSQL, each its own connection), sequences past the seeded ids, and planner
    statistics and the visibility map (as autovacuum would have made them). Each statement
    done leaves the restore table in its own transaction; the table goes at the very end."""
    postgres = engine.dialect.name == "postgresql"
    builds = [s for s in restore if s.startswith("CREATE ")]
    started = time.perf_counter()

    def run(statement: str) -> None:
        with engine.begin() as conn:
            if postgres:  # this session only: the sort of a 100-million-row index fits
                conn.execute(sa.text("SET LOCAL maintenance_work_mem = '1GB'"))
            conn.execute(sa.text(statement))
            conn.execute(sa.text(f"DELETE FROM {RESTORE} WHERE statement = :s"), {"s": statement})

    def recount() -> None:
        with engine.begin() as conn:
            rows = rebuild(conn)
        print(f"  rollups rebuilt: {rows} rows in {time.perf_counter() - started:.0f} s", flush=True)

    with ThreadPoolExecutor(max_workers=workers if postgres else 1) as pool:
        # SQLite counts verdicts through the corrections' index: built first there.
        jobs = [*(pool.submit(run, s) for s in builds), pool.submit(recount)]
        for done in jobs:
            done.result()
    for statement in restore[len(builds) :]:  # keys lock their tables: one at a time
        run(statement)
    print(f"  rebuilt {len(restore)} indexes and keys: {time.perf_counter() - started:.0f} s", flush=True)
    started = time.perf_counter()
    tables = (*SEEDED, "daily_counts")
    if postgres:
        with engine.begin() as conn:
            for table in SEEDED:
                if table not in ("ticket_bands", "ticket_words"):  # keyed by ticket_id
                    sequence = f"pg_get_serial_sequence('{table}', 'id')"
                    conn.execute(sa.text(f"SELECT setval({sequence}, (SELECT max(id) FROM {table}))"))

        def vacuum(table: str) -> None:
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(sa.text(f"VACUUM ANALYZE {table}"))

        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(vacuum, tables))
    else:
        with engine.begin() as conn:
            conn.execute(sa.text("ANALYZE"))
    print(f"  vacuumed and analysed in {time.perf_counter() - started:.0f} s", flush=True)
    with engine.begin() as conn:  # done: nothing left for a resumed run
        conn.execute(sa.text(f"DROP TABLE {RESTORE}"))
