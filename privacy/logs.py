"""A logging filter: no email address reaches the logs. A delivery failure quotes the
recipient ("550 <anna@kund.example>: no such user"); the log keeps "[address]"."""

from __future__ import annotations

import logging
import re

_ADDRESS = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")


def addresses_redacted(text: str) -> str:
    return _ADDRESS.sub("[address]", text)


class RedactAddresses(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed call: logging reports it itself
            return True
        redacted = addresses_redacted(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        if record.exc_info and not record.exc_text:
            traceback = logging.Formatter().formatException(record.exc_info)
            record.exc_text = addresses_redacted(traceback)
        return True
