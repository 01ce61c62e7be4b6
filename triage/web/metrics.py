"""Prometheus metrics. Under gunicorn, `triage serve` sets PROMETHEUS_MULTIPROC_DIR so the
figures of every worker are added up at /metrics."""

from __future__ import annotations

import os
import time
from functools import lru_cache
from typing import Any

from flask import Flask, Response, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

from triage.engine.heads import CATEGORY

__all__ = ["count_request", "count_ticket", "install", "metrics_response", "record_prediction"]

REQUESTS = Counter("triage_http_requests_total", "HTTP requests", ["endpoint", "method", "status"])
LATENCY = Histogram(
    "triage_http_request_seconds",
    "Request latency",
    ["endpoint"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
PREDICTIONS = Counter("triage_predictions_total", "Predictions made", ["category", "needs_review"])
TICKETS = Counter("triage_tickets_created_total", "Tickets created", ["channel"])


# The labelled series, looked up once: ``labels()`` costs more than the count (labels are
# endpoints, statuses and the model's categories, so the caches stay small).
@lru_cache(maxsize=4096)
def _series(metric: Any, *labels: str) -> Any:
    return metric.labels(*labels)


def record_prediction(prediction: dict[str, Any]) -> None:
    # A model without a category head counts under "" (the metric's label set is fixed).
    category = (prediction.get(CATEGORY) or {}).get("label", "")
    _series(PREDICTIONS, category, "true" if prediction["needs_review"] else "false").inc()


def count_ticket(channel: str) -> None:
    TICKETS.labels(channel).inc()


def count_request(endpoint: str, method: str, status: int, started: float | None) -> None:
    """One answered request (``started``: its time.perf_counter() at arrival, if known)."""
    _series(REQUESTS, endpoint, method, str(status)).inc()
    if started is not None:
        _series(LATENCY, endpoint).observe(time.perf_counter() - started)


def install(app: Flask) -> None:
    @app.before_request
    def _start() -> None:
        g.started = time.perf_counter()

    @app.after_request
    def _count(response: Response) -> Response:
        count_request(request.endpoint or "unknown", request.method, response.status_code, g.get("started"))
        return response


def metrics_response() -> Response:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        data = generate_latest(registry)
    else:
        data = generate_latest()
    return Response(data, mimetype=CONTENT_TYPE_LATEST)
