"""Checks API responses against the app's own OpenAPI document."""

from __future__ import annotations

import jsonschema
from referencing import Registry
from referencing.jsonschema import DRAFT202012


def check(spec: dict, path: str, method: str, response) -> dict:
    """Validate a response body against the OpenAPI schema for its path, method and status; the body."""
    body = response.get_json()
    schema = spec["paths"][path][method]["responses"][str(response.status_code)]["content"]["application/json"]["schema"]
    registry = Registry().with_resource("urn:spec", DRAFT202012.create_resource(spec))
    validator = jsonschema.Draft202012Validator({"$ref": "urn:spec#" + schema["$ref"][1:]}, registry=registry)
    validator.validate(body)
    return body
