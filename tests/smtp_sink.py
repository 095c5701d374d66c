"""A real SMTP server on loopback (aiosmtpd) that keeps every message it is given,
for the tests where an email must arrive: the integration tests (which point the
processes they start at it) and the browser tests (Django's SMTP backend in the
live server)."""

from __future__ import annotations

import asyncio
import email
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from typing import Any, TypeVar

from aiosmtpd.controller import Controller

# How long a test waits for work to happen (an email to arrive, say).
DEADLINE = 30.0

T = TypeVar("T")


def wait_until(
    check: Callable[[], T], *, timeout: float = DEADLINE, interval: float = 0.1, what: str = ""
) -> T:
    """Call check until it returns something truthy and return that; fail after timeout."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        last = check()
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError(
                f"timed out after {timeout:.0f} s waiting for {what or check}; last: {last!r}"
            )
        time.sleep(interval)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Mail:
    rcpt_tos: list[str]
    raw: bytes
    message: EmailMessage

    def header(self, name: str) -> str | None:
        # Django folds a long header value onto its own line ("Subject: \n =?utf-8?...");
        # the parser keeps that fold's space at the start.
        value = self.message[name]
        return None if value is None else str(value).strip()

    @property
    def subject(self) -> str:
        return self.header("Subject") or ""

    def part(self, content_type: str) -> str:
        found = self.message.get_body(preferencelist=(content_type.split("/")[1],))
        assert found is not None and found.get_content_type() == content_type, (
            f"no {content_type} part in:\n{self.raw.decode(errors='replace')[:3000]}"
        )
        return found.get_content()

    @property
    def text(self) -> str:
        return self.part("text/plain")

    @property
    def html(self) -> str:
        return self.part("text/html")


class Mailbox:
    """An aiosmtpd handler that keeps every message it is given."""

    def __init__(self) -> None:
        self._messages: list[Mail] = []
        self._lock = threading.Lock()
        # A test may have the server keep the message and wait this long before its
        # final "250" (the window in which a crashed sender does not know it was sent);
        # `receiving` is set each time a message waits so.
        self.reply_delay = 0.0
        self.receiving = threading.Event()
        # Addresses the server refuses for good (550 5.1.1), as for a mailbox that is gone.
        self.refused: set[str] = set()
        # Addresses at which the server gives up on the connection (421), as a server
        # that restarts or times a client out does.
        self.closing: set[str] = set()
        # The client end (address, port) of each connection that delivered a message.
        self.peers: set[tuple[str, int]] = set()

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list
    ) -> str:
        if address in self.refused:
            return "550 5.1.1 No such user"
        if address in self.closing:
            return "421 4.3.2 Service shutting down, closing the connection"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        message = email.message_from_bytes(raw, policy=policy.default)
        with self._lock:
            self._messages.append(Mail(list(envelope.rcpt_tos), raw, message))  # type: ignore[arg-type]
            self.peers.add(tuple(session.peer[:2]))
        if self.reply_delay:
            self.receiving.set()
            await asyncio.sleep(self.reply_delay)
        return "250 Message accepted for delivery"

    @property
    def messages(self) -> list[Mail]:
        with self._lock:
            return list(self._messages)

    def to(self, address: str) -> list[Mail]:
        return [m for m in self.messages if address in m.rcpt_tos]

    def wait_for(self, address: str, count: int = 1, timeout: float = DEADLINE) -> list[Mail]:
        return wait_until(
            lambda: len(self.to(address)) >= count and self.to(address),
            timeout=timeout,
            what=f"{count} email(s) to {address} (all mail: "
            f"{[(m.rcpt_tos, m.subject) for m in self.messages]})",
        )


@contextmanager
def smtp_sink(*, smtputf8: bool = True) -> Iterator[tuple[Mailbox, int]]:
    """An SMTP server on a free loopback port: (its mailbox, its port). Like most
    servers today it offers SMTPUTF8 (addresses with a non-ASCII local part), unless
    told not to."""
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every command
    mailbox = Mailbox()
    controller = Controller(
        mailbox, hostname="127.0.0.1", port=free_port(), enable_SMTPUTF8=smtputf8
    )
    controller.start()
    try:
        yield mailbox, controller.port
    finally:
        controller.stop()
