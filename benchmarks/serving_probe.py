"""What a web worker imports: create the app in a fresh process, serve one request of every
kind through the test client, then print the status of each and the sorted sys.modules.

    .venv/bin/python -m benchmarks.serving_probe   # with TRIAGE_MODEL and TRIAGE_INSTANCE_DIR set

tests/test_import.py runs it to assert that no worker holds scikit-learn, scipy or
matplotlib; benchmarks/http_bench.py reports its figures.
"""

from __future__ import annotations

import json
import re
import sys

HEAVY = ("sklearn", "scipy", "matplotlib", "jieba", "joblib")


def drive(app) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """One request of every kind a worker serves; their status codes by name."""
    from triage.service.keys import create_key

    with app.app_context():
        session = app.extensions["triage.db"].session()
        try:
            keys = {
                role: create_key(session, role, f"probe-{role}")[1]
                for role in ("intake", "reviewer", "admin")
            }
        finally:
            session.close()
    client = app.test_client()

    def auth(role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {keys[role]}"}

    status: dict[str, int] = {}
    text = "食品经营许可证现场核查约了两周还没人来，窗口电话也打不通"
    status["triage"] = client.post("/v1/triage", json={"text": text}, headers=auth("intake")).status_code
    created = client.post("/v1/tickets", json={"text": text, "title": "核查"}, headers=auth("intake"))
    status["tickets_create"] = created.status_code
    code = created.get_json().get("code", "none")
    status["tickets_lookup"] = client.get(f"/v1/tickets/{code}").status_code
    status["tickets_list"] = client.get("/v1/tickets", headers=auth("reviewer")).status_code
    status["stats_summary"] = client.get("/v1/stats/summary", headers=auth("reviewer")).status_code
    status["hotspots"] = client.get("/v1/stats/hotspots", headers=auth("reviewer")).status_code
    status["review_queue"] = client.get("/v1/review/queue", headers=auth("reviewer")).status_code
    status["model_card"] = client.get("/v1/model", headers=auth("admin")).status_code
    page = client.get("/sign-in").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    signed = client.post(
        "/sign-in", data={"key": keys["reviewer"], "csrf_token": token.group(1) if token else ""}
    )
    status["sign_in"] = signed.status_code
    dashboard = client.get("/dashboard")
    status["dashboard"] = dashboard.status_code
    status["dashboard_charts"] = len(re.findall(r"<svg", dashboard.get_data(as_text=True)))
    status["review_page"] = client.get("/review").status_code
    return status


def main() -> int:
    from triage.web import create_app

    app = create_app()
    status = drive(app)
    app.extensions["triage.db"].dispose()
    modules = sorted(sys.modules)
    print(
        json.dumps(
            {
                "status": status,
                "heavy": [m for m in modules if m.split(".")[0] in HEAVY],
                "modules": len(modules),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
