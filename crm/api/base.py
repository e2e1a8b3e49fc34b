"""What every endpoint of REST API v1 shares: the blueprint, errors, the token check, argument readers, the OpenAPI registries."""

from __future__ import annotations

from functools import wraps
from typing import Any, Callable, Sequence, TypeVar

from flask import Blueprint, g, jsonify, request
from pydantic import BaseModel, ValidationError
from pydantic.json_schema import models_json_schema
from sqlmodel import Session

from core.db import session_scope
from crm.ids import MAX_ID
from crm.schemas import Error
from crm.tokens import token_allows, verify_token
from crm.web import engine

api = Blueprint("api", __name__, url_prefix="/api/v1")
T = TypeVar("T")


class ApiError(Exception):
    """An API error answered as {"error": reason} with an HTTP status."""

    def __init__(self, status: int, reason: str, details: list | None = None) -> None:
        super().__init__(reason)
        self.status, self.reason, self.details = status, reason, details


@api.errorhandler(ApiError)
def api_error(exc: ApiError):
    body = {"error": exc.reason}
    if exc.details:
        body["details"] = exc.details
    return jsonify(body), exc.status


def require_token(view: Callable) -> Callable:
    """Allow the view only with a valid `Authorization: Bearer <token>`."""
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any):
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, "missing bearer token (create one with `sapa token add NAME`)")
        with session_scope(engine()) as session:
            row = verify_token(session=session, token=token.strip())
            if row is None:
                raise ApiError(401, "invalid or revoked token")
            if not token_allows(row.role, request.method, request.path):
                raise ApiError(403, f"this token is limited to what the {row.role} role does: it cannot "
                                    f"{request.method} {request.path}")
            g.api_token_name = row.name
        return view(*args, **kwargs)
    return wrapper


def read_body(model: type[BaseModel]) -> BaseModel:
    """The request's JSON body validated as `model` (ApiError 415/400/422 otherwise)."""
    if not request.is_json:
        raise ApiError(415, "send JSON with Content-Type: application/json")
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiError(400, "body must be a JSON object")
    try:
        # Strict, as the document is: 0 is not false and "5" not 5 (JSON strings still give dates).
        return model.model_validate_json(request.get_data(), strict=True)
    except ValidationError as exc:
        details = [{"field": ".".join(map(str, err["loc"])), "message": err["msg"]} for err in exc.errors()]
        raise ApiError(422, "invalid fields", details) from None


def query_value(name: str) -> str | None:
    """A query parameter's value, None when absent or empty (`?limit=` means "not given", as the contract writes it)."""
    return request.args.get(name) or None


def int_arg(name: str, default: int | None, low: int, high: int) -> int | None:
    """An integer query parameter between `low` and `high` (`default` when not given)."""
    raw = query_value(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, f"{name} must be an integer") from None
    if not low <= value <= high:
        raise ApiError(400, f"{name} must be between {low} and {high}")
    return value


def enum_arg(name: str, values: Sequence[str], default: str | None = None) -> str | None:
    """A query parameter that must be one of `values` (`default` when not given)."""
    raw = query_value(name)
    if raw is None:
        return default
    if raw not in values:
        raise ApiError(400, f"{name} must be one of {', '.join(values)}")
    return raw


def bool_arg(name: str) -> bool | None:
    """A true/false query parameter, None when not given."""
    raw = query_value(name)
    if raw is None:
        return None
    raw = raw.lower()
    if raw not in ("true", "false", "1", "0"):
        raise ApiError(400, f"{name} must be true or false")
    return raw in ("true", "1")


def dump(model: BaseModel):
    """A pydantic model as the JSON response."""
    return jsonify(model.model_dump(mode="json"))


def get_row(session: Session, model: type[T], row_id: int, label: str) -> T:
    """The row of `model` with id `row_id`, or ApiError 404 naming it `label`."""
    row = session.get(model, row_id)
    if row is None:
        raise ApiError(404, f"{label} {row_id} not found")
    return row


def contact_filter() -> int | None:
    """The `contact_id` filter of a list: a row id, or None when not given."""
    return int_arg("contact_id", None, 1, MAX_ID)


# --- OpenAPI ------------------------------------------------------------------------

def schema_response(model: str, description: str = "OK") -> dict:
    """An OpenAPI response whose JSON body is the named schema."""
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{model}"}}}}


ERRORS = {"401": schema_response("Error", "Missing or invalid token"),
          "403": schema_response("Error", "The token is limited to a staff role that cannot do this"),
          "400": schema_response("Error", "Bad parameter (or a query string the app refuses, e.g. with NUL bytes)")}
