"""The real thing: `triage serve` under gunicorn on a free loopback port."""

import json
import urllib.error
import urllib.request

import pytest
from serving import triage_serve

pytestmark = pytest.mark.slow  # gunicorn


@pytest.fixture()
def server(tiny_model_dir, tmp_path):
    with triage_serve(tiny_model_dir, tmp_path, TRIAGE_OPEN_INTAKE="true") as served:
        yield served.base


def post(url: str, body: dict) -> tuple[int, dict]:
    req = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_gunicorn_serves_intake_and_lookup(server):
    status, body = post(f"{server}/v1/tickets", {"text": "窗口排队两个小时，太慢了"})
    assert status == 201
    with urllib.request.urlopen(f"{server}/v1/tickets/{body['code']}", timeout=10) as r:
        assert json.loads(r.read())["status"] == "received"
    status, problem = post(f"{server}/v1/triage", {"text": ""})
    assert status == 400 and problem["errors"][0]["field"] == "text"
    with urllib.request.urlopen(f"{server}/metrics", timeout=10) as r:
        metrics = r.read().decode()
    # Summed over both workers: the two POSTs above are both counted, whichever served them.
    assert 'endpoint="tickets.create_ticket",method="POST",status="201"} 1.0' in metrics
    assert 'endpoint="triage.triage_one",method="POST",status="400"} 1.0' in metrics
