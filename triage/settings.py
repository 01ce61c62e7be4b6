"""Every setting, declared once: name, default, help. Read from ``TRIAGE_<NAME>`` variables.

The README's settings table is checked against this list by a test.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from triage.errors import BadInput

__all__ = ["SETTINGS", "Setting", "bundled_data", "default_home", "load_settings"]


def _checkout_root() -> Path | None:
    """The source checkout this package runs from, if any (an editable install or PYTHONPATH)."""
    root = Path(__file__).resolve().parent.parent
    return root if (root / "pyproject.toml").is_file() and (root / "data").is_dir() else None


def default_home() -> Path:
    """Where runtime state lives: the checkout itself, else a per-user folder outside site-packages."""
    root = _checkout_root()
    if root is not None:
        return root
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "triage"


def bundled_data() -> Path:
    """The project's data folder as shipped in the package (``triage.data``, mapped from ``data/``)."""
    try:
        found = resources.files("triage.data")
    except ModuleNotFoundError:  # running from a checkout that was never installed
        return Path(__file__).resolve().parent.parent / "data"
    return Path(str(found))


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str
    parse: Callable[[str], Any] = str

    @property
    def env(self) -> str:
        return f"TRIAGE_{self.name.upper()}"


def _bool(text: str) -> bool:
    value = text.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"not a yes/no value: {text!r}")


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "home",
        "",
        "Folder for runtime state (models/ and instance/); empty means the checkout when run from one, "
        "else $XDG_DATA_HOME/triage (~/.local/share/triage).",
    ),
    Setting(
        "data_dir",
        "",
        "Folder with the taxonomy, training messages, tips and dictionaries; empty means the bundled data.",
    ),
    Setting(
        "models_dir",
        "",
        "Folder holding one sub-folder per trained model version; empty means models/ in the home folder.",
    ),
    Setting("model", "", "A model folder to use instead of the active one (for tests and pinning)."),
    Setting("target_precision", 0.95, "Precision the auto-routed share of each head must reach.", float),
    Setting("coverage", 0.90, "Probability that a head's candidate set holds the right label.", float),
    Setting(
        "fallback_department",
        "general_office",
        "Department used when the department head is unsure.",
    ),
    Setting(
        "instance_dir",
        "",
        "Folder for the SQLite database, secret key and runtime files; empty: instance/ in the home folder.",
    ),
    Setting(
        "database_url",
        "",
        "SQLAlchemy URL of the database; empty means SQLite in the instance folder. PostgreSQL: postgresql+psycopg://user@host/db.",
    ),
    Setting(
        "open_intake",
        False,
        "Let anyone call POST /v1/triage, /v1/triage/batch and /v1/tickets without a key (demos).",
        _bool,
    ),
    Setting("max_body_bytes", 1_048_576, "Largest request body accepted; larger gets 413.", int),
    Setting("batch_limit", 500, "Most items in one POST /v1/triage/batch.", int),
    Setting(
        "lookup_rate_limit",
        "30 per minute",
        "Public query-code lookups allowed per client address.",
    ),
    Setting(
        "ratelimit_storage",
        "memory://",
        "Where rate-limit counters live; redis://127.0.0.1:6379 shares them between workers.",
    ),
    Setting(
        "secret_key",
        "",
        "Signs session cookies; empty means a random key kept in the instance folder.",
    ),
    Setting(
        "secure_cookies",
        False,
        "Send the staff pages' session cookie over HTTPS only (turn on behind TLS).",
        _bool,
    ),
    Setting(
        "session_hours", 12.0, "A staff page session ends after this many hours without a request.", float
    ),
    Setting("timezone", "Asia/Shanghai", "Local time zone for working days and due dates."),
    Setting(
        "default_time_limit",
        10,
        "Processing time limit in working days for a category without its own.",
        int,
    ),
    Setting("time_limits", "", "Per-category limits overriding the taxonomy, e.g. tax=5,other=15."),
    Setting("page_size", 50, "Tickets per page in staff listings.", int),
    Setting(
        "trust_proxy",
        False,
        "Take the client address from X-Forwarded-For (only behind a proxy you run).",
        _bool,
    ),
    Setting("log_level", "INFO", "Logging level of the service."),
    Setting(
        "model_reload_seconds",
        2.0,
        "How often each worker checks the registry for a new active model.",
        float,
    ),
    Setting(
        "gate_max_f1_drop",
        0.02,
        "Promotion gate: largest allowed drop of any head's macro-F1.",
        float,
    ),
    Setting(
        "gate_max_recall_drop",
        0.05,
        "Promotion gate: largest allowed drop of any department's recall.",
        float,
    ),
    Setting(
        "review_random_share",
        0.05,
        "Share of confident tickets also sent to review as quality control.",
        float,
    ),
    Setting(
        "repeat_window_days",
        30,
        "Days back a new ticket looks for a near-duplicate open ticket of the same category to link to.",
        int,
    ),
    Setting(
        "repeat_threshold",
        0.6,
        "Jaccard similarity of character 3-grams from which a new ticket counts as a repeat.",
        float,
    ),
    Setting(
        "hotspot_alpha",
        0.01,
        "False discovery rate (Benjamini-Hochberg) at which a volume rise is reported as a hotspot.",
        float,
    ),
    Setting("hotspot_min_count", 5, "Fewest tickets in the window for a hotspot or emerging topic.", int),
)

_BY_NAME = {s.name: s for s in SETTINGS}


def load_settings(
    overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Defaults, then ``TRIAGE_*`` variables, then ``overrides`` (e.g. a test config)."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for s in SETTINGS:
        raw = env.get(s.env)
        if raw is None:
            values[s.name] = s.default
            continue
        try:
            values[s.name] = s.parse(raw)
        except ValueError as exc:
            raise BadInput(f"{s.env}={raw!r} is not valid: {exc}.") from exc
    for key, value in (overrides or {}).items():
        if key.lower() not in _BY_NAME:
            raise BadInput(f"Unknown setting {key!r}.")
        values[key.lower()] = value
    home = Path(values["home"] or default_home())
    values["home"] = str(home)
    values["data_dir"] = values["data_dir"] or str(bundled_data())
    values["models_dir"] = values["models_dir"] or str(home / "models")
    values["instance_dir"] = values["instance_dir"] or str(home / "instance")
    return values
