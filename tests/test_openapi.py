"""/openapi.json describes every response an operation can give, with examples that hold.
(test_fuzz.py checks the responses schemathesis provokes; test_client.py a generated client.)"""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from triage.web import schemas, schemas_stats
from triage.web.apidoc import ERRORS

PROBLEM = "application/problem+json"


@pytest.fixture()
def database_url(tmp_path):
    return f"sqlite:///{tmp_path / 'openapi.db'}"  # nothing here depends on the database kind


@pytest.fixture()
def spec(client) -> dict:
    return client.get("/openapi.json").get_json()


def operations(spec: dict):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def test_every_operation_documents_the_errors_every_request_can_meet(spec):
    seen = 0
    for path, method, operation in operations(spec):
        responses = operation["responses"]
        expected = {"401", "405", "500", "503"}
        if method == "post":
            expected |= {"400", "413", "415"}
        if operation.get("security"):
            expected.add("403")
        missing = expected - set(responses)
        assert not missing, f"{method.upper()} {path} does not document {sorted(missing)}"
        for status, response in responses.items():
            if status.startswith(("4", "5")):
                media = response["content"][PROBLEM]
                assert media["schema"] == {"$ref": "#/components/schemas/Problem"}
                assert media["example"]["status"] == int(status)
        seen += 1
    assert seen >= 16


def test_writes_document_their_body_and_a_full_disk(spec):
    for path in ("/v1/tickets", "/v1/tickets/{code}/events", "/v1/tickets/{code}/corrections"):
        assert "507" in spec["paths"][path]["post"]["responses"], path
    created = {
        "/v1/tickets/{code}/corrections": "CorrectionOut",
        "/v1/tickets/{code}/return": "ReturnOut",
        "/v1/tickets": "TicketCreated",
    }
    for path, name in created.items():
        body = spec["paths"][path]["post"]["responses"]["201"]["content"]["application/json"]
        assert body["schema"] == {"$ref": f"#/components/schemas/{name}"}


def test_operation_ids_are_the_views_names(spec):
    ids = [operation["operationId"] for _, _, operation in operations(spec)]
    assert len(ids) == len(set(ids))
    assert {"create_ticket", "lookup_ticket", "correct", "send_back", "triage_one"} <= set(ids)


def test_every_example_is_valid_for_its_schema(spec):
    models = {
        name: value
        for module in (schemas, schemas_stats)
        for name, value in vars(module).items()
        if isinstance(value, type) and issubclass(value, BaseModel)
    }
    with_examples = {
        name: s["example"] for name, s in spec["components"]["schemas"].items() if "example" in s
    }
    assert {"TicketIn", "TicketCreated", "PublicTicket", "CorrectionIn", "CorrectionOut", "ReturnOut"} <= set(
        with_examples
    )
    for name, example in with_examples.items():
        models[name].model_validate(example)  # raises with the field that does not fit
    for status in ERRORS:
        for _, _, operation in operations(spec):
            response = operation["responses"].get(str(status))
            if response:
                schemas.Problem.model_validate(response["content"][PROBLEM]["example"])


def documented(spec: dict, path: str, method: str, status: int) -> bool:
    template = next(p for p in spec["paths"] if p.replace("{code}", "7KQ2M-XR4TB-9HC0P") == path)
    return str(status) in spec["paths"][template][method]["responses"]


POSTS = ["/v1/triage", "/v1/triage/batch", "/v1/tickets", "/v1/tickets/7KQ2M-XR4TB-9HC0P/corrections"]


@pytest.mark.parametrize("path", POSTS)
def test_the_documented_body_errors_are_what_the_api_answers(app, client, spec, make_key, path):
    admin = make_key("admin")
    wrong_type = client.post(path, data="text=窗口", content_type="text/plain", headers=admin)
    assert wrong_type.status_code == 415 and documented(spec, path, "post", 415)
    too_large = client.post(path, json={"text": "长" * app.config["MAX_CONTENT_LENGTH"]}, headers=admin)
    assert too_large.status_code == 413 and documented(spec, path, "post", 413)
    wrong_method = client.put(path, json={}, headers=admin)
    assert wrong_method.status_code == 405 and documented(spec, path, "post", 405)
    assert "POST" in wrong_method.headers["Allow"]
    for response in (wrong_type, too_large, wrong_method):
        assert response.mimetype == PROBLEM
        schemas.Problem.model_validate(response.get_json())
