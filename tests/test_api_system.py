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


def _metric(client, line_start: str) -> float:
    """The value of the /metrics sample whose line starts with ``line_start`` (0 if absent)."""
    for line in client.get("/metrics").get_data(as_text=True).splitlines():
        if line.startswith(line_start):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_count_predictions_and_tickets_where_they_are_made(app, client, make_key):
    intake = make_key("intake")
    predictions = 'triage_predictions_total{category="'
    tickets = 'triage_tickets_created_total{channel="phone"}'

    def total_predictions() -> float:
        text = client.get("/metrics").get_data(as_text=True)
        return sum(float(x.rsplit(" ", 1)[1]) for x in text.splitlines() if x.startswith(predictions))

    before, made = total_predictions(), _metric(client, tickets)
    fast = app.wsgi_app.inner.served  # the fast path, inside the request-id layer
    for _ in range(2):  # Flask answers the first (and remembers the key), the fast path the second
        assert client.post("/v1/triage", json={"text": "排队太久"}, headers=intake).status_code == 200
    assert app.wsgi_app.inner.served == fast + 1
    assert client.post("/v1/triage", json={"text": "排队太久"}).status_code == 401  # no prediction
    batch = {"items": [{"id": "1", "text": "排队太久"}, {"id": "2", "text": "营业执照"}]}
    assert client.post("/v1/triage/batch", json=batch, headers=intake).status_code == 200
    ticket = {"text": "营业执照办理排队太久", "channel": "phone"}
    assert client.post("/v1/tickets", json=ticket, headers=intake).status_code == 201
    assert total_predictions() == before + 5
    assert _metric(client, tickets) == made + 1


def test_the_model_card_shows_file_names_never_server_paths(app_config, tiny_model_dir, tmp_path, make_key):
    import json
    import shutil

    from triage.web import create_app

    folder = tmp_path / "model"
    shutil.copytree(tiny_model_dir, folder)
    card = json.loads((folder / "card.json").read_text())
    card["data"] = [{"file": "/srv/secret/place/messages.csv", "sha256": "ab" * 32, "rows": 3}]
    (folder / "card.json").write_text(json.dumps(card))
    app = create_app({**app_config, "model": str(folder)})
    try:
        from triage.service.keys import create_key

        with app.app_context():
            session = app.extensions["triage.db"].session()
            _, secret = create_key(session, "intake", "t", None)
            session.close()
        r = app.test_client().get("/v1/model", headers={"Authorization": f"Bearer {secret}"})
        assert r.status_code == 200
        assert "/srv" not in r.get_data(as_text=True)
        assert r.get_json()["data"] == [{"file": "messages.csv", "sha256": "ab" * 32, "rows": 3}]
    finally:
        app.extensions["triage.db"].dispose()


def test_training_records_data_files_by_name(tiny_csv):
    from triage.engine.data import read_labelled

    files = read_labelled([tiny_csv]).files
    assert files[0]["file"] == tiny_csv.name and len(files[0]["sha256"]) == 64
