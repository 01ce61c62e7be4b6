"""In-process cost of the engine: model load, predict latency by text length, batch
throughput, memory and folder size. Prints medians (the figure that survives a noisy,
shared machine), not pass/fail.

    .venv/bin/python benchmarks/engine.py [--model DIR] [--repeat 2000]
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

LOAD_PROBE = """
import json, resource, sys, time
t = time.perf_counter()
from triage.engine.persist import load_model
m = load_model(sys.argv[1])
loaded = time.perf_counter() - t
m.route("营业执照怎么办理")
ready = time.perf_counter() - t
rss = int(open('/proc/self/status').read().split('VmRSS:')[1].split()[0]) / 1024
print(json.dumps({"load_s": loaded, "load_and_first_predict_s": ready, "rss_mb": rss}))
"""


def texts_of_length(n: int, corpus: list[str], count: int = 200) -> list[str]:
    out = []
    joined = "。".join(corpus)
    for i in range(count):
        start = (i * 7919) % max(1, len(joined) - n)
        out.append(joined[start : start + n])
    return out


def stages(model: Any, texts: list[str], passes: int = 15) -> dict[str, float]:
    """Where one prediction's time goes, ms per text: each stage timed over all ``texts``, the
    best of ``passes`` (the least disturbed by the rest of a shared machine)."""
    from triage.engine.text import prepare

    fz = model.features
    docs = [prepare(t) for t in texts]
    rows = [fz.transform_one(d) for d in docs]
    scored = [{h: m.scores_one(*r) for h, m in model.heads_.items()} for r in rows]

    def best(step: Any) -> float:
        times = []
        for _ in range(passes):
            started = time.perf_counter()
            for i in range(len(texts)):
                step(i)
            times.append(time.perf_counter() - started)
        return round(1000 * min(times) / len(texts), 3)

    def explain(i: int) -> None:
        s = scored[i]
        model.explain(*rows[i], {h: v[0] for h, v in s.items()}, None, {h: v[1] for h, v in s.items()})

    segment_ngrams = best(lambda i: fz.analyze(docs[i]))
    return {
        "stage_prepare_ms": best(lambda i: prepare(texts[i])),
        "stage_segment_and_ngrams_ms": segment_ngrams,
        "stage_vocabulary_and_tfidf_ms": round(best(lambda i: fz.transform_one(docs[i])) - segment_ngrams, 3),
        "stage_scores_ms": best(lambda i: [m.scores_one(*rows[i]) for m in model.heads_.values()]),
        "stage_reasons_and_object_ms": best(explain),
        "stage_route_ms": best(lambda i: model.route(texts[i])),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="model folder (default: the active model)")
    parser.add_argument("--repeat", type=int, default=2000, help="timed calls per length")
    args = parser.parse_args(argv)

    from triage.service.registry import resolve_model_dir
    from triage.settings import load_settings

    folder = Path(args.model) if args.model else resolve_model_dir(load_settings())
    if folder is None:
        print("No model found: run `triage train` first.", file=sys.stderr)
        return 2
    probes = [
        json.loads(
            subprocess.run(
                [sys.executable, "-c", LOAD_PROBE, str(folder)],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
        for _ in range(3)
    ]
    from triage.engine.persist import load_model

    model = load_model(folder)
    corpus = []
    data_dir = Path(load_settings().data_dir) / "messages"
    for path in sorted(data_dir.glob("*.csv")):
        with open(path, encoding="utf-8") as fh:
            corpus.extend(r["text"] for r in csv.DictReader(fh))
    model.route(corpus[0])  # warm: jieba dictionary, feature-name cache
    figures: dict[str, object] = {
        "model": str(folder),
        "folder_mb": round(sum(p.stat().st_size for p in folder.iterdir()) / 2**20, 2),
        "load_s_median": round(statistics.median(p["load_s"] for p in probes), 3),
        "load_and_first_predict_s_median": round(
            statistics.median(p["load_and_first_predict_s"] for p in probes), 3
        ),
        "process_rss_mb_median": round(statistics.median(p["rss_mb"] for p in probes), 1),
    }
    for n in (30, 100, 1000):
        samples = texts_of_length(n, corpus)
        times = []
        for i in range(args.repeat):
            text = samples[i % len(samples)]
            t = time.perf_counter()
            model.route(text)
            times.append(time.perf_counter() - t)
        times.sort()
        figures[f"route_{n}_chars_p50_ms"] = round(1000 * times[len(times) // 2], 3)
        figures[f"route_{n}_chars_p99_ms"] = round(1000 * times[int(len(times) * 0.99)], 3)
    batch = texts_of_length(100, corpus, 2000)
    t = time.perf_counter()
    model.route_many(batch)
    figures["batch_100_chars_texts_per_s"] = round(len(batch) / (time.perf_counter() - t), 1)
    from triage.engine.text import prepare, tokenize_with

    # The model's own dictionary and stop words.
    words, stopwords = model.features.dictionary, model.features.stopwords
    t = time.perf_counter()
    for text in batch:
        tokenize_with(words, prepare(text), stopwords)
    figures["segmentation_only_100_chars_ms"] = round(1000 * (time.perf_counter() - t) / len(batch), 3)
    figures.update(stages(model, batch[:400]))
    for key, value in figures.items():
        print(f"{key:<40} {value}")
    print(json.dumps(figures, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
