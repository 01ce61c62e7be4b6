"""Bring your own data, end to end, as a city hotline would: its work-order export (Haikou
12345, ../shared/benchmarks/haikou12345/train.csv, read in place) saved as office software
saves it: a GB18030 CSV with Chinese column names, and an .xlsx. Trains on each with the
column options, checks the two models agree, prints the cross-validated figures and the
share auto-routed at 95% precision, then serves the model and runs intake -> review queue ->
correction -> send-back -> retrain -> gate -> stats -> export over HTTP and the command line.

Everything is written under a temporary folder (removed at the end; ``--keep DIR`` keeps it);
the database is SQLite there. Training on all 12.6k rows takes a few minutes per model on
two cores (three models: CSV, .xlsx, the retrained one); ``--rows N`` takes the first N.

    .venv/bin/python -m benchmarks.byod [--rows N] [--keep DIR]
"""

from __future__ import annotations

import argparse
import csv
import http.client
import io
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.harness import Client, Server, cli, make_key  # noqa: E402
from triage.engine.training import in_holdout  # noqa: E402

# ../shared/benchmarks beside the main checkout; a worktree sits one level deeper.
SOURCE = next(
    (
        p / "shared" / "benchmarks" / "haikou12345" / "train.csv"
        for p in ROOT.parents
        if (p / "shared" / "benchmarks" / "haikou12345").is_dir()
    ),
    ROOT.parent / "shared" / "benchmarks" / "haikou12345" / "train.csv",
)
# The export's columns as a Chinese office would name them.
HEADERS = {
    "id": "工单编号",
    "title": "标题",
    "text": "诉求内容",
    "category": "问题分类",
    "category_l2": "二级分类",
    "taxonomy": "分类口径",
    "department": "承办单位",
    "request_type": "诉求类型",
    "month": "月份",
}
MAPPING = [
    "--text", "诉求内容", "--title", "标题", "--id", "工单编号",
    "--head", "department=承办单位", "--head", "category=问题分类",
]  # fmt: skip
INTAKE = 40  # tickets sent in
CORRECTIONS = 12  # verified by a reviewer: at least 10, so the gate holds the latest out


def step(title: str) -> None:
    print(f"\n== {title}", flush=True)


