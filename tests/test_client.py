"""A Python client generated from a running server's /openapi.json by openapi-python-client,
then used against that server: intake, the public lookup and a correction, through the
client's typed response objects. Generation runs offline, its ruff hooks included."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from serving import new_key, triage_serve

from triage.service.codes import new_code

pytestmark = pytest.mark.slow

PACKAGE = "triage_client"
DEAD_PROXY = "http://127.0.0.1:9"  # the discard port: nothing listens, any fetch fails


@pytest.fixture()
def served(tiny_model_dir, tmp_path):
    with triage_serve(tiny_model_dir, tmp_path / "home", workers=1) as server:
        yield server


def generate(spec: Path, out: Path) -> str:
    """Run the generator as a user would, with its default post-hooks (ruff check --fix,
    ruff format) found on PATH, every proxy pointing nowhere, and warnings as failures."""
    bin_dir = str(Path(sys.executable).parent)
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        **{name: DEAD_PROXY for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")},
        **{name.lower(): DEAD_PROXY for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")},
        "NO_PROXY": "",
        "no_proxy": "",
    }
    config = spec.with_name("client.yml")
    config.write_text(f"package_name_override: {PACKAGE}\nproject_name_override: triage-client\n")
    done = subprocess.run(
        [
            str(Path(bin_dir) / "openapi-python-client"),
            "generate",
            "--path",
            str(spec),
            "--config",
            str(config),
            "--meta",
            "none",
            "--output-path",
            str(out),
            "--fail-on-warning",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "Warning" not in output and "Error" not in output, output
    return output


@pytest.fixture()
def client_package(served, tmp_path, monkeypatch):
    with urllib.request.urlopen(f"{served.base}/openapi.json", timeout=10) as r:
        spec = tmp_path / "openapi.json"
        spec.write_bytes(r.read())
    generate(spec, tmp_path / "gen" / PACKAGE)
    monkeypatch.syspath_prepend(str(tmp_path / "gen"))
    yield
    for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
        del sys.modules[name]


def test_generated_client_runs_intake_lookup_and_a_correction(served, client_package):
    from triage_client import AuthenticatedClient, Client
    from triage_client.api.review import correct
    from triage_client.api.tickets import create_ticket, lookup_ticket
    from triage_client.models import (
        CorrectionIn,
        CorrectionOut,
        Problem,
        PublicTicket,
        TicketCreated,
        TicketIn,
        TicketInChannel,
    )

    # Any status the description does not list raises, so this also checks the description.
    def authed(role: str) -> AuthenticatedClient:
        return AuthenticatedClient(
            served.base, token=new_key(served.database_url, role), raise_on_unexpected_status=True
        )

    public = Client(served.base, raise_on_unexpected_status=True)

    text = "食品经营许可证现场核查约了两周还没人来，窗口电话也打不通"
    created = create_ticket.sync(
        client=authed("intake"), body=TicketIn(text=text, channel=TicketInChannel.PHONE)
    )
    assert isinstance(created, TicketCreated)
    assert re.fullmatch(r"[0-9A-Z]{5}-[0-9A-Z]{5}-[0-9A-Z]{5}", created.code)
    assert created.status.value == "received"
    assert created.due_at.tzinfo is not None  # parsed into a datetime, not left a string
    predicted = created.routing.department.label
    assert 0 < created.routing.department.confidence <= 1

    found = lookup_ticket.sync(code=created.code.lower(), client=public)  # codes are case-free
    assert isinstance(found, PublicTicket)
    assert found.code == created.code
    assert [event.status for event in found.history] == ["received"]
    assert found.department["id"] == predicted

    other = created.routing.department.alternatives[0].label
    assert other != predicted
    verdict = correct.sync(
        code=created.code, client=authed("reviewer"), body=CorrectionIn(department=other, note="not theirs")
    )
    assert isinstance(verdict, CorrectionOut)
    assert verdict.correction.changed == ["department"]
    assert verdict.correction.verified.department == other
    assert verdict.correction.predicted["department"] == predicted
    assert verdict.routing.department == other

    again = lookup_ticket.sync(code=created.code, client=public)
    assert isinstance(again, PublicTicket) and again.department["id"] == other

    # Errors arrive as typed problems too.
    refused = correct.sync_detailed(code=created.code, client=public, body=CorrectionIn(department=other))
    assert refused.status_code == 401
    assert isinstance(refused.parsed, Problem) and refused.parsed.status == 401
    missing = lookup_ticket.sync(code=new_code(), client=public)
    assert isinstance(missing, Problem) and missing.status == 404
