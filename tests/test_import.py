import json
import os
import subprocess
import sys

from paths import PROJECT_ROOT


def test_importing_the_package_loads_nothing_heavy():
    code = (
        "import sys, triage, triage.cli;"
        "heavy = [m for m in ('jieba', 'sklearn', 'flask', 'sqlalchemy') if m in sys.modules];"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_a_web_worker_serving_every_kind_of_request_imports_no_sklearn_scipy_or_matplotlib(
    tiny_model_dir, tmp_path
):
    """A fresh process creates the app and serves triage, tickets (create, lookup, list),
    stats, hotspots, the review queue, the model card and the dashboard; then its sys.modules
    must hold none of the training or charting libraries (nor jieba: the model carries its
    dictionary)."""
    env = {
        **os.environ,
        "TRIAGE_MODEL": str(tiny_model_dir),
        "TRIAGE_INSTANCE_DIR": str(tmp_path / "instance"),
        "TRIAGE_MODELS_DIR": str(tmp_path / "models"),
    }
    env.pop("TRIAGE_DATABASE_URL", None)
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.serving_probe"],
        capture_output=True,
        text=True,
        env=env,
        cwd=PROJECT_ROOT,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout.strip().splitlines()[-1])
    status = report.pop("status")
    assert status.pop("tickets_create") == 201 and status.pop("sign_in") == 302
    assert status.pop("dashboard_charts") == 5  # drawn in the page as SVG, not fetched as images
    assert status == dict.fromkeys(status, 200) and len(status) == 9
    assert report["heavy"] == []
