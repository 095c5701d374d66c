"""The customer's answers: finding a survey by its link, recording (and changing) the
answers, processing an answer that counts, and an admin's review of held answers."""

from __future__ import annotations

import functools
import logging
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.db import connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from . import rules, scoring, signals, sql
from .models import (
    Invitation,
    Reason,
    Response,
    ResponseReason,
    ResponseRevision,
    Survey,
    SurveyLink,
    SurveyPolicy,
    Ticket,
    by_question_order,
)
from .queue import enqueue
from .reasons import raw_is_low
from .tokens import token_hash

logger = logging.getLogger(__name__)

State = Survey.State


class SurveyClosed(Exception):
    """The survey can no longer be answered (expired, or the edit window passed)."""


def survey_for_token(token: str) -> Survey | None:
    """The survey a link in its email (or its reminder) opens, if it went out."""
    return survey_questions_for_token(token)[0]


def survey_questions_for_token(token: str) -> tuple[Survey | None, list[Invitation]]:
    """The survey a link opens, with its ticket, and its questions with their answers,
    in the order they are asked: one query on the links' unique token hash. Every
    customer request starts here, so the query is written once per process
    (_LinkQuery) instead of being built by the ORM each time."""
    if not token or len(token) > 100:
        return None, []
    rows = _LinkQuery.get().run(token_hash(token))
    if not rows:
        return None, []
    return rows[0].survey, by_question_order(rows)


class _LinkQuery:
    """SELECT a link's survey, ticket, questions and answers; made once per process."""

    _made: _LinkQuery | None = None

    @classmethod
    def get(cls) -> _LinkQuery:
        if cls._made is None:
            cls._made = cls()
        return cls._made

    def __init__(self) -> None:
        parts = [(Invitation, "i"), (Survey, "s"), (Ticket, "t"), (Response, "r")]
        self.columns: list[sql.Columns] = []
        start = 0
        for model, alias in parts:
            self.columns.append(sql.Columns(model, alias, start))
            start = self.columns[-1].end
        table = {model: connection.ops.quote_name(model._meta.db_table) for model, _a in parts}
        link = connection.ops.quote_name(SurveyLink._meta.db_table)
        token_hash_column = f"{link}.{connection.ops.quote_name('token_hash')}"
        states = ", ".join(["%s"] * len(Survey.MAILED_STATES))
        self.states = [str(state) for state in Survey.MAILED_STATES]
        # Names from the models' metadata; the token hash and states are parameters.
        self.sql = (
            f"SELECT {', '.join(c.select for c in self.columns)} FROM {link}"  # noqa: S608
            f" JOIN {table[Survey]} s ON s.id = {link}.survey_id"
            f" JOIN {table[Ticket]} t ON t.id = s.ticket_id"
            f" JOIN {table[Invitation]} i ON i.survey_id = s.id"
            f" LEFT JOIN {table[Response]} r ON r.invitation_id = i.id"
            f" WHERE {token_hash_column} = %s AND s.state IN ({states})"
        )

    def run(self, hashed: str) -> list[Invitation]:
        with sql.cursor() as db:
            db.execute(self.sql, [hashed, *self.states])
            rows = db.fetchall()
        questions, survey = [], None
        for row in rows:
            invitation, row_survey, ticket, response = (c.build(row) for c in self.columns)
            if survey is None:
                survey = row_survey
                survey.ticket = ticket
            invitation.survey = survey
            if response is None:  # known to have none: no query to find out
                Invitation.response.related.set_cached_value(invitation, None)
            else:
                invitation.response = response
            questions.append(invitation)
        return questions


def survey_is_expired(survey: Survey, invitations: list[Invitation], now: datetime) -> bool:
    """Too late to answer: nothing answered, and the link's time is up."""
    unanswered = not any(hasattr(i, "response") for i in invitations)
    return unanswered and (
        survey.state == State.EXPIRED or (survey.expires_at is not None and survey.expires_at < now)
    )


