def test_health_and_readiness(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz").get_json()
    assert ready["status"] == "ready" and ready["model_version"]


def dead_database(app, tmp_path):
    """Point the app at a database that cannot be opened (a folder, not a file)."""
    from triage.storage import Database

    app.extensions["triage.db"].dispose()
    app.extensions["triage.db"] = Database(f"sqlite:///{tmp_path}")


def test_readiness_reports_a_dead_database(app, tmp_path):
    dead_database(app, tmp_path)
    r = app.test_client().get("/readyz")
    assert r.status_code == 503 and "database" in r.get_json()["detail"]
    assert r.headers["Retry-After"]


def test_requests_needing_a_dead_database_get_503_not_500(app, make_key, tmp_path):
    headers = make_key("reviewer")
    dead_database(app, tmp_path)
    r = app.test_client().get("/v1/tickets", headers=headers)
    assert r.status_code == 503 and r.headers["Retry-After"]
    assert r.get_json()["title"] == "Service unavailable"


def test_model_card_for_staff(client, make_key):
    card = client.get("/v1/model", headers=make_key("reviewer")).get_json()
    assert card["version"] and "department" in card["heads"]
    assert card["heads"]["category"]["review"]["threshold"] > 0


def test_metrics_count_requests(client, make_key):
    client.post("/v1/triage", json={"text": "排队太久"}, headers=make_key("intake"))
    text = client.get("/metrics").get_data(as_text=True)
    assert 'triage_http_requests_total{endpoint="triage.triage_one",method="POST",status="200"}' in text


def test_openapi_is_generated_from_the_schemas(client):
    spec = client.get("/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    paths = spec["paths"]
    for path in (
        "/v1/triage",
        "/v1/triage/batch",
        "/v1/tickets",
        "/v1/tickets/{code}",
        "/v1/tickets/{code}/events",
        "/v1/model",
    ):
        assert path in paths, path
    schemas = spec["components"]["schemas"]
    assert "text" in schemas["TriageIn"]["properties"]
    assert schemas["TriageIn"]["additionalProperties"] is False
    assert client.get("/docs/").status_code in (200, 302, 308)
