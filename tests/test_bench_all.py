"""The one-run benchmark driver: its step runner and summary (the steps themselves are
benchmark scripts with figures, not tests)."""

from __future__ import annotations

import os
import sys

import pytest

from benchmarks.all import main, run_step, summary


def test_a_step_yields_its_last_json_line():
    code = "print('working'); print('{\"n\": 1}'); print('done')"
    result, took = run_step([sys.executable, "-c", code], dict(os.environ), timeout=60)
    assert result == {"n": 1}
    assert took >= 0


def test_a_failing_or_silent_step_yields_none():
    assert (
        run_step([sys.executable, "-c", "print('{}'); raise SystemExit(3)"], dict(os.environ), 60)[0] is None
    )
    assert run_step([sys.executable, "-c", "print('no json')"], dict(os.environ), 60)[0] is None


def test_a_step_over_its_time_is_stopped():
    code = "import time\nfor i in range(100):\n    print(i, flush=True); time.sleep(0.1)"
    result, took = run_step([sys.executable, "-c", code], dict(os.environ), timeout=0.5)
    assert result is None
    assert took < 5


def test_unknown_steps_are_refused(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--skip", "engine,nonsense"])
    assert exc.value.code == 2
    assert "nonsense" in capsys.readouterr().err


def test_summary_names_each_figure():
    results = {
        "public": [
            {"set": "tipdm", "model": "triage", "accuracy": 0.9, "macro_f1": 0.8, "top3": 0.99, "fit_s": 5}
        ],
        "http": {
            "runs": [
                {
                    "connections": 8,
                    "triage": {
                        "rps": 1200.4,
                        "p50_ms": 6.1,
                        "p99_ms": 18.0,
                        "errors": 0,
                        "worker_cpu_ms": 1.4,
                    },
                    "healthz": {"rps": 2000.0},
                    "triage_to_healthz_rps": 0.6,
                }
            ],
            "memory_preload": {
                "master_rss_mb": 133.9,
                "master_pss_mb": 64.5,
                "worker_rss_mb": [240.1, 241.0],
                "worker_pss_mb": [90.0, 91.0],
            },
            "model": {"load_s_median": 0.37},
            "worker_imports": {"heavy_packages": [], "modules": 1018},
        },
        "training": [{"scale": 1, "rows": 2455, "fit_s": 19.7, "peak_rss_mb": 351, "n_features": 62874}],
    }
    text = "\n".join(summary(results))
    assert "tipdm   triage" in text and "macro-F1 0.800" in text
    assert "c=8" in text and "1200 req/s" in text and "p99 18.0 ms" in text
    assert "memory_preload: master RSS 133.9 MB PSS 64.5 MB, worker RSS [240.1, 241.0] MB" in text
    assert "model load 0.37 s" in text and "worker imports: heavy [], 1018 modules" in text
    assert "training 1x: 2455 rows, fit 19.7 s" in text