def survey_edit_closed(
    invitations: list[Invitation], now: datetime, policy: SurveyPolicy | None = None
) -> bool:
    policy = policy or SurveyPolicy.load()
    answered = [i.response for i in invitations if hasattr(i, "response")]
    return bool(answered) and all(
        r.answered_at + timedelta(days=policy.edit_days) < now for r in answered
    )


def response_record(
    *,
    invitations: list[Invitation],
    answers: dict[str, int | None],
    comment: str = "",
    now: datetime | None = None,
    held_reason: str = "",
    language: str = "",
    policy: SurveyPolicy | None = None,
    reasons: dict[str, list[int]] | None = None,
    completed: bool = True,
) -> list[Response]:
    """Store the customer's answers to these questions of one survey (a change within
    the edit window replaces the
    previous answer and keeps it as history). Raises SurveyClosed when too late.

    `reasons` are the ids of the reasons ticked per kind: kept with a low answer of
    that kind (replacing those of the previous answer), ignored with any other, as
    are ids that are not offered reasons of that kind.

    With a held_reason the answers are kept but held for review: no follow-up, no
    metrics, until an admin approves them (responses_release). A language the
    customer chose on the page is kept for the survey's later pages. The page passes
    the policy it already loaded. `completed` is False for the score a rating link's
    click sends by itself (the page's form was not sent)."""
    now = now or timezone.now()
    survey = invitations[0].survey
    held = bool(held_reason)
    closed = survey_edit_closed(invitations, now, policy)
    if survey_is_expired(survey, invitations, now) or closed:
        raise SurveyClosed
    comment = comment.strip()[: rules.COMMENT_MAX_CHARS]
    answered = [i for i in invitations if answers.get(i.kind) is not None]
    saved: list[Response] = []
    # The reasons kept with each answer, and the answers that replace one (by question).
    ticked: dict[int, list[Reason]] = {}
    replaced: list[int] = []
    for index, inv in enumerate(answered):
        raw = int(answers[inv.kind])  # type: ignore[arg-type]
        low, high = scoring.score_range(kind=inv.kind, scale_points=inv.scale_points)
        if not low <= raw <= high:
            raise ValueError(f"{inv.kind} score {raw} outside {low}-{high}")
        previous = getattr(inv, "response", None)
        response = Response(
            invitation=inv,
            raw_score=raw,
            score=scoring.normalise(
                kind=inv.kind, raw=raw, scale_points=inv.scale_points, inverted=inv.inverted
            ),
            # The comment belongs to the survey, kept once on its first answer.
            comment=comment if index == 0 else "",
            answered_at=previous.answered_at if previous is not None else now,
            updated_at=now,
            held=held,
            held_reason=held_reason[:200],
            released_at=None,
            processed_at=None,
        )
        response.copy_dimensions(inv)
        ticked[inv.pk] = _reasons_kept(inv, raw, (reasons or {}).get(inv.kind, []))
        if previous is not None:
            replaced.append(inv.pk)
        saved.append(response)
    language = language if language in rules.SUPPORTED_LANGUAGES else ""
    completed_at = now if completed and saved else None
    if saved and not replaced and not any(ticked.values()) and _one_statement():
        # A first answer without reasons, the usual one: one statement, and so no
        # transaction to begin and commit (PostgreSQL).
        _answered_at_once(survey, saved, now, language, completed_at=completed_at)
        enqueue("surveys.tasks.responses_process", [r.pk for r in saved])
        return saved
    with transaction.atomic():
        if saved:
            # One upsert for the answers (a change keeps the first answer's time and
            # the copies taken then), one insert for their history.
            _answers_store(saved, now, ticked)
            _reasons_store(saved, ticked, replaced)
        if saved or (language and language != survey.locale):
            _survey_answered(survey, language, answered=bool(saved), completed_at=completed_at)
        if saved:
            # What follows from an answer (follow-ups, metrics, webhooks) is the worker's.
            enqueue("surveys.tasks.responses_process", [r.pk for r in saved])
    return saved


