"""Every route either is deliberately public or refuses without a key and with a wrong role."""

import re
from urllib.parse import urlsplit

import pytest

# Staff HTML pages are public at the API-key layer and check a signed-in session instead.
PAGES = "pages."
PAGES_PUBLIC = {"pages.static", "pages.sign_in", "pages.sign_in_post"}
PUBLIC = {"/healthz", "/readyz", "/metrics", "/openapi.json", "/v1/tickets/<code>"}
ROLE_OF = {  # the least role each staff route needs (admin can do everything)
    ("POST", "/v1/triage"): "intake",
    ("POST", "/v1/triage/batch"): "intake",
    ("POST", "/v1/tickets"): "intake",
    ("GET", "/v1/tickets"): "reviewer",
    ("GET", "/v1/tickets/export"): "reviewer",
    ("GET", "/v1/tickets/<code>/full"): "reviewer",
    ("POST", "/v1/tickets/<code>/events"): "reviewer",
    ("GET", "/v1/model"): "any",  # every staff key may read the model card
    ("GET", "/v1/review/queue"): "reviewer",
    ("POST", "/v1/tickets/<code>/corrections"): "reviewer",
    ("POST", "/v1/tickets/<code>/return"): "department",
    ("GET", "/v1/stats/summary"): "reviewer",
    ("GET", "/v1/stats/hotspots"): "reviewer",
}


def routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.rule.startswith("/docs") or rule.endpoint.startswith(PAGES):
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield method, rule.rule


def concrete(path: str) -> str:
    from triage.service.codes import new_code

    return re.sub(r"<[^>]+>", new_code(), path)


def test_every_non_public_route_refuses_without_a_key(app, client):
    checked = 0
    for method, path in routes(app):
        if path in PUBLIC and method == "GET":
            continue
        r = client.open(concrete(path), method=method, json={})
        assert r.status_code == 401, (method, path, r.status_code)
        assert r.get_json()["status"] == 401
        checked += 1
    assert checked >= len(ROLE_OF)


def test_every_staff_route_is_in_the_role_table(app):
    found = {(m, p) for m, p in routes(app) if not (p in PUBLIC and m == "GET")}
    assert found <= set(ROLE_OF), found - set(ROLE_OF)


def test_wrong_roles_get_403(client, make_key):
    intake, department = make_key("intake"), make_key("department", "tax_bureau")
    for (method, path), role in ROLE_OF.items():
        if role == "any":
            continue
        wrong = intake if role in ("reviewer", "department") else department
        r = client.open(concrete(path), method=method, json={}, headers=wrong)
        assert r.status_code == 403, (method, path, r.status_code)


def test_unknown_and_revoked_keys_get_401(app, client, make_key):
    from triage.service.keys import revoke_key

    assert client.get("/v1/tickets", headers={"Authorization": "Bearer tk_nope"}).status_code == 401
    headers = make_key("reviewer")
    assert client.get("/v1/tickets", headers=headers).status_code == 200
    prefix = headers["Authorization"].split("_")[1]
    with app.app_context():
        session = app.extensions["triage.db"].session()
        revoke_key(session, prefix)
        session.close()
    assert client.get("/v1/tickets", headers=headers).status_code == 401


def test_x_api_key_header_works_too(client, make_key):
    secret = make_key("reviewer")["Authorization"].split(" ", 1)[1]
    assert client.get("/v1/tickets", headers={"X-API-Key": secret}).status_code == 200


@pytest.mark.parametrize("path", sorted(PUBLIC - {"/v1/tickets/<code>"}))
def test_public_routes_answer_without_a_key(client, path):
    assert client.get(path).status_code == 200


def page_routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith(PAGES) and rule.endpoint not in PAGES_PUBLIC:
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield method, rule.rule


def csrf_token(client):
    sign_in_page = client.get("/sign-in")
    assert sign_in_page.status_code == 200
    return re.search(r'name="csrf_token" value="([^"]+)"', sign_in_page.get_data(as_text=True)).group(1)


def test_every_page_sends_visitors_without_a_session_to_sign_in(client):
    checked = 0
    for method, path in page_routes(client.application):
        data = {"csrf_token": csrf_token(client)} if method == "POST" else None  # past the CSRF check
        r = client.open(concrete(path), method=method, data=data)
        assert r.status_code == 302, (method, path, r.status_code)
        assert urlsplit(r.headers["Location"]).path == "/sign-in", (method, path)
        checked += 1
    assert checked >= 5
    with client.get("/pages/static/pages.css") as r:  # the pages' own files need no session
        assert r.status_code == 200
