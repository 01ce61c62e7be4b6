"""triage audit: the labelled rows most likely mislabelled, from cross-validated probabilities."""

from __future__ import annotations

import argparse

from triage.cli.dataopts import add_data_options
from triage.cli.parsing import add_json, command, print_rows


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser], name: str) -> None:
    p = command(
        sub,
        name,
        help="list training rows that look mislabelled",
        description="Cross-validate on labelled data and list the rows whose given label the model "
        "finds least likely, most suspicious first.",
        examples=["triage audit --limit 10", "triage audit --data mine.csv --json > suspicious.json"],
    )
    add_data_options(p, data="labelled CSV or .xlsx files; when left out: the bundled data/messages/*.csv")
    p.add_argument("--format", choices=["table", "csv"], default="table", help="how to print the rows")
    p.add_argument("--limit", type=int, default=30, help="rows to list")
    add_json(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import csv
    import sys

    from triage.cli.common import say, settings
    from triage.cli.dataopts import data_paths, data_spec
    from triage.engine.audit import suspicious_rows
    from triage.engine.data import read_labelled
    from triage.engine.training import build_model, default_data_files
    from triage.errors import BadInput

    if args.limit < 1:
        raise BadInput("--limit must be at least 1.")
    conf = settings()
    paths = data_paths(args) or default_data_files(conf)
    data = read_labelled(paths, spec=data_spec(args))
    for sentence in data.report.sentences():
        say(sentence)
    say(f"Cross-validating {len(data)} rows ({', '.join(data.labels)}) ...")
    try:
        model = build_model(conf).fit(data.items, data.labels)
    except ValueError as exc:  # a head with a single label
        raise BadInput(f"Cannot cross-validate this data: {str(exc).rstrip('.')}.") from exc
    rows = suspicious_rows(model, data)[: args.limit]
    fields = ["id", "head", "given", "suggested", "p_given", "p_suggested", "text"]
    if args.format == "csv" and not args.json:
        writer = csv.DictWriter(sys.stdout, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    else:
        print_rows(
            [{k: r[k] for k in fields} for r in rows],
            args.json,
            lambda r: (
                f"{r['id']:<28} {r['head']:<10} {r['given']:<22} -> {r['suggested']:<22} "
                f"{r['p_given']:.2f} -> {r['p_suggested']:.2f}  {r['text'][:40]}"
            ),
        )
    say(f"{len(rows)} row(s) listed.")
    return 0
