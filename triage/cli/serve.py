"""triage serve: run the service under gunicorn on the embedded defaults."""

from __future__ import annotations

import argparse

from triage.cli.parsing import command


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser], name: str) -> None:
    p = command(
        sub,
        name,
        help="run the HTTP service (gunicorn)",
        description="Apply database migrations, train the default model if there is none, and serve "
        "the API and staff pages under gunicorn.",
        examples=[
            "triage serve",
            "TRIAGE_OPEN_INTAKE=true triage serve --host 0.0.0.0 --port 8080 --workers 4",
        ],
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on")
    p.add_argument("--port", type=int, default=8000, help="port to listen on (1-65535)")
    p.add_argument("--workers", type=int, default=2, help="worker processes, each with its own model")
    p.add_argument(
        "--threads",
        type=int,
        default=1,
        help="threads per worker: 1 runs sync workers (predictions are CPU-bound, and one request "
        "at a time per worker gave the shortest tail), more runs gthread workers",
    )
    p.add_argument(
        "--preload",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="load the app once before forking, so workers share its memory",
    )
    p.set_defaults(run=run)


def train_in_child() -> None:
    """`triage train` in a process of its own: scikit-learn and the training data never
    enter this process, which becomes the server's master and forks the workers."""
    import subprocess
    import sys

    from triage.errors import TriageError

    if subprocess.run([sys.executable, "-m", "triage", "train"], check=False).returncode:
        raise TriageError(
            "Training the default model failed (its error is above); the service was not started."
        )


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from triage.cli.common import database_session, say
    from triage.cli.server import run_gunicorn
    from triage.errors import BadInput
    from triage.service.registry import active_heads, ensure_active, resolve_model_dir
    from triage.settings import load_settings
    from triage.storage.db import database_url

    if not 1 <= args.port <= 65535:
        raise BadInput(f"--port must be between 1 and 65535, not {args.port}.")
    if args.workers < 1 or args.threads < 1:
        raise BadInput("--workers and --threads must be at least 1.")
    conf = load_settings()
    url = database_url(conf)
    say(f"Database: {url.split('@')[-1]} (applying migrations)")
    with database_session(conf) as session:
        if resolve_model_dir(conf, session) is None:
            say("No trained model yet: training the default model first (about a minute).")
            train_in_child()
        if not conf.model:
            say(f"Active model: {ensure_active(session, Path(conf.models_dir), 'serve')}")
        # Refused now, in one sentence, not as a 500 on the first ticket sent back: a fallback
        # department the model does not have.
        active_heads(conf, session)
    from triage.service.secret_key import secret_key

    secret_key(conf)  # made (or refused) once here, before the workers start
    kind = "sync" if args.threads == 1 else f"gthread, {args.threads} threads each"
    say(f"Serving on http://{args.host}:{args.port} ({args.workers} {kind} workers); docs at /docs/")
    return run_gunicorn(conf, args.host, args.port, args.workers, args.threads, args.preload)
