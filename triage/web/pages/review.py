"""The reviewer page: the queue, one ticket, and confirming or correcting it. The work is
done by triage.service.review, the same functions the review API uses."""

from __future__ import annotations

import re
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from triage.engine.heads import DEPARTMENT
from triage.engine.text import mask
from triage.service import review
from triage.service.codes import InvalidCode, normalize_code
from triage.service.tickets import get_by_code, is_overdue
from triage.service.workdays import today_local
from triage.storage.schema import Ticket
from triage.web.access import actor
from triage.web.lookups import known_labels
from triage.web.pages.auth import signed_in
from triage.web.pages.blueprint import bp, error_page
from triage.web.pages.present import head_view, label_name, label_options, masked_body
from triage.web.state import db_session, settings, tipbook
from triage.web.taxonomy import department_name
from triage.web.taxonomy import heads as served_heads

REVIEWERS = ("reviewer",)  # and admin
QUEUE_LIMIT = 200
NEW_LABEL = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
NOTE_LIMIT = 5000


def _filters() -> dict[str, str]:
    """The queue's filters: from the URL, or carried by a form (named apart from its labels)."""
    values, prefix = (request.form, "filter_") if request.method == "POST" else (request.args, "")
    head, department = values.get(f"{prefix}head", ""), values.get(f"{prefix}department", "")
    return {"head": head if head in served_heads() else "", "department": department[:64]}


def _queue(filters: dict[str, str]) -> list[Ticket]:
    return review.queue(db_session(), QUEUE_LIMIT, filters["head"] or None, filters["department"] or None)


def _ticket_url(code: str, filters: dict[str, str]) -> str:
    return url_for("pages.ticket", code=code, **_given(filters))


def _queue_url(filters: dict[str, str]) -> str:
    return url_for("pages.queue", **_given(filters))


def _given(filters: dict[str, str]) -> dict[str, Any]:
    """The filters set, as URL query values (url_for's own options start with _)."""
    return {k: v for k, v in filters.items() if v}


def _find(code: str) -> Ticket | None:
    try:
        return get_by_code(db_session(), normalize_code(code))
    except InvalidCode:
        return None


def queue_row(ticket: Ticket) -> dict[str, Any]:
    prediction = ticket.prediction or {}
    return {
        "code": ticket.code,
        "reason": ticket.review_reason,
        "created_at": ticket.created_at,
        "overdue": is_overdue(ticket),
        "title": mask(ticket.title) if ticket.title else "",
        "excerpt": masked_body(ticket.title, ticket.text_masked)[:120],
        "routing": {h: ticket.label(h) for h in served_heads()},
        "heads": {h: head_view(prediction, h) for h in served_heads()},
        "uncertain": [h for h in ticket.uncertain_heads.split(",") if h],
    }


def _history(ticket: Ticket) -> list[dict[str, Any]]:
    """Events, verdicts and send-backs in time order (a send-back's own event is the Return)."""
    rows: list[dict[str, Any]] = [
        {"at": e.at, "what": "event", "item": e} for e in ticket.events if e.type != "returned"
    ]
    rows += [{"at": c.at, "what": "correction", "item": c} for c in ticket.corrections]
    rows += [{"at": r.at, "what": "return", "item": r} for r in ticket.returns]
    return sorted(rows, key=lambda r: r["at"])


@bp.get("/review")
@signed_in(*REVIEWERS)
def queue() -> str:
    filters = _filters()
    rows = [{**queue_row(t), "url": _ticket_url(t.code, filters)} for t in _queue(filters)]
    departments = label_options(DEPARTMENT, known_labels().get(DEPARTMENT, []))
    return render_template(
        "pages/queue.html", rows=rows, filters=filters, departments=departments, limit=QUEUE_LIMIT
    )


