"""Sub-commands of `triage`; each module has add_parser(sub, name) and sets args.run."""

from . import benchmark, db, evaluate, keys, predict, serve, train

COMMANDS = {
    "train": train,
    "predict": predict,
    "evaluate": evaluate,
    "benchmark": benchmark,
    "serve": serve,
    "db": db,
    "keys": keys,
}