def _reasons_kept(invitation: Invitation, raw: int, reason_ids: list[int]) -> list[Reason]:
    """The offered reasons among those ticked, with a low score only."""
    if not reason_ids or not raw_is_low(invitation, raw):
        return []
    wanted = set(reason_ids)
    return [r for r in Reason.offered()[invitation.kind] if r.pk in wanted]


def _reasons_store(
    responses: list[Response], ticked: dict[int, list[Reason]], replaced: list[int]
) -> None:
    """Replace the answers' reasons (by question id): a DELETE for changed answers
    and an INSERT for the reasons ticked, each only when needed (the customer waits)."""
    changed = [r.pk for r in responses if r.invitation_id in replaced]
    if changed:
        ResponseReason.objects.filter(response_id__in=changed).delete()
    given = [
        ResponseReason(response=response, reason=reason)
        for response in responses
        for reason in ticked[response.invitation_id]
    ]
    if given:
        ResponseReason.objects.bulk_create(given)


_ANSWER_COLUMNS = [f.name for f in Response._meta.concrete_fields if not f.primary_key]
_REVISION_COLUMNS = ["response", "raw_score", "comment", "reasons", "submitted_at"]


def _answers_store(
    responses: list[Response], now: datetime, ticked: dict[int, list[Reason]]
) -> None:
    stored = sql.rows_insert(
        Response,
        responses,
        _ANSWER_COLUMNS,
        upsert_on="invitation",
        update=Response.ANSWER_FIELDS,
    )
    pks = {invitation_id: pk for pk, invitation_id in stored}
    for response in responses:
        response.pk = pks[response.invitation_id]
        response._state.adding = False
    revisions = [
        ResponseRevision(
            response=r,
            raw_score=r.raw_score,
            comment=r.comment,
            reasons=[reason.code for reason in ticked[r.invitation_id]],
            submitted_at=now,
        )
        for r in responses
    ]
    sql.rows_insert(ResponseRevision, revisions, _REVISION_COLUMNS)


def _one_statement() -> bool:
    """Whether the database runs an INSERT inside a WITH, and so takes a first answer,
    its history and its survey's UPDATE in one statement (PostgreSQL)."""
    return connection.vendor == "postgresql"


def _answered_at_once(
    survey: Survey,
    responses: list[Response],
    now: datetime,
    language: str,
    *,
    completed_at: datetime | None,
) -> None:
    """_answers_store, and _survey_answered with the answers' copies, in one statement,
    for answers that replace none and have no reasons. Its parts all see the rows as
    they were before it: the copies are worked out from the new answers and the
    survey's other ones."""
    insert, params = sql.insert_statement(
        Response,
        responses,
        _ANSWER_COLUMNS,
        upsert_on="invitation",
        update=Response.ANSWER_FIELDS,
        returning=("raw_score", "comment"),
    )
    counted = not responses[0].held
    commented = counted and responses[0].comment != ""
    changes, change_params = _survey_changes(survey, language, completed_at)
    others = ", ".join(["%s"] * len(responses))
    statement = _answered_at_once_sql(changes, others).format(insert=insert)
    with sql.cursor() as db:
        db.execute(
            statement,
            [
                *params,
                now,
                str(State.ANSWERED),
                counted,
                *[r.invitation_id for r in responses],
                commented,
                *[r.invitation_id for r in responses],
                *change_params,
                survey.pk,
            ],
        )
        pks = dict((invitation_id, pk) for pk, invitation_id in db.fetchall())
    for response in responses:
        response.pk = pks[response.invitation_id]
        response._state.adding = False


