"""Schemathesis against /openapi.json, in process, for every operation: generated parameters
and bodies, both valid and invalid ones, sent with an admin key so protected operations run
their code and the request validation meets whatever schemathesis makes up. No 5xx, and every
response is what the spec documents: status code, content type, headers and body schema."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

pytestmark = pytest.mark.slow  # hundreds of generated requests

EXAMPLES = 20  # per operation and mode, fixed seed: the whole file takes well under a minute


@pytest.fixture()
def fuzz_app(make_app, tiny_model_dir, tmp_path):
    from triage.service.keys import create_key

    app = make_app(
        {
            "database_url": f"sqlite:///{tmp_path / 'fuzz.db'}",
            "model": str(tiny_model_dir),
            "instance_dir": str(tmp_path / "instance"),
            "secret_key": "test-secret-key-of-32-characters",
            "lookup_rate_limit": "100000 per minute",
            "review_random_share": 1.0,  # every seeded ticket waits in the review queue
        }
    )
    session = app.extensions["triage.db"].session()
    _, secret = create_key(session, "admin", "fuzz")
    session.close()
    headers = {"Authorization": f"Bearer {secret}"}
    # A few tickets, so listings and the review queue answer with items to check, not [] only.
    for text in ("有个事情想咨询一下，谢谢", "营业执照地址变更要带什么材料", "社保卡丢了怎么补办"):
        assert app.test_client().post("/v1/tickets", json={"text": text}, headers=headers).status_code == 201
    return app, headers


def run_operation(operation, mode: GenerationMode, headers: dict[str, str]) -> None:
    # A code of the documented form may still fail its check symbol, and a head name of the
    # documented form may not be a head of the served model: 400 there is by design.
    by_design = "{code}" in operation.path or operation.path == "/v1/review/queue"
    excluded = [positive_data_acceptance] if by_design else []

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def check(case) -> None:
        case.call_and_validate(headers=headers, excluded_checks=excluded)

    check()


def test_every_operation_answers_as_documented(fuzz_app):
    app, headers = fuzz_app
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 12
    failures = {}
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                run_operation(operation, mode, headers)
            except Unsatisfiable:
                continue  # nothing to make invalid: no parameters and no body
            except BaseException as exc:  # schemathesis raises an exception group per failure
                if isinstance(exc, KeyboardInterrupt):
                    raise
                failures[f"{operation.method.upper()} {operation.path} ({mode})"] = str(exc)[:1500]
    assert not failures, "\n\n".join(f"== {name}\n{text}" for name, text in failures.items())
