"""Health, readiness, metrics and the active model's card."""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

from flask import Response
from flask_openapi3 import APIBlueprint, Tag

from triage.engine.persist import read_card
from triage.web.access import access, public
from triage.web.apidoc import operation_id
from triage.web.metrics import metrics_response
from triage.web.problems import problem
from triage.web.schemas import Health, ModelCard, Ready
from triage.web.state import database, models

bp = APIBlueprint("system", __name__, abp_tags=[Tag(name="system")], operation_id_callback=operation_id)
PROMETHEUS_TEXT = {"content": {"text/plain": {"schema": {"type": "string"}}}}


@bp.get("/healthz", responses={200: Health})
@public
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@bp.get("/readyz", responses={200: Ready})
@public
def readyz() -> Any:
    """Ready to serve: a model is loaded and the database answers."""
    holder = models()
    checks = {"model": holder.current is not None, "database": database().ping()}
    if all(checks.values()):
        return {"status": "ready", "model_version": holder.version, "checks": checks}
    failing = ", ".join(k for k, ok in checks.items() if not ok)
    return problem(503, f"Not ready: {failing} unavailable.", headers={"Retry-After": "5"})


@bp.get("/metrics", responses={200: PROMETHEUS_TEXT})
@public
def metrics() -> Response:
    """Prometheus metrics (counts and latencies; nothing personal)."""
    return metrics_response()


@bp.get("/v1/model", security=[{"bearer": []}], responses={200: ModelCard})
@access("intake", "reviewer", "department")
def model_card() -> dict[str, Any]:
    """The active model's card: version, labels, thresholds, cross-validated metrics."""
    holder = models()
    card = read_card(holder.folder) if holder.folder else {}
    return public_card(card)


def public_card(card: dict[str, Any]) -> dict[str, Any]:
    """The card without server paths: data files by name and hash (cards written before
    they stored names only may hold absolute paths)."""
    data = [{**f, "file": PurePath(str(f.get("file", ""))).name} for f in card.get("data", [])]
    return {**card, "data": data} if "data" in card else card
