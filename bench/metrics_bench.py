"""Benchmark the metrics engine at a million responses, in PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kundpuls_bench \\
        .venv/bin/python bench/metrics_bench.py [--fresh] [--check]

Creates the database when it is missing (createdb), migrates it and fills it once
with generate_series (about five minutes on two cores): 440,000 tickets over two years, three
invitations per solved ticket (1,254,000) and 1,000,000 responses. A ticket gets at
most one invitation per kind, so 1,000,000 responses need at least 333,334 tickets;
300,000 could carry 900,000. Later runs reuse the data (--fresh makes it again).

Then prints: the plain SQL GROUP BY over the raw tables (the floor); the full rollup
rebuild and its ratio to the floor, four ways: from empty tables (every bucket
aggregated, bulk insert), with the tables already in step (the nightly case: every
day's raw rows checked against its rollup rows, nothing to write), after a known drift
within the last week (what lost refreshes leave) and after one spread over every day
(1,000 changed counts and 1,000 deleted rows per table, with how many rows it
rewrote); and the bucket aggregations alone, writing nothing (the least a rebuild
from empty can take); the incremental update per response (median, p95 over 200
answers), and the dashboard's server time (median, p95 over 20 loads, no filter and
one filter) against the same headline numbers straight
from the raw tables. --check also runs rollups_check at this size.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/kundpuls_bench"
os.environ.setdefault("DATABASE_URL", DEFAULT_URL)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "1")  # a development machine's settings (query log off below)
os.environ["EMAIL_URL"] = "file:///tmp/kundpuls-bench-mail"  # follow-up emails, unread

TICKETS = 440_000
RESPONSES = 1_000_000
AGENTS = 48
TEAMS = 6
CUSTOMERS = 100_000
INCREMENTAL_MARK = "bench: incremental answer"
CHANNELS = ["email", "email", "email", "chat", "chat", "phone", "web", "social"]
CATEGORIES = ["Sales question", "Technical question", "Technical question", "Cancellation",
              "Return", "Shipping", "Shipping", "Product availability"]  # fmt: skip


def database_create() -> None:
    """createdb when the bench database does not exist yet."""
    import psycopg

    url = os.environ["DATABASE_URL"]
    name = url.rsplit("/", 1)[1]
    admin_url = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
    if not exists:
        host = url.split("@", 1)[1].split(":", 1)[0]
        subprocess.run(["createdb", "-h", host, "-U", "postgres", name], check=True)
        print(f"created database {name}")


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return (time.perf_counter() - start) * 1000, result


def load() -> str:
    """The machine's load: other work on the same cores slows every figure here."""
    one, five, _fifteen = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min)"


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def _fill_defaults(cursor: Any, table: str, given: dict[str, str]) -> dict[str, str]:
    """SQL for every NOT NULL column without a default that `given` leaves out, so the
    generator keeps working when other apps add columns."""
    cursor.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_name = %s AND is_nullable = 'NO' AND column_default IS NULL",
        [table],
    )
    blanks = {"boolean": "false", "text": "''", "character varying": "''", "jsonb": "'{}'"}
    out = dict(given)
    for column, data_type in cursor.fetchall():
        if column not in out and column != "id":
            out[column] = blanks.get(data_type, "0")
    return out


def insert_select(cursor: Any, table: str, given: dict[str, str], rest: str, params: Any) -> int:
    columns = _fill_defaults(cursor, table, given)
    sql = f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(columns.values())} {rest}"
    cursor.execute(sql, params)
    return cursor.rowcount


