"""What the core tells the apps built on it. It imports none of them: follow-ups,
integrations and metrics connect receivers to these signals in their AppConfig.ready.

Every signal is sent synchronously, inside the transaction that made the change
(or right after its commit, where the sender says so); a receiver that raises
makes the sender's work fail and, for work driven by a sweep, be tried again.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import Any

from django.dispatch import Signal

# An answer that counts (recorded, changed, or released after review) is being
# processed by its task or the sweep. kwargs: response, now. Receivers must be safe
# to run twice for the same answer: a crash before the answer is marked processed
# runs them again.
answer_counted = Signal()

# An answer held for review (it looks automated) is being processed by its task or the
# sweep: it counts in no score, but a follow-up may be opened for it at once, marked as
# held. kwargs: response, now. Receivers must be safe to run twice.
answer_held = Signal()

# An admin discarded answers held for review (they looked automated); the answers are
# deleted. kwargs: surveys (the surveys they belonged to), now.
answers_discarded = Signal()

# What the metrics count of one survey changed: it was clicked, bounced or
# complained about; or one of its answers was recorded while held, or deleted.
# kwargs: survey; invitation (the question whose answer changed, or None);
# answered_at (the deleted answer's time, or None).
survey_changed = Signal()


# Survey emails went out (a batch of sending.survey_emails_send, or one). kwargs:
# surveys (each with its sent_at). Receivers refresh what they count once per batch.
surveys_sent = Signal()


def survey_changed_send(
    survey: Any, invitation: Any = None, answered_at: datetime | None = None
) -> None:
    """Send survey_changed for one survey (on its own, or after commit)."""
    survey_changed.send(
        sender=type(survey), survey=survey, invitation=invitation, answered_at=answered_at
    )


# Rows written while a history import runs (past answers from another tool) are history,
# not events: receivers that tell the outside world (webhooks, chat posts, emails) stay
# quiet while it is set. See history_import() and is_history().
_history: ContextVar[bool] = ContextVar("kundpuls_history_import", default=False)


@contextmanager
def history_import() -> Iterator[None]:
    """Write history inside this block: no webhook, chat post or email goes out for it."""
    token = _history.set(True)
    try:
        yield
    finally:
        _history.reset(token)


def is_history() -> bool:
    """Whether the rows being written now are history (a history import)."""
    return _history.get()
