"""Every setting, declared once with its type, range, default and help; read from ``TRIAGE_<NAME>``.

Sources, strongest first: the overrides given to :func:`load_settings` (a test config), the
environment, ``./.env`` (the current directory), ``$TRIAGE_HOME/.env`` (the home folder). Every
value is checked at start; all bad ones are refused together in one :class:`BadInput`. The
README's settings table is checked against these declarations by a test.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from triage.errors import BadInput

__all__ = ["ENV_PREFIX", "Settings", "bundled_data", "default_home", "env_files", "load_settings"]

ENV_PREFIX = "TRIAGE_"


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


def env_files() -> tuple[Path, ...]:
    """The ``.env`` files read, weakest first: the home folder's, then the current directory's."""
    home = Path(os.environ.get(f"{ENV_PREFIX}HOME") or default_home())
    return (home / ".env", Path.cwd() / ".env")


def _time_limits(value: Any) -> Any:
    """``tax=5,other=15`` → ``{"tax": 5, "other": 15}`` (a mapping passes through)."""
    if not isinstance(value, str):
        return value
    limits: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in value.split(","))):
        name, sep, days = part.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"expected category=days pairs separated by commas, got {part!r}")
        limits[name.strip()] = days.strip()
    return limits


def _upper(value: Any) -> Any:
    return value.upper() if isinstance(value, str) else value


Share = Annotated[float, Field(gt=0, lt=1)]
Drop = Annotated[float, Field(ge=0, le=1)]
Days = Annotated[int, Field(ge=1)]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


class Settings(BaseSettings):
    """The service's settings: typed, range-checked and frozen once loaded."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_ignore_empty=True,  # TRIAGE_X= means the default, as before
        extra="ignore",  # other TRIAGE_* lines in a shared .env are not ours to refuse
        frozen=True,
        allow_inf_nan=False,
        validate_default=True,
    )

    home: Path = Field(
        Path(),
        description="Folder for runtime state (models/ and instance/); empty means the checkout when run "
        "from one, else $XDG_DATA_HOME/triage (~/.local/share/triage).",
    )
    data_dir: Path = Field(
        Path(),
        description="Folder with the taxonomy, training messages, tips and dictionaries; "
        "empty means the bundled data.",
    )
    models_dir: Path = Field(
        Path(),
        description="Folder holding one sub-folder per trained model version; "
        "empty means models/ in the home folder.",
    )
    model: str = Field("", description="A model folder to use instead of the active one (tests, pinning).")
    target_precision: Share = Field(
        0.95, description="Precision the auto-routed share of each head must reach."
    )
    coverage: Share = Field(
        0.90, description="Probability that a head's candidate set holds the right label."
    )
    fallback_department: str = Field(
        "",
        description="Department used when the department head is unsure and after two send-backs; "
        "empty: the fallback of the model's taxonomy.json, else of the project's (general_office). "
        "Must be one of the active model's departments, or the service does not start.",
    )
    instance_dir: Path = Field(
        Path(),
        description="Folder for the SQLite database, secret key and runtime files; "
        "empty: instance/ in the home folder.",
    )
    database_url: str = Field(
        "",
        description="SQLAlchemy URL of the database; empty means SQLite in the instance folder. "
        "PostgreSQL: postgresql+psycopg://user@host/db.",
    )
    stats_database_url: str = Field(
        "",
        description="SQLAlchemy URL of a read replica that statistics (summary, hotspots, "
        "dashboard) read from; empty: the main database. Never migrated or written here.",
    )
    open_intake: bool = Field(
        False,
        description="Let anyone call POST /v1/triage, /v1/triage/batch "
        "and /v1/tickets without a key (demos).",
    )
    max_body_bytes: int = Field(
        1_048_576, ge=1, description="Largest request body accepted; larger gets 413."
    )
    batch_limit: int = Field(500, ge=1, description="Most items in one POST /v1/triage/batch.")
    lookup_rate_limit: str = Field(
        "30 per minute", description="Public query-code lookups allowed per client address."
    )
    ratelimit_storage: str = Field(
        "memory://",
        description="Where rate-limit counters live; redis://127.0.0.1:6379 shares them between workers.",
    )
    secret_key: str = Field(
        "",
        description="Signs session cookies (at least 32 characters); empty means a random key kept in "
        "the instance folder.",
    )
    secure_cookies: bool = Field(
        False, description="Send the staff pages' session cookie over HTTPS only (turn on behind TLS)."
    )
    session_hours: float = Field(
        12.0, gt=0, description="A staff page session ends after this many hours without a request."
    )
    timezone: str = Field("Asia/Shanghai", description="Local time zone for working days and due dates.")
    default_time_limit: int = Field(
        10, ge=1, description="Processing time limit in working days for a category without its own."
    )
    time_limits: Annotated[
        dict[str, Annotated[int, Field(ge=1)]], NoDecode, BeforeValidator(_time_limits)
    ] = Field(
        default_factory=dict, description="Per-category limits overriding the taxonomy, e.g. tax=5,other=15."
    )
    page_size: int = Field(50, ge=1, le=1000, description="Tickets per page in staff listings.")
    trust_proxy: bool = Field(
        False, description="Take the client address from X-Forwarded-For (only behind a proxy you run)."
    )
    log_level: Annotated[LogLevel, BeforeValidator(_upper)] = Field(
        "INFO", description="Logging level of the service."
    )
    log_format: Literal["text", "json"] = Field(
        "text",
        description="Log lines of `triage serve`: text, or json (one object per line; one access line "
        "per request with its request id).",
    )
    model_reload_seconds: float = Field(
        2.0, gt=0, description="How often each worker checks the registry for a new active model."
    )
    gate_max_f1_drop: Drop = Field(
        0.02,
        description="Promotion gate: largest allowed drop of any head's macro-F1 "
        "(refused only when the drop is also significant, see `gate_alpha`).",
    )
    gate_max_recall_drop: Drop = Field(
        0.05,
        description="Promotion gate: largest allowed drop of any department's recall "
        "(refused only when the drop is also significant, see `gate_alpha`).",
    )
    gate_alpha: Share = Field(
        0.05,
        description="Promotion gate: significance level of the paired tests (per department, "
        "one-sided exact McNemar with Benjamini-Hochberg; per head's macro-F1, paired bootstrap).",
    )
    review_random_share: Drop = Field(
        0.05, description="Share of confident tickets also sent to review as quality control."
    )
    repeat_window_days: int = Field(
        30,
        ge=0,
        description="Days back a new ticket looks for a near-duplicate "
        "open ticket of the same category to link to.",
    )
    repeat_threshold: float = Field(
        0.6,
        gt=0,
        le=1,
        description="Jaccard similarity of character 3-grams from which a new ticket counts as a repeat.",
    )
    hotspot_alpha: Share = Field(
        0.01,
        description="False discovery rate (Benjamini-Hochberg) at which a "
        "volume rise is reported as a hotspot.",
    )
    hotspot_min_count: int = Field(
        5, ge=1, description="Fewest tickets in the window for a hotspot or emerging topic."
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("not a known IANA time zone (e.g. Asia/Shanghai)") from None
        return value

    @field_validator("lookup_rate_limit")
    @classmethod
    def _rate_limit(cls, value: str) -> str:
        from limits import parse_many  # flask-limiter's parser, so the app accepts what passes here

        try:
            parse_many(value)
        except ValueError:
            raise ValueError("not a rate limit such as '30 per minute' or '5/second'") from None
        return value

    @model_validator(mode="before")
    @classmethod
    def _folders(cls, data: Any) -> Any:
        """Empty folders follow the home folder; empty data means the bundled data."""
        if not isinstance(data, dict):
            return data
        values = dict(data)
        home = Path(values.get("home") or default_home())
        values["home"] = home
        values["data_dir"] = values.get("data_dir") or bundled_data()
        values["models_dir"] = values.get("models_dir") or home / "models"
        values["instance_dir"] = values.get("instance_dir") or home / "instance"
        return values

    @classmethod
    def env_name(cls, name: str) -> str:
        return f"{ENV_PREFIX}{name.upper()}"


def _sentence(error: Mapping[str, Any], overrides: Mapping[str, Any]) -> str:
    name = str(error["loc"][0]) if error["loc"] else "?"
    shown = error.get("input")
    if isinstance(shown, dict):  # a model-level error carries the whole input
        shown = shown.get(name, "")
    if isinstance(shown, float) and math.isnan(shown):
        shown = "nan"
    where = f"setting {name!r}" if name in overrides else Settings.env_name(name)
    reason = str(error["msg"]).removeprefix("Value error, ")
    return f"{where}={shown!s} is not valid: {reason[0].lower()}{reason[1:]}."


def load_settings(overrides: Mapping[str, Any] | None = None) -> Settings:
    """Defaults, then ``.env`` files, then ``TRIAGE_*`` variables, then ``overrides`` (a test config).

    Raises :class:`BadInput` naming every bad variable at once.
    """
    given = {key.lower(): value for key, value in (overrides or {}).items()}
    unknown = sorted(set(given) - set(Settings.model_fields))
    if unknown:
        raise BadInput(f"Unknown setting{'s' if len(unknown) > 1 else ''}: {', '.join(map(repr, unknown))}.")
    try:
        return Settings(_env_file=env_files(), **given)  # type: ignore[call-arg]
    except ValidationError as exc:
        sentences = [_sentence(e, given) for e in exc.errors(include_url=False)]
        raise BadInput(" ".join(sentences)) from None
