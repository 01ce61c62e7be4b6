"""gunicorn, embedded: `triage serve` runs the app factory in each worker."""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from triage.settings import Settings

__all__ = ["MAX_LOGGED_PATH", "mask_path", "metrics_dir", "run_gunicorn"]

# No query strings, no headers (keys live there): address, method, path, status, size, time,
# request id. With TRIAGE_LOG_FORMAT=json the same fields are one JSON object per line.
ACCESS_LOG_FORMAT = '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms %(r)s'


def run_gunicorn(conf: Settings, host: str, port: int, workers: int, threads: int, preload: bool) -> int:
    from gunicorn.app.base import BaseApplication

    # Each worker writes its Prometheus figures here; /metrics adds them up.
    prom = metrics_dir(Path(conf.instance_dir))
    shutil.rmtree(prom, ignore_errors=True)
    prom.mkdir(parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(prom)

    options = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread" if threads > 1 else "sync",
        "preload_app": preload,
        "timeout": 60,
        "graceful_timeout": 20,
        "keepalive": 5,
        "accesslog": "-",
        "access_log_format": ACCESS_LOG_FORMAT,
        "logger_class": _access_logger(conf.log_format),
        "errorlog": "-",
        "loglevel": conf.log_level.lower(),
        "child_exit": _child_exit,
        "when_ready": _when_ready,
        "post_fork": _post_fork,
        "post_worker_init": _post_worker_init,
        "pre_request": _pre_request,
        # One shared ~/.gunicorn socket would make two servers on one machine collide.
        "control_socket_disable": True,
    }

    class Server(BaseApplication):
        def load_config(self) -> None:
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            from triage.cli.logs import configure
            from triage.web import create_app

            configure(conf.log_level, conf.log_format)
            return create_app()

    master = os.getpid()
    try:
        Server().run()
    finally:
        if os.getpid() == master:  # a worker's exit unwinds through here too
            shutil.rmtree(prom, ignore_errors=True)
    return 0


def metrics_dir(instance_dir: Path) -> Path:
    """The workers' Prometheus files, in memory (/dev/shm) when the machine has it, one folder
    per instance folder. Not in the instance folder: the files are memory-mapped, and when
    that disk filled up every worker died of SIGBUS (benchmarks/fault_disk.py)."""
    shm = Path("/dev/shm")
    base = shm if shm.is_dir() and os.access(shm, os.W_OK) else Path(tempfile.gettempdir())
    tag = hashlib.sha256(str(instance_dir.resolve()).encode()).hexdigest()[:12]
    return base / f"triage-prometheus-{tag}"


# Seven or more digits, maybe split by spaces or dashes: a phone, ID or card number.
# (At most 40 characters apart: bounded, so a path of digits and dashes stays linear.)
_DIGIT_RUN = re.compile(r"(?<!\d)\d(?:[\s-]{0,40}\d){6,}")
#: Logged paths are cut here: the API's own paths are far shorter, and masking a path costs
#: time in proportion to its length, which anyone can choose.
MAX_LOGGED_PATH = 256


#: Paths that masking left as they were (the API's own: /v1/triage, /healthz), so the next
#: request to one is logged without masking it again; nothing personal is kept here.
_CLEAN_PATHS: set[str] = set()
MAX_CLEAN_PATHS = 1000


def mask_path(path: str) -> str:
    """A request path fit for the log: people type phone or ID numbers where a query code
    belongs (GET /v1/tickets/<code>), and the path is logged. A long path is cut (marked
    with an ellipsis) before masking, so an unauthenticated request costs no more than a
    short one."""
    if path in _CLEAN_PATHS:
        return path
    from triage.engine.text import mask

    cut = len(path) > MAX_LOGGED_PATH
    if cut:  # the segment cut in two goes whole: half a number or address is not masked
        path = path[:MAX_LOGGED_PATH].rpartition("/")[0] + "/"
    masked = _DIGIT_RUN.sub("[NUMBER]", mask(path)) + ("…" if cut else "")
    if masked == path and len(_CLEAN_PATHS) < MAX_CLEAN_PATHS:
        _CLEAN_PATHS.add(path)
    return masked


def _access_logger(log_format: str) -> type:
    from gunicorn.glogging import Logger

    from triage.cli.logs import RequestIdFilter, formatter

    class AccessLogger(Logger):
        def setup(self, cfg: Any) -> None:
            super().setup(cfg)
            if log_format == "json":  # gunicorn's own lines too, so every line parses
                for handler in [*self.error_log.handlers, *self.access_log.handlers]:
                    handler.setFormatter(formatter("json"))
                    handler.addFilter(RequestIdFilter())

        def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
            # Only the atoms ACCESS_LOG_FORMAT prints: gunicorn's own builds one per header and
            # environ entry on every request.
            status = resp.status.split(None, 1)[0] if isinstance(resp.status, str) else resp.status
            sent = getattr(resp, "sent", None)
            return {
                "h": environ.get("REMOTE_ADDR", "-"),
                "m": environ.get("REQUEST_METHOD"),
                "U": mask_path(environ.get("PATH_INFO") or ""),
                "s": status,
                "b": "-" if sent is None else str(sent),
                "M": request_time.seconds * 1000 + request_time.microseconds // 1000,
                "r": environ.get("triage.request_id", "-"),
            }

        def access(self, resp: Any, req: Any, environ: Any, request_time: Any) -> None:
            if log_format != "json":
                super().access(resp, req, environ, request_time)
                return
            a = self.atoms(resp, req, environ, request_time)
            fields = {
                "request_id": a["r"],
                "method": a["m"],
                "path": a["U"],
                "status": int(a["s"]),
                "duration_ms": round(request_time.total_seconds() * 1000, 1),
                "bytes": None if a["b"] == "-" else int(a["b"]),
                "client": a["h"],
            }
            self.access_log.info("request", extra=fields)

    return AccessLogger


def _when_ready(server: Any) -> None:
    if server.cfg.preload_app:
        import gc

        # The preloaded model and jieba's dictionary are shared with the workers copy-on-write;
        # frozen objects are never visited by the collector, so their pages stay shared.
        gc.freeze()


def _post_fork(server: Any, worker: Any) -> None:
    app = getattr(server.app, "callable", None)
    if app is not None:
        # A preloaded app's pooled connections belong to the master: each worker opens its own.
        for name in ("triage.db", "triage.stats_db"):
            if name in app.extensions:
                app.extensions[name].engine.dispose(close=False)


def _post_worker_init(worker: Any) -> None:
    # Benchmarks and drills wait for this line to know every worker has loaded its model.
    worker.log.info("worker %s ready", worker.pid)
    # A sync worker that does not report within the timeout is killed; a long export (a
    # million rows) reports after each batch it reads.
    extensions = getattr(worker.wsgi, "extensions", None)
    if isinstance(extensions, dict):
        extensions["triage.heartbeat"] = worker.notify


def _pre_request(worker: Any, req: Any) -> None:
    # gunicorn's own hook logs the raw path at DEBUG; this one masks it like the access log
    # (only when DEBUG is on: masking costs more than the rest of the hook).
    if worker.log.error_log.isEnabledFor(logging.DEBUG):
        worker.log.debug("%s %s", req.method, mask_path(req.path))


def _child_exit(server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
