"""triage predict: one JSON prediction per input text, in order."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from triage.cli.parsing import command
from triage.errors import BadInput

BATCH = 256


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser], name: str) -> None:
    p = command(
        sub,
        name,
        help="predict category, department and kind of texts",
        description="Print one JSON prediction per text, in order (texts given first, then --input).",
        examples=[
            'triage predict "小区门口的路灯坏了一个月没人修"',
            "triage predict --input messages.jsonl > predictions.jsonl",
        ],
    )
    p.add_argument("texts", nargs="*", metavar="TEXT", help="texts to classify")
    p.add_argument("--model", metavar="DIR", help="model folder; when left out: the active model")
    p.add_argument("--input", metavar="FILE.jsonl", help="one JSON object per line with text (and title)")
    p.set_defaults(run=run)


def _items(args: argparse.Namespace) -> Iterator[dict[str, Any]]:
    from triage.cli.common import existing_file

    for number, text in enumerate(args.texts, start=1):
        if not text.strip():
            raise BadInput(f"Text {number} is empty.")
        yield {"text": text}
    if args.input:
        path: Path = existing_file(args.input)
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


def run(args: argparse.Namespace) -> int:
    if not args.texts and not args.input:
        raise BadInput("Give texts to classify or --input FILE.jsonl.")
    from triage.cli.common import model_from, settings

    items = list(_items(args))  # validate everything before the (slow) model load
    model = model_from(args.model, settings())
    out = sys.stdout
    for start in range(0, len(items), BATCH):
        for result in model.route_many(items[start : start + BATCH]):
            out.write(json.dumps(result, ensure_ascii=False) + "\n")
    out.flush()
    return 0
