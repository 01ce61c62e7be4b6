"""What /openapi.json says beyond the schemas, written once: the error responses (which
operations can give which, what they mean, an example of each) and the operation ids, for
the docs page and for clients generated from the description."""

from __future__ import annotations

from typing import Any

from flask_openapi3.types import ResponseDict

from triage.web.problems import problem_body

__all__ = ["document", "errors", "operation_id"]

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
BODY_METHODS = {"post", "put", "patch"}
RETRY_AFTER = {"description": "Seconds to wait before trying again.", "schema": {"type": "string"}}

# status: (when it happens, an example detail, response headers)
ERRORS: dict[int, tuple[str, str, dict[str, Any]]] = {
    400: ("The request is invalid; `errors` names each field.", "Invalid request: check text.", {}),
    401: (
        "No API key where one is needed, or a key that is unknown or revoked (on any operation).",
        "The API key is not valid (unknown or revoked).",
        {"WWW-Authenticate": {"description": "Bearer", "schema": {"type": "string"}}},
    ),
    403: (
        "The key's role may not do this.",
        "A department key cannot do this; it needs one of: admin, reviewer.",
        {},
    ),
    404: ("No submission has this query code.", "No submission has this query code.", {}),
    405: (
        "The path does not take this method.",
        "The method is not allowed for the requested URL.",
        {"Allow": {"description": "The methods the path takes.", "schema": {"type": "string"}}},
    ),
    409: (
        "The ticket's status does not allow this now, or an Idempotency-Key was sent again with "
        "another body.",
        "A closed ticket cannot be sent back.",
        {},
    ),
    413: (
        "The body is larger than TRIAGE_MAX_BODY_BYTES.",
        "The data value transmitted exceeds the capacity limit.",
        {},
    ),
    415: (
        "The body is not sent as JSON.",
        "Send the body as JSON (Content-Type: application/json).",
        {},
    ),
    429: ("Too many lookups from this address.", "20 per 1 minute", {"Retry-After": RETRY_AFTER}),
    500: (
        "A fault on the server's side; it is logged.",
        "Something went wrong on our side; it has been logged.",
        {},
    ),
    503: (
        "The database cannot be reached or is read-only (nothing was saved), or, on /readyz, the "
        "service is not ready. Try again shortly.",
        "The database is not reachable right now; try again shortly.",
        {"Retry-After": RETRY_AFTER},
    ),
    507: (
        "The server has no room left to store this; nothing was saved.",
        "The server has no room left to store this; nothing was saved.",
        {"Retry-After": RETRY_AFTER},
    ),
}


def response(status: int) -> dict[str, Any]:
    """The OpenAPI response object of one error status."""
    description, detail, headers = ERRORS.get(status, ("An error.", "An error.", {}))
    example = problem_body(status, detail)
    if status == 400:
        example["errors"] = [{"field": "text", "message": "must not be empty or only white space"}]
    out: dict[str, Any] = {
        "description": description,
        "content": {"application/problem+json": {"schema": PROBLEM_REF, "example": example}},
    }
    if headers:
        out["headers"] = headers
    return out


def operation_id(*, name: str, path: str = "", method: str = "", bp_name: str = "") -> str:
    """The view's own name (create_ticket, correct...), unique across the API: a generated
    client's function names. flask-openapi3 would join blueprint, name, path and method."""
    return name


def errors(*statuses: int) -> ResponseDict:
    """Responses for a route's or blueprint's ``responses=``: errors(404, 409)."""
    return {status: response(status) for status in statuses}


def common(path: str, method: str, operation: dict[str, Any]) -> tuple[int, ...]:
    """The errors any operation can give, by the rules the app applies to every request:
    the key check (401) and the database behind it (503), unknown methods (405), faults
    (500); for a JSON body (problems.install, web._require_json_object) 400, 413 and 415;
    for an operation needing a key, 403."""
    statuses = [401, 405, 500, 503]
    if method in BODY_METHODS and path.startswith("/v1/"):
        statuses += [400, 413, 415]
    if operation.get("security"):
        statuses.append(403)
    return tuple(statuses)


def document(spec: dict[str, Any]) -> None:
    """Complete the description flask-openapi3 wrote: every operation's errors, as
    problem+json of the Problem schema. It writes application/json for a route's
    ``{409: Problem}``, and adds to every operation a 400 that is a list of its own
    ValidationErrorModel, which the API never sends."""
    for path, item in spec.get("paths", {}).items():
        for method, operation in item.items():
            responses = operation.setdefault("responses", {})
            for status, declared in list(responses.items()):
                schema = declared.get("content", {}).get("application/json", {}).get("schema", {})
                own_400 = str(schema.get("items", {}).get("$ref", "")).endswith("/ValidationErrorModel")
                if schema == PROBLEM_REF or own_400:
                    responses[status] = response(int(status))
            for status in common(path, method, operation):
                responses.setdefault(str(status), response(status))
            if method not in BODY_METHODS and not operation.get("parameters"):
                responses.pop("400", None)  # nothing a client sends can be invalid
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    schemas.pop("ValidationErrorModel", None)
    if "Problem" not in schemas:
        from triage.web.schemas import Problem

        schemas["Problem"] = Problem.model_json_schema()