def generate() -> None:
    from django.db import connection

    with connection.cursor() as c:
        c.execute("SELECT setseed(0.42)")
        c.execute(
            "TRUNCATE surveys_response, surveys_invitation, surveys_survey, surveys_ticket, "
            "surveys_customer, "
            "metrics_scorerollup, metrics_invitationrollup CASCADE"
        )
        c.execute(
            "DELETE FROM surveys_agent WHERE user_id IN "
            "(SELECT id FROM auth_user WHERE username LIKE 'bench-%%')"
        )
        c.execute("DELETE FROM auth_user WHERE username LIKE 'bench-%%'")
        c.execute("DELETE FROM surveys_team WHERE name LIKE 'Bench team %%'")
        insert_select(c, "surveys_team", {"name": "'Bench team ' || g"},
                      "FROM generate_series(1, %s) g", [TEAMS])  # fmt: skip
        c.execute("SELECT array_agg(id ORDER BY id) FROM surveys_team WHERE name LIKE 'Bench%%'")
        teams = c.fetchone()[0]
        insert_select(
            c, "auth_user",
            {"password": "'!'", "is_superuser": "false", "username": "'bench-' || g",
             "first_name": "'Agent'", "last_name": "g::text",
             "email": "'bench-' || g || '@support.example'", "is_staff": "false",
             "is_active": "true", "date_joined": "now()"},
            "FROM generate_series(1, %s) g", [AGENTS],
        )  # fmt: skip
        c.execute("SELECT array_agg(id ORDER BY id) FROM auth_user WHERE username LIKE 'bench-%%'")
        agents = c.fetchone()[0]
        agent_teams = [teams[i % TEAMS] for i in range(AGENTS)]
        insert_select(
            c,
            "surveys_agent",
            {"user_id": "a.u", "team_id": "a.t"},
            "FROM unnest(%s::bigint[], %s::bigint[]) a(u, t)",
            [agents, agent_teams],
        )
        insert_select(
            c, "surveys_customer",
            {"email": "'bench-' || g || '@example.com'", "name": "'Bench customer'",
             "locale": "'sv'", "created_at": "now() - interval '800 days'"},
            "FROM generate_series(1, %s) g", [CUSTOMERS],
        )  # fmt: skip
        c.execute("SELECT min(id) FROM surveys_customer")
        first_customer = c.fetchone()[0]
        started = time.perf_counter()
        insert_select(
            c, "surveys_ticket",
            {"source": "'bench'", "external_id": "g::text", "subject": "'Bench ticket'",
             "status": "CASE WHEN g %% 20 = 0 THEN 'open' ELSE 'solved' END",
             "channel": "(%s::text[])[1 + (g * 7) %% 8]",
             "category": "(%s::text[])[1 + (g * 13) %% 8]",
             "tags": "'[]'::jsonb", "url": "''",
             "requester_id": f"{first_customer} + g %% {CUSTOMERS}",
             "assignee_id": "(%s::bigint[])[1 + (g * 31) %% 48]",
             "team_id": "(%s::bigint[])[1 + (g * 31) %% 48]",
             "created_at": "created",
             "first_response_at": "created + random() * interval '8 hours'",
             "solved_at": "CASE WHEN g %% 20 = 0 THEN NULL "
                          "ELSE created + random() * interval '4 days' END",
             "agent_replies": "1 + floor(power(random(), 2) * 5)::int",
             "reopens": "CASE WHEN random() < 0.08 THEN 1 ELSE 0 END",
             "received_at": "created", "updated_at": "created"},
            "FROM (SELECT g, now() - interval '5 days' - random() * interval '725 days' AS created "
            "FROM generate_series(1, %s) g) s",
            [CHANNELS, CATEGORIES, agents, agent_teams, TICKETS],
        )  # fmt: skip
        print(f"  tickets: {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        insert_select(
            c, "surveys_survey",
            {"ticket_id": "t.id", "customer_id": "t.requester_id", "state": "'sent'",
             "reason": "''", "agent_id": "t.assignee_id", "team_id": "t.team_id",
             "channel": "t.channel", "category": "t.category", "locale": "'sv'",
             "send_after": "t.solved_at + interval '1 hour'", "attempts": "1",
             "claimed_at": "t.solved_at + interval '1 hour'",
             "sent_at": "t.solved_at + interval '1 hour'",
             "expires_at": "t.solved_at + interval '31 days'",
             "bounced_at": "CASE WHEN random() < 0.01 THEN t.solved_at + interval '2 hours' END",
             "link_key": "md5(t.id::text)", "created_at": "t.solved_at"},
            "FROM surveys_ticket t WHERE t.source = 'bench' AND t.solved_at IS NOT NULL "
            "ORDER BY t.id",
            [],
        )  # fmt: skip
        insert_select(
            c, "surveys_invitation",
            {"survey_id": "s.id", "kind": "k.kind", "scale_points": "k.scale",
             "inverted": "false", "created_at": "s.created_at"},
            "FROM surveys_survey s CROSS JOIN (VALUES ('csat', 5), ('ces', 7), ('nps', 11)) "
            "k(kind, scale) ORDER BY s.id",
            [],
        )  # fmt: skip
        print(f"  surveys and their questions: {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        insert_select(
            c, "surveys_response",
            {"invitation_id": "i.id", "raw_score": "i.sc", "score": "i.sc",
             "comment": "CASE WHEN random() < 0.15 THEN 'Bench comment ' || i.sc ELSE '' END",
             "answered_at": "i.answered", "updated_at": "i.answered",
             "processed_at": "i.answered", "kind": "i.kind", "scale_points": "i.scale_points",
             "agent_id": "i.agent_id", "team_id": "i.team_id", "channel": "i.channel",
             "category": "i.category"},
            "FROM (SELECT i.id, i.kind, i.scale_points, s.agent_id, s.team_id, s.channel, "
            "s.category, LEAST(now(), s.sent_at + random() * interval '3 days') AS answered, "
            "CASE WHEN i.kind = 'nps' THEN floor(power(random(), 0.45) * 11) "
            "ELSE 1 + floor(power(random(), 0.4) * i.scale_points) END::int AS sc "
            "FROM surveys_invitation i JOIN surveys_survey s ON s.id = i.survey_id "
            "WHERE s.bounced_at IS NULL AND s.id %% 6 <> 0 "
            "ORDER BY i.id LIMIT %s) i",
            [RESPONSES],
        )  # fmt: skip
        c.execute("UPDATE surveys_survey AS s SET state = 'answered', answer_counted = true, "
                  "answer_commented = a.commented FROM (SELECT i.survey_id, "
                  "bool_or(r.comment <> '') AS commented FROM surveys_response r "
                  "JOIN surveys_invitation i ON i.id = r.invitation_id GROUP BY 1) AS a "
                  "WHERE a.survey_id = s.id")  # fmt: skip
        print(f"  responses: {time.perf_counter() - started:.1f} s")
    with connection.cursor() as c:
        c.execute("VACUUM ANALYZE")


