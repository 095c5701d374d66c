"""gunicorn's access log without link tokens or email addresses (Procfile:
--logger-class): survey, recovery and unsubscribe paths are logged with the token
replaced, and an address (GET /api/v1/customers/export?email=...) with "[address]"."""

from __future__ import annotations

from typing import Any

from gunicorn.glogging import Logger

from privacy.logs import addresses_redacted
from surveys.pages import links_redacted


class RedactingLogger(Logger):
    def atoms(self, resp: Any, req: Any, environ: dict, request_time: Any) -> dict:
        """Every atom a log format may use (the request line, the path, the referer and
        any header) without link tokens or addresses, plain or %-encoded."""
        atoms = super().atoms(resp, req, environ, request_time)
        return {
            name: _redacted(value) if isinstance(value, str) else value
            for name, value in atoms.items()
        }


def _redacted(value: str) -> str:
    return addresses_redacted(links_redacted(value.replace("%40", "@").replace("%2540", "@")))
