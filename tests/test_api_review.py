"""The review queue, corrections and send-backs over HTTP, on both databases."""

import pytest

VAGUE = "你好，我想反映个情况，麻烦处理一下"


@pytest.fixture()
def intake(make_key):
    return make_key("intake")


@pytest.fixture()
def reviewer(make_key):
    return make_key("reviewer")


def submit(client, headers, text):
    r = client.post("/v1/tickets", json={"text": text}, headers=headers)
    assert r.status_code == 201
    return r.get_json()


def queue(client, headers):
    """The review queue's items, held to its declared response: each field declared, of its type."""
    from triage.web.schemas import QueueItem, ReviewQueue

    r = client.get("/v1/review/queue", headers=headers)
    assert r.status_code == 200
    items = r.get_json()["items"]
    ReviewQueue.model_validate(r.get_json())
    # Each field declared; besides them only the heads' labels at the top level (kind).
    assert all(set(QueueItem.model_fields) <= set(item) for item in items)
    assert all(set(item) - set(QueueItem.model_fields) <= set(item["labels"]) for item in items)
    return items


def full(client, code, headers):
    return client.get(f"/v1/tickets/{code}/full", headers=headers).get_json()


def test_unsure_tickets_queue_most_uncertain_first(client, intake, reviewer):
    for text in (VAGUE, "有个事情想问问", "营业执照怎么办理需要什么材料"):
        submit(client, intake, text)
    items = queue(client, reviewer)
    assert items, "vague messages to a small model must need review"
    uncertain = [i for i in items if i["review_reason"] == "uncertain"]
    assert [i["margin"] for i in uncertain] == sorted(i["margin"] for i in uncertain)
    assert all(not i["quality_check"] for i in uncertain)


@pytest.mark.app_settings(open_intake=True, review_random_share=1.0)
def test_a_share_of_confident_tickets_is_sampled_for_quality_control(client, make_key):
    code = client.post("/v1/tickets", json={"text": "营业执照"}).get_json()["code"]
    items = queue(client, make_key("reviewer"))
    assert [i["code"] for i in items] == [code]
    assert items[0]["review_reason"] in ("uncertain", "quality_check")


def test_corrections_append_and_routing_follows_the_latest(client, intake, reviewer):
    ticket = submit(client, intake, VAGUE)
    code, predicted = ticket["code"], ticket["routing"]["category"]
    first = client.post(
        f"/v1/tickets/{code}/corrections",
        json={"category": "tax", "department": "tax_bureau"},
        headers=reviewer,
    )
    assert first.status_code == 201
    assert first.get_json()["routing"]["category"] == "tax"
    second = client.post(
        f"/v1/tickets/{code}/corrections", json={"category": "other", "note": "再看了一遍"}, headers=reviewer
    )
    assert second.get_json()["routing"] == {**second.get_json()["routing"], "category": "other"}
    record = full(client, code, reviewer)
    assert record["category"] == "other" and record["department"] == "tax_bureau"
    history = record["corrections"]
    assert [c["verified"]["category"] for c in history] == ["tax", "other"]
    assert history[0]["predicted"]["category"] == predicted.get("suggested", predicted["label"])
    assert history[0]["model_version"] == ticket["routing"]["model_version"]
    assert all(c["by"] for c in history)
    waiting = queue(client, reviewer)
    assert code not in {i["code"] for i in waiting}, "a verified ticket leaves the queue"


def test_confirming_is_a_correction_that_agrees(client, intake, reviewer):
    ticket = submit(client, intake, "营业执照地址变更要带什么材料")
    r = client.post(f"/v1/tickets/{ticket['code']}/corrections", json={}, headers=reviewer)
    assert r.status_code == 201
    correction = r.get_json()["correction"]
    # Confirming keeps the effective routing; only a department that had fallen back to the
    # fallback office differs from the model's own guess.
    fell_back = ticket["routing"]["department"].get("fallback", False)
    assert correction["changed"] == (["department"] if fell_back else [])
    assert correction["verified"] == {
        h: ticket["routing"][h]["label"] for h in ("category", "department", "kind")
    }


def test_unknown_labels_need_new_label(client, intake, reviewer):
    code = submit(client, intake, VAGUE)["code"]
    r = client.post(f"/v1/tickets/{code}/corrections", json={"category": "pet_licence"}, headers=reviewer)
    assert r.status_code == 400 and r.get_json()["errors"][0]["field"] == "category"
    r = client.post(
        f"/v1/tickets/{code}/corrections",
        json={"category": "pet_licence", "new_label": True},
        headers=reviewer,
    )
    assert r.status_code == 201 and r.get_json()["routing"]["category"] == "pet_licence"


def test_send_back_reroutes_and_two_send_backs_go_to_the_fallback(client, intake, reviewer, make_key):
    code = submit(client, intake, "营业执照地址变更要带什么材料")["code"]
    holder = full(client, code, reviewer)["department"]
    other_dept = make_key("department", "tax_bureau" if holder != "tax_bureau" else "service_center")
    r = client.post(f"/v1/tickets/{code}/return", json={"reason": "不是我们的"}, headers=other_dept)
    assert r.status_code == 403
    suggested = "hr_social_security" if holder != "hr_social_security" else "tax_bureau"
    r = client.post(
        f"/v1/tickets/{code}/return",
        json={"reason": "不属于本部门", "suggested_department": suggested},
        headers=make_key("department", holder),
    )
    assert r.status_code == 201 and r.get_json()["routed_to"] == suggested
    r = client.post(
        f"/v1/tickets/{code}/return", json={"reason": "也不是我们"}, headers=make_key("department", suggested)
    )
    body = r.get_json()
    assert body["routed_to"] == "general_office" and body["review_reason"] == "returned_twice"
    waiting = queue(client, reviewer)
    assert waiting[0]["code"] == code, "twice returned tickets top the queue"
    record = full(client, code, reviewer)
    assert [r["department"] for r in record["returns"]] == [holder, suggested]
    assert record["status"] == "dispatched"


def test_send_back_without_suggestion_takes_the_best_remaining_department(client, intake, reviewer, make_key):
    ticket = submit(client, intake, "营业执照地址变更要带什么材料")
    code, routing = ticket["code"], ticket["routing"]["department"]
    holder = full(client, code, reviewer)["department"]
    ranking = [routing.get("suggested", routing["label"])] + [a["label"] for a in routing["alternatives"]]
    expected = next(d for d in ranking if d not in (holder, "general_office"))
    r = client.post(
        f"/v1/tickets/{code}/return", json={"reason": "非本部门职责"}, headers=make_key("department", holder)
    )
    assert r.get_json()["routed_to"] == expected


def test_send_back_needs_a_reason_and_an_open_ticket(client, intake, reviewer, make_key):
    code = submit(client, intake, "营业执照地址变更要带什么材料")["code"]
    holder = make_key("department", full(client, code, reviewer)["department"])
    assert client.post(f"/v1/tickets/{code}/return", json={"reason": "  "}, headers=holder).status_code == 400
    client.post(f"/v1/tickets/{code}/events", json={"type": "closed"}, headers=reviewer)
    assert client.post(f"/v1/tickets/{code}/return", json={"reason": "x"}, headers=holder).status_code == 409