# The answers per kind and score, and (in the row without a kind) the survey emails
# delivered and answered.
FLOOR_SQL = """
SELECT i.kind, r.score, i.scale_points, 0 AS delivered, count(*) AS answered
FROM surveys_survey s JOIN surveys_invitation i ON i.survey_id = s.id
JOIN surveys_response r ON r.invitation_id = i.id
WHERE s.sent_at IS NOT NULL AND s.bounced_at IS NULL {where}
GROUP BY i.kind, r.score, i.scale_points
UNION ALL
SELECT NULL, NULL, NULL, count(*), count(*) FILTER (WHERE EXISTS (
    SELECT 1 FROM surveys_invitation i JOIN surveys_response r ON r.invitation_id = i.id
    WHERE i.survey_id = s.id))
FROM surveys_survey s WHERE s.sent_at IS NOT NULL AND s.bounced_at IS NULL {where}
"""


def headline_from_raw(rows: list[tuple]) -> dict[str, float | None]:
    """CSAT, CES, NPS and response rate from the plain GROUP BY's rows."""
    from metrics import formulas
    from surveys import scoring

    positive = {"csat": 0, "ces": 0, "nps": 0}
    answers = {"csat": 0, "ces": 0, "nps": 0}
    detractors = delivered = answered = 0
    for kind, score, scale, n_delivered, n_answered in rows:
        if kind is None:
            delivered, answered = n_delivered, n_answered
            continue
        answers[kind] += n_answered
        if scoring.is_positive(kind=kind, score=score, scale_points=scale):
            positive[kind] += n_answered
        elif kind == "nps" and score <= 6:
            detractors += n_answered
    passives = answers["nps"] - positive["nps"] - detractors
    return {
        "csat": formulas.percent(positive["csat"], answers["csat"]),
        "ces": formulas.percent(positive["ces"], answers["ces"]),
        "nps": formulas.nps(promoters=positive["nps"], passives=passives, detractors=detractors),
        "response_rate": formulas.percent(answered, delivered),
    }


