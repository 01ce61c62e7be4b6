"""gunicorn, embedded: `triage serve` runs the app factory in each worker."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

__all__ = ["run_gunicorn"]


def run_gunicorn(
    conf: dict[str, Any], host: str, port: int, workers: int, threads: int, preload: bool
) -> int:
    from gunicorn.app.base import BaseApplication

    # Each worker writes its Prometheus figures here; /metrics adds them up.
    prom = Path(conf["instance_dir"]) / "prometheus"
    shutil.rmtree(prom, ignore_errors=True)
    prom.mkdir(parents=True, exist_ok=True)
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
        # No query strings, no headers (keys live there): method, path, status, time.
        "access_log_format": '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms',
        "errorlog": "-",
        "loglevel": conf["log_level"].lower(),
        "child_exit": _child_exit,
    }

    class Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            import logging

            from .web import create_app

            logging.basicConfig(
                level=conf["log_level"].upper(),
                format="%(asctime)s %(levelname)s %(name)s: %(message)s",
            )
            return create_app()

    Server().run()
    return 0


def _child_exit(server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
