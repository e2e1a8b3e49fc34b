"""What every broadcasts endpoint shares: its blueprint under /api/v1 (answering ApiError as the
contacts API does) and how a refused segment or campaign becomes an ApiError; the token check,
readers and OpenAPI helpers are crm.api.base's."""

from __future__ import annotations

from flask import Blueprint

from broadcasts import segments as seg
from broadcasts.campaign_message import CampaignError
from crm.api.base import ApiError, api_error

# Same URLs as the contacts API, own endpoint names (`broadcasts_api.create_campaign`): the app
# factory serves it with `broadcasts.api.register(app)`.
broadcasts_api = Blueprint("broadcasts_api", __name__, url_prefix="/api/v1")
broadcasts_api.register_error_handler(ApiError, api_error)


def segment_error(exc: seg.SegmentError) -> ApiError:
    """The 422 of rules that do not compile, with the compiler's messages."""
    return ApiError(422, "invalid rules", exc.details)


def campaign_error(exc: CampaignError) -> ApiError:
    """The answer to a refused campaign: its own status (404, 409), or a 422 naming the field."""
    if exc.status != 422:
        return ApiError(exc.status, str(exc))
    return ApiError(422, "invalid fields", [{"field": exc.field or "", "message": str(exc)}])