def floor_run(where: str = "", params: Any = None) -> tuple[float, dict[str, float | None]]:
    from django.db import connection

    def run() -> list[tuple]:
        with connection.cursor() as c:
            c.execute(FLOOR_SQL.format(where=where), [*(params or []), *(params or [])])
            return c.fetchall()

    ms, rows = timed(run)
    return ms, headline_from_raw(rows)


ROLLUP_TABLES = ("metrics_scorerollup", "metrics_invitationrollup")
DRIFT = 1_000
RECENT_DAYS = 7


def drift(*, within_days: int | None = None) -> None:
    """Corrupt each rollup table: DRIFT counts off by one, DRIFT rows deleted, spread
    over all days, or within the latest days (what lost refreshes leave). The rebuild
    should then delete DRIFT rows (the wrong counts) and insert 2 * DRIFT per table."""
    from django.db import connection

    with connection.cursor() as c:
        for table in ROLLUP_TABLES:
            recent = ""
            if within_days:
                recent = f"WHERE day > (SELECT max(day) FROM {table}) - {within_days:d}"  # noqa: S608
            c.execute(
                f"SELECT id FROM {table} {recent} ORDER BY random() LIMIT %s",  # noqa: S608
                [2 * DRIFT],
            )
            ids = [row[0] for row in c.fetchall()]
            changed, deleted = ids[:DRIFT], ids[DRIFT:]
            c.execute(f"UPDATE {table} SET count = count + 1 WHERE id = ANY(%s)", [changed])  # noqa: S608
            c.execute(f"DELETE FROM {table} WHERE id = ANY(%s)", [deleted])  # noqa: S608


def rebuild_line(runs: list[float], floor: float) -> str:
    best = min(runs)
    each = ", ".join(f"{ms / 1000:.2f}" for ms in runs)
    return f"{best:.0f} ms (best of {len(runs)}: {each} s) = {best / floor:.1f} x the floor"


