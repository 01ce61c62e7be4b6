"""Training cost at hotline scale: the default model configuration fit on 10k, 100k (and 1M)
rows built by recombining real sentences. Each size runs in its own process and prints rows,
fit seconds, CPU seconds (the counting workers' included), peak RSS (of the process, and of
it with its workers, sampled) and how each head was fit; the load average is printed beside
it (the machine is shared).

Rows come from the public sets, read in place from ../shared/benchmarks/ (Haikou's orders:
department; TipDM's messages: category) and data/messages (both heads). A synthetic row keeps
its source row's labels; its text is that row's sentences in a shuffled order plus one
sentence of another row with the same label, so no two rows are the same text.

    .venv/bin/python -m benchmarks.training_scale [--rows 10000,100000,1000000]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import re
import resource
import subprocess
import sys
import threading
import time
from collections import defaultdict

from .harness import PYTHON, ROOT

# ../shared/benchmarks beside the main checkout; a worktree sits one level deeper.
BENCH = next(
    (p / "shared" / "benchmarks" for p in ROOT.parents if (p / "shared" / "benchmarks").is_dir()),
    ROOT.parent / "shared" / "benchmarks",
)
SOURCES = {  # file -> {head: column}
    BENCH / "haikou12345" / "train.csv": {"department": "department"},
    BENCH / "tipdm2020c" / "train.csv": {"category": "label"},
}
SENTENCE_END = re.compile(r"(?<=[。！？；!?;\n])")


def source_rows() -> list[tuple[str, dict[str, str]]]:
    """(text, {head: label}) of every real row."""
    files = dict(SOURCES)
    for path in sorted((ROOT / "data" / "messages").glob("*.csv")):
        files[path] = {"category": "category", "department": "department"}
    rows = []
    for path, heads in files.items():
        with open(path, encoding="utf-8") as fh:
            for r in csv.DictReader(fh):
                text = ((r.get("title") or "") + "。" + r["text"]).strip("。")
                labels = {h: r[c] for h, c in heads.items() if r.get(c)}
                if text and labels:
                    rows.append((text, labels))
    return rows


def synthetic(n: int, seed: int = 0) -> tuple[list[dict[str, str]], dict[str, list[str | None]]]:
    rng = random.Random(seed)
    rows = source_rows()
    by_label: dict[tuple, list[int]] = defaultdict(list)
    for i, (_, labels) in enumerate(rows):
        by_label[tuple(sorted(labels.items()))].append(i)
    heads = sorted({h for _, labels in rows for h in labels})
    items: list[dict[str, str]] = []
    y: dict[str, list[str | None]] = {h: [] for h in heads}
    for _ in range(n):
        text, labels = rows[rng.randrange(len(rows))]
        sentences = [s for s in SENTENCE_END.split(text) if s]
        rng.shuffle(sentences)
        other = rows[rng.choice(by_label[tuple(sorted(labels.items()))])][0]
        sentences.append(rng.choice([s for s in SENTENCE_END.split(other) if s] or [other]))
        items.append({"text": "".join(sentences)})
        for h in heads:
            y[h].append(labels.get(h))
    return items, y


def _tree_rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` and its children (the counting workers), from /proc."""
    total = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            if int(entry.name) == pid or int(fields[1]) == pid:
                total += int(fields[21])  # rss, in pages
        except (OSError, IndexError, ValueError):
            continue  # gone meanwhile
    return total * os.sysconf("SC_PAGE_SIZE") / 2**20


class PeakMemory(threading.Thread):
    """The largest total resident memory of this process and its children, sampled."""

    def __init__(self, every: float = 0.25) -> None:
        super().__init__(daemon=True)
        self.every, self.peak_mb, self.done = every, 0.0, threading.Event()

    def run(self) -> None:
        while not self.done.wait(self.every):
            self.peak_mb = max(self.peak_mb, _tree_rss_mb(os.getpid()))


def child(n: int) -> dict[str, object]:
    from triage.engine.training import build_model
    from triage.settings import load_settings

    items, y = synthetic(n)
    watch = PeakMemory()
    watch.start()
    started, cpu = time.perf_counter(), time.process_time()
    model = build_model(load_settings()).fit(items, y)
    fit_s, cpu_s = time.perf_counter() - started, time.process_time() - cpu
    watch.done.set()
    workers = resource.getrusage(resource.RUSAGE_CHILDREN)  # the counting workers, ended
    return {
        "rows": n,
        "fit_s": round(fit_s, 1),
        "cpu_s": round(cpu_s + workers.ru_utime + workers.ru_stime, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "peak_tree_mb": round(watch.peak_mb),
        "n_features": model.featurizer_.n_features_,
        "min_df": model.featurizer_.min_df_,
        "heads": {
            h: f"{c['rows']} rows, fit on {c['fit_rows']}, {c['calibration']}" for h, c in model.cv_.items()
        },
        "load_avg_1m": round(os.getloadavg()[0], 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="10000,100000")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child)))
        return 0
    results = []
    for n in args.rows.split(","):
        cmd = [PYTHON, "-m", "benchmarks.training_scale", "--child", n]
        out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True).stdout
        results.append(json.loads(out.strip().splitlines()[-1]))
        print(json.dumps(results[-1]), flush=True)
    print(
        "| rows | fit s | CPU s | CPU s per 1k rows | peak RSS MB (with workers) | features | min_df "
        "| load avg |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        per_k = 1000 * float(r["cpu_s"]) / int(r["rows"])
        print(
            f"| {r['rows']:,} | {r['fit_s']} | {r['cpu_s']} | {per_k:.2f} | {r['peak_rss_mb']} "
            f"({r['peak_tree_mb']}) | {r['n_features']:,} | {r['min_df']} | {r['load_avg_1m']} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