@functools.cache
def _answered_at_once_sql(changes: tuple[str, ...], others: str) -> str:
    quote = connection.ops.quote_name
    revision, survey = (quote(m._meta.db_table) for m in (ResponseRevision, Survey))
    columns = ", ".join(
        quote(ResponseRevision._meta.get_field(name).column) for name in _REVISION_COLUMNS
    )
    counted, commented = (
        f"(%s OR EXISTS({condition} AND r.invitation_id NOT IN ({others})))"
        for condition in _counted_sql()
    )
    sets = ", ".join(
        [
            f"{quote('state')} = %s",
            f"{quote('answer_counted')} = {counted}",
            f"{quote('answer_commented')} = {commented}",
            *changes,
        ]
    )
    # Names from the models only; every value is a parameter.
    return (
        "WITH answers AS ({insert}), "  # noqa: S608
        f"revisions AS (INSERT INTO {revision} ({columns}) "
        "SELECT a.id, a.raw_score, a.comment, CAST('[]' AS jsonb), CAST(%s AS timestamptz) "
        "FROM answers a), "
        f"survey AS (UPDATE {survey} SET {sets} WHERE id = %s) "
        "SELECT id, invitation_id FROM answers"
    )


def _survey_answered(
    survey: Survey, language: str, *, answered: bool, completed_at: datetime | None
) -> None:
    """Mark the survey answered, with its copies of its answers (what
    models.answer_copies() defines), and completed when the page's form was sent (the
    first time), and keep a language the customer chose: one hand-written UPDATE."""
    quote = connection.ops.quote_name
    sets: list[str] = []
    params: list[Any] = []
    if answered:
        sets.append(f"{quote('state')} = %s")
        params.append(str(State.ANSWERED))
        counted, commented = _counted_sql()
        sets.append(f"{quote('answer_counted')} = EXISTS({counted})")
        sets.append(f"{quote('answer_commented')} = EXISTS({commented})")
    changes, change_params = _survey_changes(survey, language, completed_at)
    sets.extend(changes)
    params.extend(change_params)
    if not sets:
        return
    with sql.cursor() as db:
        db.execute(
            f"UPDATE {quote(Survey._meta.db_table)} SET {', '.join(sets)} WHERE id = %s",  # noqa: S608
            [*params, survey.pk],
        )


def _survey_changes(
    survey: Survey, language: str, completed_at: datetime | None
) -> tuple[tuple[str, ...], list[Any]]:
    """The survey's completed_at (set once) and a language the customer chose, as SET
    clauses and their parameters."""
    quote = connection.ops.quote_name
    sets: list[str] = []
    params: list[Any] = []
    if completed_at is not None and survey.completed_at is None:
        column = quote("completed_at")
        sets.append(f"{column} = COALESCE({column}, %s)")
        field = Survey._meta.get_field("completed_at")
        params.append(field.get_db_prep_save(completed_at, connection))
    if language and language != survey.locale:
        sets.append(f"{quote('locale')} = %s")
        params.append(language)
    return tuple(sets), params


@functools.cache
def _counted_sql() -> tuple[str, str]:
    """models.answer_copies() as plain SQL, cheap to put in the survey's UPDATE on every
    answer (the ORM builds its subqueries anew each time): a survey's answers that
    count, and those of them with a comment. tests/test_copies.py checks the copies an
    answer leaves, and rollups_check compares them with the answers. Names from the
    models only: no value of anyone's in these statements."""
    quote = connection.ops.quote_name
    response, invitation, survey = (
        quote(model._meta.db_table) for model in (Response, Invitation, Survey)
    )
    counted = (
        f"SELECT 1 FROM {response} r JOIN {invitation} i ON i.id = r.invitation_id "  # noqa: S608
        f"WHERE i.survey_id = {survey}.id AND NOT r.held"
    )
    return counted, f"{counted} AND (r.comment <> '' OR r.comment_erased_at IS NOT NULL)"


