"""gunicorn's access log without link tokens (Procfile: --logger-class): survey,
recovery and unsubscribe paths are logged with the token replaced."""

from __future__ import annotations

from typing import Any

from gunicorn.glogging import Logger

from surveys.pages import links_redacted


class RedactingLogger(Logger):
    def atoms(self, resp: Any, req: Any, environ: dict, request_time: Any) -> dict:
        """Every atom a log format may use (the request line, the path, the referer and
        any header) without link tokens."""
        atoms = super().atoms(resp, req, environ, request_time)
        return {
            name: links_redacted(value) if isinstance(value, str) else value
            for name, value in atoms.items()
        }
