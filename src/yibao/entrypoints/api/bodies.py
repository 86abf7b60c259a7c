"""Request bodies the OpenAPI document describes by hand: uploads the route reads from the form itself."""

from __future__ import annotations

from typing import Any


def binary(description: str) -> dict[str, Any]:
    """A file field of a multipart form."""
    return {"type": "string", "format": "binary", "description": description}


def multipart(required: list[str], properties: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """``openapi_extra`` for a route that takes a multipart form with these fields."""
    schema = {"type": "object", "required": required, "properties": properties}
    return {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": schema}}}}
