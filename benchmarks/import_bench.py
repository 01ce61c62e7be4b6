"""`triage tickets import` at scale: a CSV of N past tickets recombined from the real
sentences of ../shared/benchmarks/haikou12345/train.csv (read in place; the CSV is a temporary
file), imported into a fresh PostgreSQL schema (or SQLite) by the command a centre runs.
Prints rows/s, total time, the import's peak RSS and the command.

    .venv/bin/python -m benchmarks.import_bench --rows 1000000 [--sqlite] [--keep-csv DIR]
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from contextlib import nullcontext
from datetime import datetime, timedelta
from pathlib import Path

from .harness import PG_URL, pg_schema, rss_mb
from .training_scale import BENCH

SOURCE = BENCH / "haikou12345" / "train.csv"
HEADER = ["工单编号", "受理时间", "标题", "诉求内容", "类别", "承办单位", "状态"]
STATUSES = ["已办结"] * 17 + ["处理中", "已受理", "已答复"]
_CLAUSE = re.compile(r"[^，。；！？,;!?]+[，。；！？,;!?]?")


def generate(path: Path, n: int, seed: int = 7) -> None:
    """N rows: each a real message with a clause of another message of the same category
    added and a number varied, a time within the last year, and the real labels."""
    with open(SOURCE, encoding="utf-8-sig", newline="") as fh:
        base = [r for r in csv.DictReader(fh) if r["text"].strip() and r["department"].strip()]
    by_category: dict[str, list[str]] = {}
    for r in base:
        by_category.setdefault(r["category"], []).extend(_CLAUSE.findall(r["text"]))
    rng = random.Random(seed)
    start = datetime(2025, 12, 1)
    step = 365 * 86400 / n
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        for i in range(n):
            r = base[rng.randrange(len(base))]
            extra = rng.choice(by_category[r["category"]]) if by_category.get(r["category"]) else ""
            text = f"{r['text']}{extra}（第{rng.randrange(1, 500)}号楼）"
            at = start + timedelta(seconds=i * step + rng.random() * step)
            writer.writerow(
                [
                    f"HK{i:08d}",
                    at.strftime("%Y-%m-%d %H:%M:%S"),
                    r["title"],
                    text,
                    r["category"],
                    r["department"],
                    rng.choice(STATUSES),
                ]
            )


def cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def watched(command: list[str], env: dict[str, str]) -> tuple[float, float, subprocess.CompletedProcess[str]]:
    """Run ``command``: seconds, the peak of the summed RSS of it and its children (MB,
    sampled every 0.2 s; pages shared after a fork counted in each), and what it printed."""
    started = time.perf_counter()
    with (
        tempfile.TemporaryFile("w+") as err,
        subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=err, text=True) as proc,
    ):
        peak = 0.0
        while proc.poll() is None:
            tree = [proc.pid, *_children(proc.pid)]
            peak = max(peak, sum(map(_rss, tree)))
            time.sleep(0.2)
        took = time.perf_counter() - started
        err.seek(0)
        return took, peak, subprocess.CompletedProcess(command, proc.returncode, "", err.read())


def _rss(pid: int) -> float:
    try:
        return rss_mb(pid)
    except IndexError:  # exiting: no memory left to count
        return 0.0


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--sqlite", action="store_true", help="SQLite instead of PostgreSQL")
    parser.add_argument("--database-url", default=PG_URL, help="PostgreSQL server (a throwaway schema)")
    parser.add_argument(
        "--export",
        type=lambda v: [f for f in v.split(",") if f],
        default=["csv"],
        help="after importing, time `triage tickets export` in these formats (csv,xlsx; empty: none)",
    )
    args = parser.parse_args(argv)
    print(
        "command: python -m benchmarks.import_bench " + " ".join(argv if argv is not None else sys.argv[1:])
    )
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        data = work / "orders.csv"
        started = time.perf_counter()
        generate(data, args.rows)
        size = data.stat().st_size / 1e6
        print(f"generated {args.rows} rows ({size:.0f} MB) in {time.perf_counter() - started:.0f} s")
        command = [
            sys.executable,
            "-m",
            "triage",
            "tickets",
            "import",
            str(data),
            "--text",
            "诉求内容",
            "--title",
            "标题",
            "--head",
            "category=类别",
            "--head",
            "department=承办单位",
            "--created-at",
            "受理时间",
            "--status",
            "状态",
            "--id",
            "工单编号",
        ]
        where = (
            nullcontext(f"sqlite:///{work / 'import.db'}")
            if args.sqlite
            else pg_schema(args.database_url, "imp")
        )
        with where as url:
            env = {
                **os.environ,
                "TRIAGE_DATABASE_URL": url,
                "TRIAGE_INSTANCE_DIR": str(work / "instance"),
                "TRIAGE_MODELS_DIR": str(work / "models"),
            }
            print("$ triage " + " ".join(command[3:]).replace(str(data), "orders.csv"))
            for label in ("first run", "second run (nothing new)"):
                cpu_before = cpu_of_children()
                took, peak, done = watched(command, env)
                if done.returncode != 0:
                    print(done.stderr[-2000:])
                    return done.returncode
                cpu = cpu_of_children() - cpu_before
                print(f"{label}: {done.stderr.strip().splitlines()[0]}")
                print(
                    f"  CPU of the import's processes {cpu:.0f} s; load average now {os.getloadavg()[0]:.1f}"
                )
                print(
                    f"  {took:.0f} s, {args.rows / took:,.0f} rows/s, peak RSS {peak:.0f} MB (its processes)"
                )
            for fmt in args.export:
                out = work / f"export.{fmt}"
                export = [sys.executable, "-m", "triage", "tickets", "export", "--output", str(out)]
                took, peak, done = watched(export, env)
                if done.returncode != 0:
                    print(done.stderr[-2000:])
                    return done.returncode
                print(
                    f"$ triage tickets export --output export.{fmt}: {done.stderr.strip().splitlines()[-1]}"
                )
                size = out.stat().st_size / 1e6
                cpu = cpu_of_children() - cpu_before
                print(
                    f"  {took:.0f} s ({cpu:.0f} s CPU), {size:.0f} MB, {args.rows / took:,.0f} rows/s, "
                    f"peak RSS {peak:.0f} MB"
                )
                out.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
