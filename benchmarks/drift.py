"""What the review loop buys, measured on Haikou's hotline orders month by month.

A throwaway project is set up in a temporary folder whose base data is Haikou's first
months (December 2017 - January 2018). Each later month is routed twice:

- without the loop: by the model trained on the base months only;
- with the loop: by the active model of the project. Every order of the month goes in as a
  ticket (``create_ticket``, as intake does) and a reviewer's verdict with the order's real
  labels is appended (``add_correction``). Then the real retrain path runs
  (``service.retrain.retrain``: base data plus verified corrections, the newest fifth held
  out for the gate) and the candidate goes through the gate (``promote``): when it passes,
  it routes the next month.

Per month: department accuracy, the auto-routed share (tickets not flagged for review) and
the department precision among those.

    .venv/bin/python -m benchmarks.drift [--quick] [--sample 0.3] [--feedback all|review]

``--quick`` takes a stratified-by-month random sample (``--sample``, default 0.3) of every
month; ``--feedback review`` gives back only the labels of the tickets that were flagged
for review (what a team that reviews only the queue would give). Labels: category ->
category, department -> department. The project has no ``kind`` head: request_type is
empty from February on, so no month after the base could give a kind back, and a verdict
that leaves a head out confirms the model's own label (``add_correction``), which retraining
then learns at the correction weight: the kind head trained on its own guesses and the gate
refused every candidate for it (kind macro-F1 -0.18), whatever the department head did.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import shutil
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = next(
    (p / "shared" / "benchmarks" for p in ROOT.parents if (p / "shared" / "benchmarks").is_dir()),
    ROOT.parent / "shared" / "benchmarks",
)
HAIKOU = BENCH / "haikou12345" / "train.csv"
FIRST_ROUTED = "201802"  # December has 15 orders: the base is December and January


def _rows(path: Path, sample: float, seed: int) -> list[dict[str, str]]:
    with open(path, encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["department"]]
    if sample < 1.0:
        rng = random.Random(seed)
        rows = [r for r in rows if rng.random() < sample]
    return rows


def _project(folder: Path, base: Sequence[dict[str, str]]) -> dict[str, Any]:
    """A data folder with the base months as its messages, and the settings pointing at it."""
    from triage.settings import load_settings

    data = folder / "data"
    (data / "messages").mkdir(parents=True)
    shipped = Path(load_settings().data_dir)
    for name in ("userdict.txt", "stopwords.txt"):
        shutil.copy(shipped / name, data / name)
    (data / "taxonomy.json").write_text(json.dumps({"source": "haikou12345", "heads": {}, "fallback": {}}))
    with open(data / "messages" / "base.csv", "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "title", "text", "category", "department"])
        for r in base:
            writer.writerow([r["id"], r["title"], r["text"], r["category"], r["department"]])
    return {
        "data_dir": str(data),
        "models_dir": str(folder / "models"),
        "instance_dir": str(folder / "instance"),
        "database_url": f"sqlite:///{folder / 'drift.db'}",
        "model": "",
        "fallback_department": "",
        "review_random_share": 0.0,
    }


def _measure(predictions: Sequence[dict[str, Any]], rows: Sequence[dict[str, str]]) -> dict[str, float]:
    """Department accuracy (the model's own top label); the share the department head routes
    alone (not below its review threshold) and its precision; the share of whole tickets not
    flagged (category or department unsure)."""
    dept = [p["department"] for p in predictions]
    right = [d.get("suggested", d["label"]) == r["department"] for d, r in zip(dept, rows, strict=True)]
    auto = [not d["needs_review"] for d in dept]
    n_auto = sum(auto)
    return {
        "n": len(rows),
        "accuracy": sum(right) / len(rows),
        "auto_share": n_auto / len(rows),
        "auto_precision": sum(a and r for a, r in zip(auto, right, strict=True)) / max(1, n_auto),
        "ticket_auto_share": sum(not p["needs_review"] for p in predictions) / len(rows),
    }


def run(
    sample: float, feedback: str, force: bool = False, seed: int = 0, say: Any = print
) -> list[dict[str, Any]]:
    from triage.engine.persist import load_model
    from triage.engine.training import train
    from triage.service import registry
    from triage.service.retrain import promote, retrain
    from triage.service.review import add_correction
    from triage.service.tickets import create_ticket
    from triage.settings import load_settings
    from triage.storage.db import migrated_session

    rows = _rows(HAIKOU, sample, seed)
    months = sorted({r["month"] for r in rows if r["month"] >= FIRST_ROUTED})
    base = [r for r in rows if r["month"] < FIRST_ROUTED]
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="drift-") as tmp:
        conf = load_settings(_project(Path(tmp), base))
        started = time.perf_counter()
        static, folder = train(conf, say=lambda _m: None)
        say(
            f"base: {len(base)} orders (Dec 2017 - Jan 2018), "
            f"trained in {time.perf_counter() - started:.0f} s"
        )
        with migrated_session(conf.database_url) as session:
            registry.record(session, folder.name, "initial", "drift")
            for k, month in enumerate(months):
                month_rows = [r for r in rows if r["month"] == month]
                items = [{"text": r["text"], "title": r["title"]} for r in month_rows]
                without = _measure(static.route_many(items), month_rows)
                active = registry.resolve_model_dir(conf, session)
                assert active is not None
                served = load_model(active)
                predictions = served.route_many(items)
                with_loop = _measure(predictions, month_rows)
                result: dict[str, Any] = {
                    "month": month,
                    "without": without,
                    "with": with_loop,
                    "model": active.name,
                }
                results.append(result)
                say(f"{month}: {len(month_rows)} orders, routed by {active.name}")
                for name, m in (("without loop", without), ("with loop", with_loop)):
                    say(
                        f"  {name:<13} department accuracy {m['accuracy']:.3f}, auto-routed "
                        f"{m['auto_share']:.3f} (precision {m['auto_precision']:.3f}), tickets not "
                        f"flagged {m['ticket_auto_share']:.3f}"
                    )
                if k == len(months) - 1:
                    break
                # The month's orders come in as tickets and reviewers give the real labels back.
                known = {h: [str(c) for c in served.heads_[h].classes] for h in served.heads}
                for r, p in zip(month_rows, predictions, strict=True):
                    ticket = create_ticket(
                        session,
                        text=r["text"],
                        title=r["title"] or None,
                        channel="phone",
                        contact={},
                        prediction=p,
                        days=15,
                        tz=conf.timezone,
                    )
                    if feedback == "review" and not p["needs_review"]:
                        continue
                    labels = {"category": r["category"], "department": r["department"]}
                    new = any(lab and lab not in known.get(h, ()) for h, lab in labels.items())
                    add_correction(session, ticket, "reviewer", labels, known, new_label=new)
                started = time.perf_counter()
                model, _ = retrain(conf, session, say=lambda _m: None)
                fit_s = time.perf_counter() - started
                gate_lines: list[str] = []
                passed = promote(conf, session, model.version_, "drift", gate_lines.append, force=force)
                verdict = gate_lines[-1].splitlines()[-1] if gate_lines else ""
                result["retrain"] = {"fit_s": round(fit_s, 1), "promoted": passed, "gate": verdict}
                say(f"  retrained with {month}'s verdicts in {fit_s:.0f} s: {verdict}")
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a sample of every month (see --sample)")
    parser.add_argument("--sample", type=float, default=0.3, help="share of each month with --quick")
    parser.add_argument("--feedback", choices=("all", "review"), default="all")
    parser.add_argument("--force", action="store_true", help="promote every retrained model past the gate")
    parser.add_argument("--json", action="store_true", help="print the results as JSON at the end")
    args = parser.parse_args(argv)
    if not HAIKOU.is_file():
        parser.exit(2, f"{HAIKOU} is not there: the public benchmarks sit beside the checkout.\n")
    sample = args.sample if args.quick else 1.0
    cmd = "python -m benchmarks.drift" + (f" --quick --sample {sample}" if args.quick else "")
    print(f"# {cmd} --feedback {args.feedback}" + (" --force" if args.force else ""))
    results = run(sample, args.feedback, args.force)
    if args.json:
        print(json.dumps(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
