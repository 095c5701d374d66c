"""Untrusted JSON bodies (the API, helpdesk and email-provider webhooks): read within
limits, so bad input is a clear 400 and never a 500 or a database error."""

from __future__ import annotations

import json
from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError

# Deeper than any helpdesk or API body nests; deeper input is refused before use.
MAX_DEPTH = 32


class UntrustedJSONError(ValueError):
    """The body is not JSON Kundpuls takes; the message says why, for the sender."""


def json_read(body: bytes | str) -> Any:
    """Parse a JSON body: refused when it is not JSON, nests deeper than MAX_DEPTH, or
    carries a NUL character in any string (no database column takes one)."""
    try:
        value = json.loads(body)
    except RecursionError:
        raise UntrustedJSONError(f"JSON nests deeper than {MAX_DEPTH} levels.") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UntrustedJSONError(f"Body is not JSON: {exc}") from exc
    json_check(value)
    return value


def json_check(value: Any) -> None:
    """Refuse parsed JSON that nests too deep or has a NUL character in a string
    (a key included). Iterative, so no input can exhaust the stack."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise UntrustedJSONError(f"JSON nests deeper than {MAX_DEPTH} levels.")
        if isinstance(item, str):
            if "\x00" in item:
                raise UntrustedJSONError("JSON text may not contain a NUL character.")
        elif isinstance(item, dict):
            stack.extend((key, depth) for key in item)
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)


class JSONParser(parsers.JSONParser):
    """The API's JSON parser: bad, too deep or NUL-carrying JSON is a 400."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        body = stream.read() if stream is not None else b""
        try:
            return json_read(body)
        except UntrustedJSONError as exc:
            # DRF's own wording for a body that is not JSON; ours for the limits.
            detail = str(exc).replace("Body is not JSON: ", "JSON parse error - ", 1)
            raise ParseError(detail) from exc
