"""The check of the rollups against the raw rows (manage.py rollups_check): every
stored bucket compared with a fresh computation, and the copies the rollups are
computed from (surveys.copies) with the rows copied. Reads only: manage.py
rollups_rebuild (with --copies for the copies) repairs what it finds.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from surveys import copies
from surveys.models import Response, Survey

from .funnel import STEP_NAMES
from .models import InvitationRollup, ScoreRollup
from .rollups import (
    FUNNEL_COLUMNS,
    FUNNEL_DIMENSIONS,
    SCORE_COLUMNS,
    score_counts,
    step_counts,
)


def _fresh_score_rows() -> list[dict[str, Any]]:
    # The SELECT's columns are in SCORE_COLUMNS order (the order of values()).
    return [
        dict(zip(SCORE_COLUMNS, row.values(), strict=True))
        for row in score_counts(Response.objects.all())
    ]


def _fresh_funnel_rows() -> list[dict[str, Any]]:
    rows = []
    for row in step_counts(Survey.objects.all()):
        for step in STEP_NAMES:
            if row[step]:
                keys = {name: row[name] for name in ("day", *FUNNEL_DIMENSIONS)}
                rows.append({**keys, "step": step, "count": row[step]})
    return rows


COPIES_LISTED = 20  # the stale copies named one by one; the rest are counted


def _copies_differences() -> list[str]:
    """The copies the rollups are read from (surveys.copies), against the rows they
    copy."""
    out = []
    for name, stale, what in (
        ("answer", copies.responses_copies_stale(), "dimensions differ from its survey's"),
        ("survey", copies.surveys_copies_stale(), "copies of its answers are out of step"),
    ):
        ids = list(stale.order_by("pk").values_list("pk", flat=True))
        out += [f"copies: {name} {pk}: {what}" for pk in ids[:COPIES_LISTED]]
        if len(ids) > COPIES_LISTED:
            out.append(f"copies: {len(ids) - COPIES_LISTED} more of the {name}s")
    return out


def rollups_differences() -> list[str]:
    """Compare the stored rollups with a fresh computation from the raw rows, and
    the copies they are computed from with the rows copied."""

    def key(row: dict[str, Any], fields: tuple[str, ...]) -> tuple[Any, ...]:
        return tuple(row[f] for f in fields)

    out: list[str] = _copies_differences()

    def stored_once(name: str, rows: QuerySet[Any], fields: tuple[str, ...]) -> dict[Any, Any]:
        stored: dict[Any, Any] = {}
        for r in rows:
            k = key(r, fields)
            if k in stored:  # reports would count the bucket twice
                out.append(f"{name} {k}: stored more than once")
            stored[k] = (r["count"], r["commented"]) if "commented" in r else r["count"]
        return stored

    score_key = SCORE_COLUMNS[:-2]
    scores = ScoreRollup.objects.values(*score_key, "count", "commented")
    stored = stored_once("scores", scores, score_key)
    fresh = {key(r, score_key): (r["count"], r["commented"]) for r in _fresh_score_rows()}
    funnel_key = FUNNEL_COLUMNS[:-1]
    funnel = InvitationRollup.objects.values(*funnel_key, "count")
    stored_funnel = stored_once("funnel", funnel, funnel_key)
    fresh_funnel = {key(r, funnel_key): r["count"] for r in _fresh_funnel_rows()}
    for name, a, b in (("scores", stored, fresh), ("funnel", stored_funnel, fresh_funnel)):
        for k in sorted(set(a) | set(b), key=str):
            if a.get(k) != b.get(k):
                out.append(f"{name} {k}: stored {a.get(k)}, raw rows {b.get(k)}")
    return out
