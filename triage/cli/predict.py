"""triage predict: predictions for texts, a JSONL file, or a centre's CSV or .xlsx, in order."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

from triage.cli.dataopts import add_data_options
from triage.cli.parsing import command
from triage.errors import BadInput

if TYPE_CHECKING:
    from triage.engine.readers import Table
    from triage.engine.scoring import ServingModel

BATCH = 256
TABLES = (".csv", ".xlsx", ".xlsm")


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser], name: str) -> None:
    p = command(
        sub,
        name,
        help="predict the heads of texts",
        description="Predict every head of the model for each text, in order (texts given first, then "
        "--input). Writes one JSON object per text, or with --output a CSV or .xlsx: the input's "
        "columns followed by each head's predicted label, name and confidence.",
        examples=[
            'triage predict "小区门口的路灯坏了一个月没人修"',
            "triage predict --input messages.jsonl > predictions.jsonl",
            "triage predict --input 工单.xlsx --text 诉求内容 --output 预测.xlsx",
        ],
    )
    p.add_argument("texts", nargs="*", metavar="TEXT", help="texts to classify")
    p.add_argument("--model", metavar="DIR", help="model folder; when left out: the active model")
    p.add_argument(
        "--input",
        metavar="FILE",
        help="a .jsonl file (one object with text, and title, per line), or a .csv or .xlsx table",
    )
    p.add_argument("--output", type=Path, metavar="FILE", help="write here (.jsonl, .csv or .xlsx)")
    p.add_argument(
        "--format",
        choices=["jsonl", "csv", "xlsx"],
        help="output format (default: from --output's extension, else jsonl)",
    )
    add_data_options(p, data=None, heads=False, ids=False, rare=False)
    p.set_defaults(run=run)


def _jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with open(path, encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except ValueError as exc:
                raise BadInput(f"Line {number} of {path} is not JSON: {exc}.") from exc
            if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
                raise BadInput(f'Line {number} of {path} has no "text" string.')
            if not obj["text"].strip():
                raise BadInput(f"Line {number} of {path} has an empty text.")
            title = obj.get("title")
            if title is not None and not isinstance(title, str):
                raise BadInput(f"Line {number} of {path} has a title that is not a string.")
            yield {"text": obj["text"], "title": title}


Row = tuple[dict[str, str], str, str]  # (the input row as written, its text, its title)


def _source(args: argparse.Namespace) -> tuple[list[str], Iterator[Row], Table | None]:
    """(the input's columns, its rows, the table to close), checked before the slow model load:
    a JSONL file is read through once to check every line (kept nowhere, so a million lines
    fit), then streamed again; a table is only opened and its columns checked."""
    from triage.cli.common import existing_file

    for number, text in enumerate(args.texts, start=1):
        if not text.strip():
            raise BadInput(f"Text {number} is empty.")
    path = existing_file(args.input) if args.input else None
    if path is None or path.suffix.lower() not in TABLES:
        if args.text or args.titles or args.encoding or args.sheet:
            raise BadInput("--text, --title, --encoding and --sheet describe a .csv or .xlsx --input.")
        if path is not None:
            for _ in _jsonl(path):
                pass

        def given() -> Iterator[Row]:
            for t in args.texts:
                yield {"text": t, "title": ""}, t, ""
            for r in _jsonl(path) if path is not None else ():
                row = {"text": r["text"], "title": r["title"] or ""}
                yield row, row["text"], row["title"]

        return ["text", "title"], given(), None
    from triage.engine.readers import open_table

    table = open_table(path, args.encoding, args.sheet)
    text = args.text or "text"
    table.require(text, "--text")
    titles = args.titles or (["title"] if "title" in table.columns and text != "title" else [])
    for title in titles:
        table.require(title, "--title")

    def rows() -> Iterator[Row]:
        for t in args.texts:  # texts given on the command line go in the text column
            yield {text: t}, t, ""
        for row in table.rows:
            yield row, row[text], "。".join(row[c] for c in titles if row[c])

    return table.columns, rows(), table


def _columns(model: ServingModel, fmt: str, columns: list[str]) -> list[str]:
    if fmt == "jsonl":
        return []
    out = list(columns)
    for head in model.heads_:
        out += [f"predicted_{head}", f"predicted_{head}_name", f"predicted_{head}_confidence"]
    return [*out, "needs_review", "model_version"]


def _flat(row: dict[str, str], result: dict[str, Any] | None) -> dict[str, Any]:
    out: dict[str, Any] = dict(row)
    if result is None:
        return out
    for head, entry in result.items():
        if isinstance(entry, dict) and "label" in entry:
            out[f"predicted_{head}"] = entry["label"]
            out[f"predicted_{head}_name"] = entry["name"]
            out[f"predicted_{head}_confidence"] = entry["confidence"]
    out["needs_review"] = result["needs_review"]
    out["model_version"] = result["model_version"]
    return out


def run(args: argparse.Namespace) -> int:
    from triage.cli.common import model_from, say, settings
    from triage.cli.outputs import Writer, output_format

    if not args.texts and not args.input:
        raise BadInput("Give texts to classify or --input FILE.")
    fmt = output_format(args.output, args.format)
    columns, rows, table = _source(args)  # validate what can be before the (slow) model load
    try:
        model = model_from(args.model, settings())
        skipped = 0
        with Writer(fmt, args.output, _columns(model, fmt, columns)) as out:
            while batch := list(islice(rows, BATCH)):
                results = iter(model.route_many([{"text": t, "title": h} for _, t, h in batch if t]))
                for row, text, _ in batch:
                    result = next(results) if text else None
                    if fmt == "jsonl" and result is not None:
                        out.write(result)
                    elif fmt != "jsonl":
                        out.write(_flat(row, result))  # a row without a text stays, unpredicted
                    skipped += result is None
    finally:
        if table is not None:
            table.close()
    if skipped:
        kept = "left out" if fmt == "jsonl" else "written without a prediction"
        say(f"{skipped} rows have an empty text: {kept}.")
    return 0