def export_files(rows: list[dict[str, str]], folder: Path) -> tuple[Path, Path]:
    """The rows as a GB18030 CSV and as an .xlsx, both with the Chinese column names."""
    from openpyxl import Workbook

    names = list(HEADERS.values())
    csv_path = folder / "海口工单.csv"
    with open(csv_path, "w", encoding="gb18030", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(names)
        writer.writerows([r[k] for k in HEADERS] for r in rows)
    book = Workbook(write_only=True)
    sheet = book.create_sheet("工单")
    sheet.append(names)
    for r in rows:
        sheet.append([r[k] for k in HEADERS])
    xlsx_path = folder / "海口工单.xlsx"
    book.save(xlsx_path)
    return csv_path, xlsx_path


def timed_cli(env: dict[str, str], *args: str) -> tuple[str, float]:
    started = time.perf_counter()
    out = cli(env, *args, timeout=3600)
    return out, time.perf_counter() - started


def figures(card: dict[str, Any]) -> list[str]:
    lines = []
    for head, info in card["heads"].items():
        m, review = info["metrics"], info["review"]
        lines.append(
            f"{head:<11} {len(info['labels']):>3} labels  cv accuracy {m['accuracy']:.3f}  macro-F1 "
            f"{m['macro_f1']:.3f}  top-3 {m['top3']:.3f}  auto-routed {review['coverage']:.1%} at "
            f"precision {review['precision']:.3f} (target {review['target_precision']:.2f})"
        )
    return lines


def download(port: int, path: str, key: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        conn.request("GET", path, headers={"Authorization": f"Bearer {key}"})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def check(ok: bool, what: str, detail: object = "") -> None:
    """Print ``what`` (and, when it failed, ``detail``); a failure ends the drill."""
    print(f"  {'ok ' if ok else 'FAIL'} {what}", flush=True)
    if not ok:
        raise SystemExit(f"drill failed: {what}: {str(detail)[:800]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, help="only the first N rows of the export")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it")
    args = parser.parse_args(argv)
    if not SOURCE.is_file():
        raise SystemExit(f"{SOURCE} not found: the shared benchmarks folder is needed")
    folder = args.keep or Path(tempfile.mkdtemp(prefix="byod-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        run(folder, args.rows)
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


def run(folder: Path, limit: int | None) -> None:
    with open(SOURCE, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))[:limit]
    step(f"1. the export: {len(rows)} work orders, {len({r['department'] for r in rows})} handling units")
    csv_path, xlsx_path = export_files(rows, folder)
    print(f"  {csv_path.name} (GB18030, {csv_path.stat().st_size / 1e6:.1f} MB), {xlsx_path.name}")
    env = {
        **os.environ,
        "TRIAGE_MODELS_DIR": str(folder / "models"),
        "TRIAGE_INSTANCE_DIR": str(folder / "instance"),
        "TRIAGE_MODEL_RELOAD_SECONDS": "2",
    }
    for name in ("TRIAGE_MODEL", "TRIAGE_DATABASE_URL", "TRIAGE_FALLBACK_DEPARTMENT"):
        env.pop(name, None)

    step("2. train on each file (the CSV's model becomes the active one)")
    command = ["train", "--data", str(csv_path), *MAPPING]
    print("  triage train --data " + " ".join([csv_path.name, *MAPPING]))
    out, csv_s = timed_cli(env, *command)
    active = Path(out.strip().splitlines()[0])
    xlsx_dir = folder / "xlsx-model"
    _, xlsx_s = timed_cli(env, "train", "--data", str(xlsx_path), *MAPPING, "--out", str(xlsx_dir))
    print(f"  trained in {csv_s:.0f} s (CSV) and {xlsx_s:.0f} s (.xlsx), process start included")
    card = json.loads((active / "card.json").read_text(encoding="utf-8"))
    other = json.loads((xlsx_dir / "card.json").read_text(encoding="utf-8"))
    taxonomy = json.loads((active / "taxonomy.json").read_text(encoding="utf-8"))
    check(card["data"][0]["encoding"] == "gb18030", "the CSV was read as GB18030")
    for head in ("department", "category"):
        check(
            card["heads"][head]["labels"] == other["heads"][head]["labels"], f"same {head} labels from both"
        )
        m, n = card["heads"][head]["metrics"], other["heads"][head]["metrics"]
        same = all(abs(m[k] - n[k]) < 1e-6 for k in ("accuracy", "macro_f1", "top3"))
        check(same, f"same cross-validated {head} accuracy, macro-F1 and top-3 from both")
    sample = [r["text"] for r in random.Random(0).sample(rows, min(300, len(rows)))]
    a = [json.loads(x) for x in cli(env, "predict", "--model", str(active), *sample).splitlines()]
    b = [json.loads(x) for x in cli(env, "predict", "--model", str(xlsx_dir), *sample).splitlines()]
    agree = sum(x["department"]["label"] == y["department"]["label"] for x, y in zip(a, b, strict=True))
    check(agree == len(sample), f"the two models route {agree}/{len(sample)} sample texts alike")
    fallback = taxonomy["fallback"]["department"]
    print(f"  taxonomy.json: fallback department {fallback}; {card['holdout']['rows']} rows held out")

    step("3. figures (cross-validated on the training part; the card's)")
    for line in figures(card):
        print("  " + line)

    step("4. serve it, and send tickets in")
    intake = make_key(env, "intake")
    reviewer = make_key(env, "reviewer")
    with Server(env, workers=1) as server:
        staff = Client(server.port, {"Authorization": f"Bearer {reviewer}"}, timeout=120)
        desk = Client(server.port, {"Authorization": f"Bearer {intake}"}, timeout=60)
        # Messages from the held-out tenth: texts no model here was trained on.
        held = [r for r in rows if in_holdout(r["id"])]
        picked = random.Random(1).sample(held, min(INTAKE, len(held)))
        tickets = []
        for r in picked:
            status, body, _ = desk.call("POST", "/v1/tickets", {"text": r["text"], "channel": "web"})
            if status != 201:
                check(False, "intake answers 201", (status, body))
            tickets.append((body["code"], r, body["routing"]))
        routed = sum(t[2]["department"]["label"] == t[1]["department"] for t in tickets)
        check(
            len(tickets) == len(picked),
            f"{len(tickets)} held-out messages stored as tickets; {routed} routed at intake to the unit "
            "that handled them (an unsure one goes to the fallback unit and the review queue)",
        )
        check(all(t[2]["department"]["label"] in card["heads"]["department"]["labels"] for t in tickets),
              "every ticket routed to one of the centre's own units")  # fmt: skip

        step("5. review queue, corrections")
        status, queue, _ = staff.call("GET", "/v1/review/queue?limit=100")
        check(status == 200, "the review queue answers", (status, queue))
        waiting = {item["code"] for item in queue["items"]}
        print(f"  {len(waiting)} of {len(tickets)} tickets wait for a person")
        verified = 0
        for code, r, _ in tickets[:CORRECTIONS]:
            body = {"department": r["department"], "category": r["category"], "new_label": True}
            status, answer, _ = staff.call("POST", f"/v1/tickets/{code}/corrections", body)
            if status != 201 or answer["routing"]["department"] != r["department"]:
                check(False, f"correction of {code} accepted, and routing follows it", (status, answer))
            verified += 1
        print(f"  {verified} tickets verified with the unit that handled them")

        step("6. send-back (退单)")
        code, r, _ = tickets[-1]
        _, full, _ = staff.call("GET", f"/v1/tickets/{code}/full")
        holder = full["department"]
        unit_key = make_key(env, "department", holder)
        unit = Client(server.port, {"Authorization": f"Bearer {unit_key}"}, timeout=60)
        status, back, _ = unit.call("POST", f"/v1/tickets/{code}/return", {"reason": "不属于本单位职责"})
        check(status == 201, f"{holder} sends {code} back", (status, back))
        check(back["routed_to"] != holder, f"re-routed from {holder} to {back['routed_to']}")

        step("7. retrain on the export plus the corrections, through the gate")
        command = ["retrain", "--data", str(csv_path), *MAPPING]
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "triage", *command],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=3600,
        )
        seconds = time.perf_counter() - started
        verdict = {0: "promoted", 4: "refused by the gate (the active model stays)"}.get(done.returncode)
        check(verdict is not None, "retrain exits 0 or 4", (done.returncode, done.stderr[-800:]))
        gate_lines = [
            ln for ln in done.stderr.splitlines() if "gate" in ln.lower() or "compared" in ln.lower()
        ]
        print(f"  retrained in {seconds:.0f} s: {verdict}")
        for line in gate_lines[:4]:
            print("  | " + line)
        if done.returncode == 0:
            new = done.stdout.strip().splitlines()[-1]
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                _, model, _ = staff.call("GET", "/v1/model")
                if model.get("version") == new:
                    break
                time.sleep(1)
            check(model.get("version") == new, f"the server now serves {new}")

        step("8. stats")
        status, summary, _ = staff.call("GET", "/v1/stats/summary")
        check(status == 200, "the stats summary answers", (status, summary))
        counts = summary["counts"]
        check(summary["total"] == len(tickets), f"{summary['total']} tickets counted")
        units = counts.get("department") or {}
        check(bool(units) and set(units) <= set(taxonomy["heads"]["department"]["labels"]),
              f"counted by the centre's units: {json.dumps(units, ensure_ascii=False)[:200]}")  # fmt: skip
        print(f"  live accuracy: {json.dumps(summary['live_accuracy'], ensure_ascii=False)[:300]}")

        step("9. export")
        for fmt in ("csv", "xlsx"):
            status, raw = download(server.port, f"/v1/tickets/export?format={fmt}", reviewer)
            check(status == 200, f"the export as {fmt} answers", (status, raw[:300]))
            if fmt == "csv":
                check(raw.startswith(b"\xef\xbb\xbf"), "the CSV starts with the BOM Excel needs")
                text = raw.decode("utf-8-sig")
                exported = list(csv.reader(io.StringIO(text)))
                check(len(exported) - 1 == len(tickets), f"{len(exported) - 1} tickets in the CSV export")
                check(any(r["department"] in text for _, r, _ in tickets), "the units' Chinese names in it")
            else:
                check(raw[:2] == b"PK", f"an .xlsx of {len(raw)} bytes")
    step("done")
    counts = Counter(r["department"] for r in rows)
    print(f"  {len(rows)} rows, {len(counts)} units; drill passed")


if __name__ == "__main__":
    sys.exit(main())