def aggregations_alone() -> float:
    """The two aggregations every full rebuild runs, side by side on two connections
    as the rebuild runs them, counting their rows and writing nothing: the least any
    rebuild that recomputes every bucket can take."""
    from django.db import connection, transaction
    from django.utils import timezone

    from metrics import rebuild, rollups

    zone = timezone.get_current_timezone_name()

    def count(model: Any, moment: str) -> None:
        try:
            with transaction.atomic(), connection.cursor() as c:
                c.execute("SELECT set_config('TimeZone', %s, true)", [zone])
                # The rebuild's own session settings, so the figure follows them.
                with rebuild._local_settings(work_mem="256MB", jit="off"):
                    sql, params = rebuild._fresh_select(model, rollups.SessionDate(moment))
                    c.execute(f"SELECT count(*) FROM ({sql}) AS fresh", params)  # noqa: S608
        finally:
            connection.close()

    def both() -> None:
        with ThreadPoolExecutor(max_workers=len(rebuild._REBUILDS)) as pool:
            futures = [
                pool.submit(count, model, moment)
                for model, _statements, moment in rebuild._REBUILDS
            ]
        for future in futures:
            future.result()

    return timed(both)[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fresh", action="store_true", help="generate the data again")
    parser.add_argument("--check", action="store_true", help="also run rollups_check")
    args = parser.parse_args()
    if not os.environ["DATABASE_URL"].startswith("postgres"):
        sys.exit("Set DATABASE_URL to a PostgreSQL database, e.g. " + DEFAULT_URL)
    database_create()

    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from metrics import rebuild, rollups
    from metrics.check import rollups_differences
    from metrics.models import ScoreRollup
    from metrics.selectors import ReportFilters, scores_by_group
    from surveys.answering import response_process, responses_delete
    from surveys.models import Invitation, Response, Team, Ticket

    settings.DEBUG = False  # no query log in memory
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    call_command("migrate", verbosity=0)
    print(f"PostgreSQL {connection.cursor().connection.info.server_version}, "
          f"{os.cpu_count()} cores, {load()}")  # fmt: skip

    # Answers an earlier run added for the incremental figures go first.
    marked = Response.objects.filter(comment=INCREMENTAL_MARK).values_list("pk", flat=True)
    responses_delete(response_ids=list(marked))
    if args.fresh or Ticket.objects.filter(source="bench").count() != TICKETS:
        print("generating data ...")
        ms, _ = timed(generate)
        print(f"  generated in {ms / 1000:.1f} s")
    print(f"data: {Ticket.objects.count():,} tickets, {Invitation.objects.count():,} invitations, "
          f"{Response.objects.count():,} responses")  # fmt: skip

    # 1. The floor: one plain GROUP BY over the raw tables, all of them.
    floor_all = min(floor_run()[0] for _ in range(3))
    print(f"\nplain GROUP BY over all raw rows (headline numbers): {floor_all:.0f} ms (best of 3)")

    # 2. Full rebuild: from empty tables, then the nightly case (tables in step, and
    # after a known drift), each against the floor.
    def from_empty() -> tuple[float, int, int]:
        with connection.cursor() as c:
            c.execute(f"TRUNCATE {', '.join(ROLLUP_TABLES)}")
        ms, (scores, funnel) = timed(rebuild.rollups_reconcile)
        assert scores.from_empty and funnel.from_empty
        return ms, scores.rows, funnel.rows

    empty_runs = []
    for _ in range(2):
        ms, score_rows, funnel_rows = from_empty()
        empty_runs.append(ms)
    with connection.cursor() as c:  # what autovacuum does to a day-old table
        c.execute(f"VACUUM ANALYZE {', '.join(ROLLUP_TABLES)}")
    in_step_runs = []
    for _ in range(2):
        ms, (scores, funnel) = timed(rebuild.rollups_reconcile)
        in_step_runs.append(ms)
    in_step_written = sum(t.deleted + t.inserted for t in (scores, funnel))
    in_step_days = scores.days_matched + funnel.days_matched

    def after_drift(within_days: int | None) -> tuple[list[float], Any, Any]:
        runs = []
        for _ in range(2):
            drift(within_days=within_days)
            ms, (scores, funnel) = timed(rebuild.rollups_reconcile)
            runs.append(ms)
        return runs, scores, funnel

    recent_runs, *recent = after_drift(RECENT_DAYS)
    drift_runs, *spread = after_drift(None)
    alone_runs = [aggregations_alone() for _ in range(2)]
    print(
        "the bucket aggregations alone (what a rebuild from empty runs), concurrently, "
        f"writing nothing: {rebuild_line(alone_runs, floor_all)}"
    )
    print(f"full rebuild from empty tables: {rebuild_line(empty_runs, floor_all)}")
    print(f"  ({score_rows:,} score rows, {funnel_rows:,} funnel rows)")
    print(f"full rebuild, tables in step (nightly): {rebuild_line(in_step_runs, floor_all)}")
    print(f"  rows rewritten: {in_step_written}; days recomputed bucket by bucket: {in_step_days}")
    for label, runs, (scores, funnel) in (
        (f"within the last {RECENT_DAYS} days", recent_runs, recent),
        ("spread over every day", drift_runs, spread),
    ):
        print(
            f"full rebuild after drift {label} (nightly; {DRIFT:,} changed counts and "
            f"{DRIFT:,} deleted rows per table): {rebuild_line(runs, floor_all)}"
        )
        for name, table in (("score", scores), ("funnel", funnel)):
            print(
                f"  {name}: {table.deleted:,} rows deleted, {table.inserted:,} inserted; "
                f"{table.days_matched} days recomputed bucket by bucket"
            )

    # 3. Incremental: answer 200 unanswered questions, refresh their buckets.
    unanswered = list(
        Invitation.objects.filter(
            response__isnull=True, survey__sent_at__isnull=False, survey__bounced_at=None
        )
        .select_related("survey__agent", "survey__team", "survey__ticket")
        .order_by("-survey__sent_at")[:200]
    )
    refresh_ms, process_ms = [], []
    for n, invitation in enumerate(unanswered):
        now = timezone.now()
        score = 1 + n % (10 if invitation.kind == "nps" else invitation.scale_points)
        response = Response.objects.create(
            invitation=invitation,
            raw_score=score,
            score=score,
            comment=INCREMENTAL_MARK,
            answered_at=now,
            updated_at=now,
        )
        if n % 2:
            refresh_ms.append(
                timed(lambda i=invitation: rollups.rollups_refresh(survey=i.survey, invitation=i))[
                    0
                ]
            )
        else:
            process_ms.append(timed(lambda r=response: response_process(response_id=r.pk))[0])
    print(
        "incremental rollups_refresh per response: "
        f"median {statistics.median(refresh_ms):.1f} ms, p95 {p95(refresh_ms):.1f} ms (100 answers)"
    )
    print(f"incremental response_process per response (follow-up + refresh): "
          f"median {statistics.median(process_ms):.1f} ms, p95 {p95(process_ms):.1f} ms "
          f"(100 answers)")  # fmt: skip

    # 4. The dashboard, as a staff user, against the raw GROUP BY of the same period.
    staff, _created = get_user_model().objects.get_or_create(
        username="bench-staff", defaults={"is_staff": True, "email": "staff@bench.example"}
    )
    client = Client()
    client.force_login(staff)
    team = Team.objects.filter(name__startswith="Bench").first()
    today = timezone.localdate()
    filters = ReportFilters(start=today - timedelta(days=29), end=today)
    start, end = filters.bounds()
    # The same 30 days straight from the raw rows (here all by day sent).
    where = "AND s.sent_at >= %s AND s.sent_at < %s"
    floor_30 = min(floor_run(where, [start, end])[0] for _ in range(3))
    print(f"plain GROUP BY over the raw rows of the last 30 days: {floor_30:.0f} ms (best of 3)")
    for label, query in (("all filters off", ""), (f"team={team.pk}", f"?team={team.pk}")):
        client.get("/reports/" + query)  # warm up
        loads = []
        for _ in range(20):
            ms, response = timed(lambda q=query: client.get("/reports/" + q))
            assert response.status_code == 200, response.status_code
            loads.append(ms)
        print(
            f"dashboard /reports/{query} ({label}, 30 days): "
            f"median {statistics.median(loads):.0f} ms, p95 {p95(loads):.0f} ms over 20 loads "
            f"= {p95(loads) / floor_30:.2f} x the raw GROUP BY of the same days"
        )
    ms_selector, _scores = timed(lambda: scores_by_group(filters=filters).get("all"))
    print(f"  of which the headline numbers from the rollups: {ms_selector:.0f} ms")
    raw_all = floor_run()[1]
    all_time = ReportFilters(start=today - timedelta(days=5 * 366), end=today)
    rolled = scores_by_group(filters=all_time)["all"]
    print("headline, all time, rollups vs raw GROUP BY:")
    for metric in ("csat", "ces", "nps", "response_rate"):
        print(f"  {metric:14} {rolled[metric].value:9.4f}  {raw_all[metric]:9.4f}")
    print(f"rollup rows: {ScoreRollup.objects.count():,} score rows")

    if args.check:
        ms, differences = timed(rollups_differences)
        print(f"rollups_check: {len(differences)} differences ({ms / 1000:.1f} s)")
    print(f"at the end: {load()}")


if __name__ == "__main__":
    main()
