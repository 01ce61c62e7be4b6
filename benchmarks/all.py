"""Every performance figure in one run: the classifier on the public sets beside the
ten-line baseline and fastText, in-process latency, HTTP throughput and worker memory, and
training cost at 1x/2x/4x the data. Each step is its own bounded script; this trains the
default model once, runs them in turn, keeps each one's final JSON line, and prints a summary.

    .venv/bin/python -m benchmarks.all [--skip public,training] [--seconds 10] [--out FILE]

Loopback only. The public step reads ../shared/benchmarks/ in place (about 15 minutes for
TipDM's 5 folds and Haikou); the rest take about 10 minutes together.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from .harness import PYTHON, ROOT, model_env

STEPS = ("public", "engine", "http", "training")


def commands(model: str, seconds: float) -> dict[str, tuple[list[str], float]]:
    """Step -> (command, timeout in seconds)."""
    return {
        "public": ([PYTHON, "training/public_benchmarks.py"], 3 * 3600),
        "engine": ([PYTHON, "benchmarks/engine.py", "--model", model], 1800),
        "http": ([PYTHON, "-m", "benchmarks.http_bench", "--seconds", str(seconds)], 1800),
        "training": ([PYTHON, "-m", "benchmarks.training_bench"], 3600),
    }


def run_step(command: list[str], env: dict[str, str], timeout: float) -> tuple[Any, float]:
    """The step's last JSON line (None if it failed or ran out of time) and its wall time;
    its output streams through."""
    started = time.monotonic()
    last = None
    with subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True) as proc:
        watchdog = threading.Timer(timeout, proc.kill)  # a silent, stuck step is stopped too
        watchdog.start()
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                print(f"  {line}", end="", flush=True)
                if line.lstrip().startswith(("{", "[")):
                    last = line
            proc.wait()
        finally:
            watchdog.cancel()
    took = time.monotonic() - started
    if took >= timeout:
        print(f"  step stopped after {timeout:.0f} s", flush=True)
        return None, took
    if proc.returncode != 0 or last is None:
        return None, took
    return json.loads(last), took


def summary(results: dict[str, Any]) -> list[str]:
    lines = []
    for row in results.get("public") or []:
        lines.append(
            f"{row['set']:<7} {row['model']:<40} accuracy {row['accuracy']:.3f}  macro-F1 "
            f"{row['macro_f1']:.3f}  top-3 {row['top3']:.3f}  fit {row['fit_s']:.1f} s"
        )
    engine = results.get("engine") or {}
    if engine:
        lines.append(
            "predict p50/p99 ms: "
            + ", ".join(
                f"{n} chars {engine[f'route_{n}_chars_p50_ms']}/{engine[f'route_{n}_chars_p99_ms']}"
                for n in (30, 100, 1000)
            )
            + f"; batch {engine['batch_100_chars_texts_per_s']} texts/s; load {engine['load_s_median']} s"
        )
    http = results.get("http") or {}
    for run in http.get("runs", []):
        t, h = run["triage"], run["healthz"]
        lines.append(
            f"HTTP c={run['connections']:<3} /v1/triage {t['rps']:.0f} req/s p50 {t['p50_ms']} p99 "
            f"{t['p99_ms']} ms err {t['errors']:.0f} | /healthz {h['rps']:.0f} req/s | ratio "
            f"{run['triage_to_healthz_rps']} | worker CPU {t['worker_cpu_ms']} ms/request"
        )
    for label in ("memory_after_real_use", "memory_no_preload", "memory_preload"):
        if label in http:
            mem = http[label]
            lines.append(
                f"{label}: master RSS {mem['master_rss_mb']} MB PSS {mem.get('master_pss_mb')} MB, "
                f"worker RSS {mem['worker_rss_mb']} MB, PSS {mem['worker_pss_mb']} MB"
            )
    if "model" in http:
        lines.append(f"model load {http['model']['load_s_median']} s (median of 3 fresh processes)")
    if "worker_imports" in http:
        imports = http["worker_imports"]
        lines.append(
            f"worker imports: heavy {imports.get('heavy_packages')}, {imports.get('modules')} modules"
        )
    for row in results.get("training") or []:
        lines.append(
            f"training {row['scale']}x: {row['rows']} rows, fit {row['fit_s']:.1f} s, "
            f"peak RSS {row['peak_rss_mb']} MB, {row['n_features']} features"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip", default="", help=f"comma-separated steps to leave out of {','.join(STEPS)}")
    parser.add_argument("--seconds", type=float, default=10, help="length of each HTTP step")
    parser.add_argument("--out", type=Path, help="write every step's figures to this JSON file")
    args = parser.parse_args(argv)
    skip = {s for s in args.skip.split(",") if s}
    unknown = skip - set(STEPS)
    if unknown:
        parser.error(f"unknown step(s): {', '.join(sorted(unknown))}; the steps are {', '.join(STEPS)}")
    results: dict[str, Any] = {"loadavg_before": os.getloadavg()}
    with tempfile.TemporaryDirectory(prefix="triage-bench-all-") as tmp:
        env = {**os.environ, **model_env(Path(tmp) / "models")}
        for step, (command, timeout) in commands(env["TRIAGE_MODEL"], args.seconds).items():
            if step in skip:
                continue
            print(f"== {step}: {' '.join(command[1:])}", flush=True)
            results[step], took = run_step(command, env, timeout)
            results[f"{step}_wall_s"] = round(took, 1)
            if results[step] is None:
                print(f"== {step} FAILED (see its output above)", flush=True)
    print("== summary")
    for line in summary(results):
        print(line)
    if args.out:
        args.out.write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    failed = [s for s in STEPS if s not in skip and results.get(s) is None]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
