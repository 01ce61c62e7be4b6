import pytest

TEXT = "食品经营许可证现场核查约了两周还没人来，电话13812345678"


def test_triage_returns_the_prediction_object(client, make_key):
    r = client.post("/v1/triage", json={"text": TEXT, "title": "催办"}, headers=make_key("intake"))
    assert r.status_code == 200
    body = r.get_json()
    assert {"category", "department", "kind", "needs_review", "model_version"} <= set(body)
    assert body["category"]["name"]
    assert 0 <= body["category"]["confidence"] <= 1


def test_triage_stores_nothing(app, client, make_key):
    from sqlalchemy import func, select

    from triage.storage import Ticket

    client.post("/v1/triage", json={"text": TEXT}, headers=make_key("intake"))
    with app.app_context():
        session = app.extensions["triage.db"].session()
        assert session.scalar(select(func.count()).select_from(Ticket)) == 0
        session.close()


def test_batch_answers_in_order_with_ids(client, make_key):
    items = [{"id": str(i), "text": t} for i, t in enumerate(["排队太久", "公司注销流程", "社保断缴怎么补"])]
    r = client.post("/v1/triage/batch", json={"items": items}, headers=make_key("intake"))
    assert r.status_code == 200
    assert [x["id"] for x in r.get_json()["items"]] == ["0", "1", "2"]


def test_batch_accepts_500_and_refuses_more(client, make_key):
    key = make_key("intake")
    items = [{"id": str(i), "text": f"营业执照办理第{i}问"} for i in range(501)]
    assert client.post("/v1/triage/batch", json={"items": items[:500]}, headers=key).status_code == 200
    r = client.post("/v1/triage/batch", json={"items": items}, headers=key)
    assert r.status_code == 400
    assert r.get_json()["errors"][0]["field"] == "items"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"text": ""}, "text"),
        ({"text": " \n\t "}, "text"),
        ({"text": 123}, "text"),
        ({}, "text"),
        ({"text": "ok", "extra": 1}, "extra"),
        ({"text": "x" * 20001}, "text"),
        ({"text": "ok", "title": ["a"]}, "title"),
    ],
)
def test_bad_bodies_get_400_naming_the_field(client, make_key, body, field):
    r = client.post("/v1/triage", json=body, headers=make_key("intake"))
    assert r.status_code == 400
    problem = r.get_json()
    assert r.mimetype == "application/problem+json"
    assert {"type", "title", "status", "detail"} <= set(problem)
    assert field in {e["field"] for e in problem["errors"]}


def test_invalid_json_and_non_object_bodies(client, make_key):
    key = make_key("intake")
    r = client.post("/v1/triage", data="{not json", content_type="application/json", headers=key)
    assert r.status_code == 400 and "not valid JSON" in r.get_json()["detail"]
    r = client.post("/v1/triage", json=["a list"], headers=key)
    assert r.status_code == 400 and "JSON object" in r.get_json()["detail"]
    r = client.post("/v1/triage", data="text=hi", content_type="text/plain", headers=key)
    assert r.status_code == 415


def test_oversized_body_gets_413(client, make_key):
    r = client.post(
        "/v1/triage",
        data='{"text": "' + "长" * 600_000 + '"}',
        content_type="application/json",
        headers=make_key("intake"),
    )
    assert r.status_code == 413
    assert r.get_json()["status"] == 413


def test_wrong_method_gets_405_with_allow(client):
    r = client.get("/v1/triage")
    assert r.status_code == 405
    assert "POST" in r.headers["Allow"]
    assert r.get_json()["status"] == 405


def test_unknown_path_gets_problem_404(client):
    r = client.get("/v1/nothing-here")
    assert r.status_code == 404 and r.mimetype == "application/problem+json"


@pytest.mark.app_settings(open_intake=True)
def test_open_intake_setting_opens_triage(client):
    assert client.post("/v1/triage", json={"text": TEXT}).status_code == 200
    assert client.get("/v1/tickets").status_code == 401  # staff routes stay closed