def _render_ticket(
    ticket: Ticket, filters: dict[str, str], error: str | None = None, status: int = 200
) -> tuple[str, int]:
    codes = [t.code for t in _queue(filters)]
    if ticket.code in codes:
        i = codes.index(ticket.code)
        prev_code = codes[i - 1] if i > 0 else None
        next_code = codes[i + 1] if i + 1 < len(codes) else None
        position = (i + 1, len(codes))
    else:
        prev_code, next_code, position = None, (codes[0] if codes else None), None
    labels = known_labels()
    tz = settings().timezone
    tips = [
        {"tip": tip, "score": score, "department": department_name(tip.department)}
        for tip, score in tipbook().best(ticket.category, ticket.text, today_local(tz))
    ]
    return render_template(
        "pages/ticket.html",
        t=ticket,
        heads=[v for h in labels if (v := head_view(ticket.prediction or {}, h))],
        options={h: label_options(h, labels[h], ticket.label(h)) for h in labels},
        tips=tips,
        history=_history(ticket),
        filters=filters,
        queue_url=_queue_url(filters),
        prev_url=_ticket_url(prev_code, filters) if prev_code else None,
        next_url=_ticket_url(next_code, filters) if next_code else None,
        next_code=next_code or "",
        position=position,
        in_queue=position is not None,
        overdue=is_overdue(ticket),
        error=error,
    ), status


@bp.get("/review/tickets/<code>")
@signed_in(*REVIEWERS)
def ticket(code: str) -> Any:
    found = _find(code)
    if found is None:
        return error_page(404, "没有这个查询码的工单。")
    return _render_ticket(found, _filters())


def _go_on(filters: dict[str, str]) -> Response:
    """After a verdict, the next ticket: the one that followed it, else the queue's first."""
    codes = [t.code for t in _queue(filters)]
    wanted = request.form.get("next_code", "")
    target = wanted if wanted in codes else (codes[0] if codes else None)
    if target is None:
        flash("队列已全部处理完。", "info")
        return redirect(_queue_url(filters))
    return redirect(_ticket_url(target, filters))


@bp.post("/review/tickets/<code>/confirm")
@signed_in(*REVIEWERS)
def confirm(code: str) -> Any:
    found = _find(code)
    if found is None:
        return error_page(404, "没有这个查询码的工单。")
    review.add_correction(db_session(), found, actor(), {}, known_labels())
    flash(f"已确认 {found.code} 的当前分派。", "ok")
    return _go_on(_filters())


def _labels_from_form(ticket: Ticket, new_label: bool) -> dict[str, str]:
    """The heads the reviewer changed; a typed new label counts only with the checkbox."""
    labels = {}
    for head in served_heads():
        typed = request.form.get(f"{head}_new", "").strip() if new_label else ""
        if typed and not NEW_LABEL.match(typed):
            raise ValueError(f"新标签「{typed[:64]}」格式不对：请用小写英文字母、数字和下划线。")
        value = typed or request.form.get(head, "").strip()
        if len(value) > 64:
            raise ValueError("标签过长。")
        if value and value != ticket.label(head):
            labels[head] = value
    return labels


@bp.post("/review/tickets/<code>/correct")
@signed_in(*REVIEWERS)
def correct(code: str) -> Any:
    found = _find(code)
    if found is None:
        return error_page(404, "没有这个查询码的工单。")
    filters = _filters()
    new_label = request.form.get("new_label") == "on"
    note = request.form.get("note", "").strip() or None
    try:
        if note and len(note) > NOTE_LIMIT:
            raise ValueError(f"备注不能超过 {NOTE_LIMIT} 字。")
        labels = _labels_from_form(found, new_label)
        review.add_correction(db_session(), found, actor(), labels, known_labels(), note, new_label)
    except review.UnknownHead as exc:
        return _render_ticket(found, filters, str(exc), 400)
    except review.UnknownLabel as exc:
        shown = label_name(exc.head, request.form.get(exc.head, ""))
        message = f"「{shown}」不是模型已知的标签；如确需新增，请勾选「新标签」。"
        return _render_ticket(found, filters, message, 400)
    except ValueError as exc:
        return _render_ticket(found, filters, str(exc), 400)
    changed = "、".join(label_name(h, v) for h, v in labels.items()) if labels else "无改动，视为确认"
    flash(f"已更正 {found.code}：{changed}。", "ok")
    return _go_on(filters)
