"""POST /v1/triage and /v1/triage/batch: predictions only, nothing stored."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask_openapi3 import APIBlueprint, Tag

from triage.web.access import access
from triage.web.apidoc import operation_id
from triage.web.metrics import record_prediction
from triage.web.problems import ApiError
from triage.web.schemas import BatchIn, BatchOut, PredictionOut, TriageIn
from triage.web.state import models, settings

if TYPE_CHECKING:
    from triage.engine.scoring import ServingModel

bp = APIBlueprint(
    "triage",
    __name__,
    url_prefix="/v1",
    abp_tags=[Tag(name="triage")],
    abp_security=[{"bearer": []}],
    operation_id_callback=operation_id,
)


@bp.post("/triage", responses={200: PredictionOut})
@access("intake", open_setting="open_intake")
def triage_one(body: TriageIn) -> dict[str, Any]:
    """Route one message: category, department and kind with confidence and reasons."""
    result = prediction(models().get(), body)
    record_prediction(result)
    return result


def prediction(model: ServingModel, body: TriageIn) -> dict[str, Any]:
    """The answer to POST /v1/triage; the fast path (fastpath.py) gives the same one."""
    return model.route({"text": body.text, "title": body.title})


@bp.post("/triage/batch", responses={200: BatchOut})
@access("intake", open_setting="open_intake")
def triage_batch(body: BatchIn) -> dict[str, Any]:
    """Route up to TRIAGE_BATCH_LIMIT messages in one call, answered in request order."""
    limit = settings().batch_limit
    if len(body.items) > limit:
        raise ApiError(
            400,
            f"A batch holds at most {limit} items; this one has {len(body.items)}.",
            errors=[{"field": "items", "message": f"at most {limit} items"}],
        )
    results = models().get().route_many([{"text": i.text, "title": i.title} for i in body.items])
    for result in results:
        record_prediction(result)
    return {"items": [{"id": i.id, **r} for i, r in zip(body.items, results, strict=True)]}
