"""Helpers shared by the commands."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

from ..errors import BadInput
from ..model import TriageModel
from ..registry import resolve_model_dir
from ..settings import load_settings

log = logging.getLogger("triage")


def say(message: str) -> None:
    """Progress for the person at the terminal (stderr, so stdout stays machine-readable)."""
    print(message, file=sys.stderr, flush=True)


def settings() -> dict[str, Any]:
    return load_settings()


def existing_file(text: str) -> Path:
    path = Path(text)
    if not path.is_file():
        raise BadInput(f"The file {path} does not exist.")
    return path


def model_from(folder: str | None, conf: dict[str, Any]) -> TriageModel:
    """The model in ``folder``, else the active one; trains the default one if none exists."""
    if folder:
        path = Path(folder)
        if not path.is_dir():
            raise BadInput(f"The model folder {path} does not exist.")
        return TriageModel.load(path)
    active = resolve_model_dir(conf)
    if active is None:
        from ..training import train

        say("No trained model yet: training the default model first (about a minute).")
        model, folder_path = train(conf, say=say)
        say(f"Trained {folder_path}.")
        return model
    return TriageModel.load(active)
