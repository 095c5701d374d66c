#!/usr/bin/env python3
"""Django's command-line utility, which also sets up its own environment.

Run with a Python that is not in a virtual environment, it creates `.venv`,
installs the dependencies from pyproject.toml into it (again whenever that file
changes) and runs itself there. Set KUNDPULS_NO_VENV=1 to use the current Python.
"""

import hashlib
import os
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"


def venv_ensure() -> Path:
    """Create or update .venv; return its python."""
    python = VENV / "bin" / "python"
    pyproject = (ROOT / "pyproject.toml").read_bytes()
    stamp = VENV / ".installed"
    wanted = hashlib.sha256(pyproject).hexdigest()
    if not python.exists():
        print("Creating a virtual environment in .venv ...", flush=True)
        subprocess.check_call([sys.executable, "-m", "venv", str(VENV)])
    if not stamp.exists() or stamp.read_text() != wanted:
        project = tomllib.loads(pyproject.decode())["project"]
        requirements = [*project["dependencies"], *project["optional-dependencies"]["test"]]
        print("Installing dependencies into .venv (first run only) ...", flush=True)
        subprocess.check_call(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "-q",
                *requirements,
            ]
        )
        stamp.write_text(wanted)
    return python


def main() -> None:
    if sys.prefix == sys.base_prefix and not os.environ.get("KUNDPULS_NO_VENV"):
        python = venv_ensure()
        os.execv(python, [str(python), str(Path(__file__).resolve()), *sys.argv[1:]])
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    if sys.argv[1:2] in (["up"], ["runtests"]):
        # The two commands of a development machine; everywhere else DEBUG is off
        # unless set (config/settings.py).
        os.environ.setdefault("DEBUG", "1")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
