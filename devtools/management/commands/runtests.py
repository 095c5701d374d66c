"""`manage.py runtests [pytest args]`: what the tests need from the machine (Chromium,
gettext: installed with apt-get when run as root, else the command to run is named), the
import contracts (lint-imports), then the whole test suite, with the settings and
database pytest would use (config.settings_test; DATABASE_URL picks the database)."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from devtools import prerequisites

NO_TESTS_COLLECTED = 5


def database_description() -> str:
    db = settings.DATABASES["default"]
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return "sqlite (a file under var/, made and removed by the run)"
    vendor = "postgres" if "postgresql" in db["ENGINE"] else db["ENGINE"].rsplit(".", 1)[-1]
    where = f"{db.get('HOST') or 'localhost'}:{db.get('PORT') or 'default port'}"
    return f"{vendor} (test_{db['NAME']} on {where}, made and dropped by the run)"


class Command(BaseCommand):
    help = "Run the whole test suite with pytest; every argument is passed on to pytest."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("pytest_args", nargs=argparse.REMAINDER, help="Passed to pytest.")

    def run_from_argv(self, argv: list[str]) -> None:
        # Pass every argument to pytest, also options such as -x or -k that argparse
        # would otherwise reject: a leading "--" makes them all positional.
        args = argv[2:]
        if args[:1] != ["--"]:
            args = ["--", *args]
        super().run_from_argv([*argv[:2], *args])

    def handle(self, *args: Any, pytest_args: list[str], **options: Any) -> None:
        if pytest_args[:1] == ["--"]:
            pytest_args = pytest_args[1:]
        root = Path(settings.BASE_DIR)
        (root / "var").mkdir(exist_ok=True)  # the SQLite test database lives there
        env = os.environ.copy()
        # manage.py sets config.settings; pytest must read config.settings_test from
        # pyproject.toml, and the environment variable would win over it.
        if env.get("DJANGO_SETTINGS_MODULE") == "config.settings":
            del env["DJANGO_SETTINGS_MODULE"]
        self.prerequisites_ensure()
        self.stdout.write(f"Database: {database_description()}")
        self.stdout.flush()
        # The apps' one-way structure (pyproject.toml [tool.importlinter]) before any test.
        lint_imports = Path(sys.executable).with_name("lint-imports")
        if subprocess.call([str(lint_imports), "--no-cache"], cwd=root, env=env) != 0:
            self.stderr.write("lint-imports: an import breaks the apps' one-way structure (above).")
            sys.exit(1)
        code = subprocess.call([sys.executable, "-m", "pytest", *pytest_args], cwd=root, env=env)
        if code == NO_TESTS_COLLECTED:
            self.stderr.write(
                "pytest collected no tests (exit code 5): check the arguments, or the "
                "tests/ directory and python_files in pyproject.toml. Counted as a failure."
            )
        sys.exit(code)

    def prerequisites_ensure(self) -> None:
        """Install what the tests need from the machine, or stop (exit 1) with the one
        command that would, before any test runs: a browser test never skips."""
        missing = [p for p in prerequisites.PREREQUISITES if not Path(p.program).exists()]
        plan = prerequisites.prerequisites_plan(
            missing, is_root=os.geteuid() == 0, has_apt_get=shutil.which("apt-get") is not None
        )
        if plan.refusal:
            self.stderr.write(plan.refusal)
            sys.exit(1)
        if not plan.packages:
            return
        packages = " ".join(plan.packages)
        self.stdout.write(f"Installing {packages} with apt-get (first run only): {plan.why}")
        self.stdout.flush()
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        install = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *plan.packages]
        # apt-get's own progress is kept back, and shown only if it fails.
        output = []
        for command in (["apt-get", "update", "-qq"], install):
            done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
            output.append(done.stdout + done.stderr)
            if done.returncode != 0:
                break
        if any(not Path(p.program).exists() for p in missing):
            self.stderr.write("".join(output)[-3000:])
            self.stderr.write(
                f"apt-get could not install {packages}. Run: apt-get update && "
                f"apt-get install -y {packages}"
            )
            sys.exit(1)
