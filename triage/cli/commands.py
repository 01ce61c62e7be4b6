"""Sub-commands of `triage`; each module has add_parser(sub, name) and sets args.run."""

from triage.cli import (
    audit,
    benchmark,
    db,
    evaluate,
    keys,
    models,
    predict,
    report,
    retrain,
    serve,
    tickets,
    train,
)

COMMANDS = {
    "train": train,
    "predict": predict,
    "evaluate": evaluate,
    "benchmark": benchmark,
    "serve": serve,
    "db": db,
    "keys": keys,
    "models": models,
    "retrain": retrain,
    "audit": audit,
    "report": report,
    "tickets": tickets,
}
