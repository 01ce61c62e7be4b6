"""Helpers shared by the commands."""

from __future__ import annotations

import logging
import sys
from contextlib import AbstractContextManager
from pathlib import Path

from sqlalchemy.orm import Session

from triage.engine.persist import load_model
from triage.engine.scoring import ServingModel
from triage.errors import BadInput
from triage.service.registry import ensure_active, resolve_model_dir
from triage.settings import Settings, load_settings

log = logging.getLogger("triage")


def say(message: str) -> None:
    """Progress for the person at the terminal (stderr, so stdout stays machine-readable)."""
    print(message, file=sys.stderr, flush=True)


def settings() -> Settings:
    return load_settings()


def existing_file(text: str) -> Path:
    path = Path(text)
    if not path.is_file():
        raise BadInput(f"The file {path} does not exist.")
    return path


def database_session(conf: Settings) -> AbstractContextManager[Session]:
    """A session on the configured database, migrated first (so a fresh machine works)."""
    from triage.storage.db import database_url, migrated_session

    return migrated_session(database_url(conf))


def model_from(folder: str | None, conf: Settings) -> ServingModel:
    """The model in ``folder``, else the active one; trains the default one if none exists."""
    if folder:
        path = Path(folder)
        if not path.is_dir():
            raise BadInput(f"The model folder {path} does not exist.")
        return load_model(path)
    with database_session(conf) as session:
        active = resolve_model_dir(conf, session)
    if active is None:
        from triage.engine.training import train

        say("No trained model yet: training the default model first (about a minute).")
        from triage.cli.progress import progress_bars

        with progress_bars() as progress:
            model, folder_path = train(conf, say=say, progress=progress)
        say(f"Trained {folder_path}.")
        with database_session(conf) as session:
            ensure_active(session, Path(conf.models_dir), "predict")
        return model.serving_
    return load_model(active)
