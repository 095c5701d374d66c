import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def manage(*args, **env):
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_refuses_to_start_without_secret_key():
    env = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={**env, "DEBUG": "0", "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_settings_pass_check_deploy():
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="kundpuls.example",
        SITE_URL="https://kundpuls.example",
        EMAIL_URL="smtp://mail.kundpuls.example:587",
    )

    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def bare(*args, **env):
    """manage.py as a server started with no settings of its own would run it."""
    keep = {k: os.environ[k] for k in ("PATH", "HOME", "DATABASE_URL") if k in os.environ}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**keep, "KUNDPULS_NO_VENV": "1", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_server_with_no_settings_has_debug_off_and_wants_a_secret_key():
    refused = bare("check")
    key = secrets.token_urlsafe(50)
    shown = bare(
        "shell",
        "-c",
        "from django.conf import settings; print(settings.DEBUG)",
        SECRET_KEY=key,
        EMAIL_OUTBOX_ALLOWED="1",
    )

    assert refused.returncode != 0
    assert "SECRET_KEY must be set" in refused.stderr
    assert shown.stdout.splitlines()[-1] == "False", shown.stderr


def test_production_refuses_the_outbox_unless_it_is_meant():
    key = secrets.token_urlsafe(50)

    refused = bare("check", SECRET_KEY=key)
    allowed = bare("check", SECRET_KEY=key, EMAIL_OUTBOX_ALLOWED="1")
    development = bare("check", DEBUG="1")

    assert refused.returncode != 0
    assert "kundpuls.E001" in refused.stderr
    assert allowed.returncode == 0, allowed.stderr
    assert development.returncode == 0, development.stderr