# Every operation with a body can answer these; openapi_document() adds them where an endpoint did not.
BODY_ERRORS = {"400": schema_response("Error", "Malformed JSON, not a JSON object, too deeply nested, or NUL bytes"),
               "415": schema_response("Error", "Not JSON (send Content-Type: application/json)"),
               "422": schema_response("Error", "Invalid fields")}
NOT_FOUND = {"404": schema_response("Error", "Not found (or an id out of range: 1 to 2^31-1)")}


# Endpoint modules add their paths and response models here; the document is built from them.
OPENAPI_MODELS: list[type[BaseModel]] = [Error]
OPENAPI_PATHS: dict[str, dict] = {}


def query_param(name: str, type_: str = "string", **schema: Any) -> dict:
    """An optional query parameter for the OpenAPI document (`schema`: bounds, enum, pattern); empty = not given."""
    return {"name": name, "in": "query", "required": False, "allowEmptyValue": True,
            "schema": {"type": type_, **schema}}


def limit_param(high: int) -> dict:
    """The `limit` query parameter: 1 to `high` rows."""
    return query_param("limit", "integer", minimum=1, maximum=high)


def enum_param(name: str, values: tuple[str, ...] | list[str]) -> dict:
    """A query parameter that takes one of `values`."""
    return query_param(name, enum=list(values))


def path_param(name: str) -> dict:
    """A row id in the path (the app's routes take 1..MAX_ID, anything else is a 404)."""
    return {"name": name, "in": "path", "required": True,
            "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID}}


CONTACT_FILTER = query_param("contact_id", "integer", minimum=1, maximum=MAX_ID)


def json_body(model: str) -> dict:
    """A required JSON request body of a named schema."""
    return {"required": True, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{model}"}}}}


NOT_FOUND_ID = {"404": schema_response("Error", "Unknown id")}
INVALID = {"422": schema_response("Error", "Invalid fields")}
DEACTIVATED = {"204": {"description": "Deactivated (active=false)"}}


def crud_paths(plural: str, label: str, model: str, id_name: str, list_params: list[dict], conflict: str = "") -> dict:
    """The paths of a list/create + get/patch/delete resource (`conflict`: what a 409 means, if one can happen)."""
    conflicts = {"409": schema_response("Error", conflict)} if conflict else {}
    item = [path_param(id_name)]
    return {
        f"/{plural}": {
            "get": {"summary": f"List {label}", "parameters": list_params,
                    "responses": {"200": schema_response(f"{model}List"), **ERRORS}},
            "post": {"summary": f"Create a {label[:-1]}", "requestBody": json_body(f"{model}Create"),
                     "responses": {"201": schema_response(f"{model}Public", "Created"), **INVALID, **conflicts,
                                   "415": schema_response("Error", "Not JSON"), **ERRORS}}},
        f"/{plural}/{{{id_name}}}": {
            "get": {"summary": f"One {label[:-1]}", "parameters": item,
                    "responses": {"200": schema_response(f"{model}Public"), **NOT_FOUND_ID, **ERRORS}},
            "patch": {"summary": f"Update a {label[:-1]}", "parameters": item,
                      "requestBody": json_body(f"{model}Update"),
                      "responses": {"200": schema_response(f"{model}Public"), **NOT_FOUND_ID, **INVALID, **conflicts,
                                    "415": schema_response("Error", "Not JSON"), **ERRORS}},
            "delete": {"summary": f"Deactivate a {label[:-1]}", "parameters": item,
                       "responses": {**DEACTIVATED, **NOT_FOUND_ID, **ERRORS}}},
    }


def _with_common_errors(paths: dict[str, dict]) -> dict[str, dict]:
    # What any operation of its kind can answer, so no endpoint's entry can forget it.
    for path, operations in paths.items():
        for operation in operations.values():
            responses = operation["responses"]
            extra = {**(NOT_FOUND if "{" in path else {}), **(BODY_ERRORS if "requestBody" in operation else {})}
            for status, response in extra.items():
                responses.setdefault(status, response)
    return paths


def openapi_document() -> dict:
    """The OpenAPI 3.1 document of this API, schemas generated from the pydantic models."""
    _, schemas = models_json_schema([(model, "serialization") for model in OPENAPI_MODELS],
                                    ref_template="#/components/schemas/{model}")
    return {
        "openapi": "3.1.0",
        "info": {"title": "Sapa API", "version": "1",
                 "description": "A query parameter sent with an empty value (`?limit=`) is the same as one not sent."},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "components": {"schemas": schemas["$defs"],
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "paths": _with_common_errors(OPENAPI_PATHS),
    }


@api.get("/openapi.json")
def openapi():
    """The OpenAPI document (public, like most APIs' specs)."""
    return jsonify(openapi_document())