def response_process(*, response_id: int, now: datetime | None = None) -> Response | None:
    """Tell the apps built on the core about an answer: one that counts through
    signals.answer_counted (a follow-up for a low score, the metrics it touches), one
    held for review through signals.answer_held (a follow-up only). Then mark it
    processed. Safe to repeat; an answer changed meanwhile stays unprocessed and runs
    again (a held answer an admin approves is processed again as one that counts)."""
    now = now or timezone.now()
    response = (
        Response.objects.select_related(
            "invitation__survey__ticket", "invitation__survey__agent", "invitation__survey__team"
        )
        .filter(pk=response_id)
        .first()
    )
    if response is None:
        logger.info("response %s is gone; nothing to process", response_id)
        return None
    if response.held:
        # A held answer counts in no score, but may replace one that did.
        signals.survey_changed_send(response.invitation.survey, response.invitation)
    signal = signals.answer_held if response.held else signals.answer_counted
    signal.send(sender=Response, response=response, now=now)
    # Only this version counts as processed: a change made meanwhile runs again.
    Response.objects.filter(pk=response.pk, updated_at=response.updated_at).update(processed_at=now)
    return response


def responses_unprocessed(*, older_than: timedelta, now: datetime) -> list[int]:
    return list(
        Response.objects.filter(processed_at__isnull=True, updated_at__lt=now - older_than)
        .order_by("updated_at")
        .values_list("pk", flat=True)[:1000]
    )


def responses_release(*, response_ids: list[int], now: datetime | None = None) -> int:
    """Count held answers an admin approved: they get follow-ups and enter the
    metrics like any other. Safe to repeat. Returns how many were released."""
    now = now or timezone.now()
    with transaction.atomic():
        released = list(Response.objects.select_for_update().filter(pk__in=response_ids, held=True))
        Response.objects.filter(pk__in=[r.pk for r in released]).update(
            held=False, released_at=now, processed_at=None, updated_at=now
        )
        Survey.objects.filter(invitations__response__in=released).answers_copy()
        for response in released:
            response.held, response.released_at, response.updated_at = False, now, now
        if released:
            enqueue("surveys.tasks.responses_process", [r.pk for r in released])
    return len(released)


def responses_discard(*, response_ids: list[int], now: datetime | None = None) -> int:
    """Delete held answers an admin judged automated; their survey opens again.
    Returns how many were deleted. An answer approved meanwhile is kept: the held
    ones are locked first, as responses_release locks them."""
    now = now or timezone.now()
    with transaction.atomic():
        held = Response.objects.select_for_update().filter(pk__in=response_ids, held=True)
        ids = list(held.values_list("pk", flat=True))
        surveys = list(Survey.objects.filter(invitations__response__in=ids).distinct())
        deleted = responses_delete(response_ids=ids, now=now)
        if surveys:
            signals.answers_discarded.send(sender=Response, surveys=surveys, now=now)
        return deleted


def responses_delete(*, response_ids: list[int], now: datetime | None = None) -> int:
    """Delete answers: their surveys open again (unless expired) when none is left,
    and the metrics they were in are refreshed. Returns how many were deleted."""
    now = now or timezone.now()
    with transaction.atomic():
        answers = Response.objects.filter(pk__in=response_ids)
        answered = dict(answers.values_list("invitation_id", "answered_at"))
        invitations = list(Invitation.objects.filter(pk__in=answered).select_related("survey"))
        answers.delete()
        surveys = Survey.objects.filter(pk__in={i.survey_id for i in invitations})
        surveys.answers_copy()
        still_answered = Response.objects.filter(invitation__survey=OuterRef("pk"))
        reopened = surveys.filter(state=State.ANSWERED).exclude(Exists(still_answered))
        reopened.filter(expires_at__lt=now).update(state=State.EXPIRED)
        reopened.exclude(expires_at__lt=now).update(state=State.SENT)
        for invitation in invitations:
            transaction.on_commit(
                partial(
                    signals.survey_changed_send,
                    invitation.survey,
                    invitation,
                    answered[invitation.pk],
                )
            )
    return len(invitations)
