"""Logging for `triage serve`: plain text or one JSON object per line, each with a request id.

Only entry points configure handlers (this module, called by the server); every other module
logs through ``logging.getLogger(__name__)``.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from triage.web.requestid import current

__all__ = ["TEXT_FORMAT", "RequestIdFilter", "configure", "formatter"]

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"
_JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(message)s %(process)d"
_RENAMED = {"asctime": "time", "levelname": "level", "name": "logger", "process": "pid"}


class RequestIdFilter(logging.Filter):
    """Stamps each record with the id of the request it happened in (``-`` outside one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):  # the access log passes the id it read itself
            record.request_id = current()
        return True


def formatter(log_format: str) -> logging.Formatter:
    if log_format == "json":
        from pythonjsonlogger.json import JsonFormatter

        return JsonFormatter(_JSON_FIELDS, rename_fields=_RENAMED, json_ensure_ascii=False)
    return logging.Formatter(TEXT_FORMAT)


def configure(level: str, log_format: str, handlers: list[Any] | None = None) -> None:
    """The root logger to stderr (or ``handlers``) in ``log_format``, every line with its id."""
    chosen = handlers or [logging.StreamHandler(sys.stderr)]
    for handler in chosen:
        handler.setFormatter(formatter(log_format))
        handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    root.handlers[:] = chosen
    root.setLevel(level)
