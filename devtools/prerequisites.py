"""What the test suite needs from the machine besides Python packages, and what to do
when some of it is missing: install it (root with apt-get) or say the one command to run.

The decision is a pure function (prerequisites_plan); `manage.py runtests` looks at
the machine, asks it, and carries the plan out before the first test runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Prerequisite:
    program: str  # the file the tests use
    packages: tuple[str, ...]  # the Debian packages that bring it
    why: str


PREREQUISITES = (
    Prerequisite(
        "/usr/bin/chromium",
        ("chromium", "fonts-liberation"),
        "the browser tests drive it (and pages need a font)",
    ),
    Prerequisite("/usr/bin/msgfmt", ("gettext",), "the translation tests check the catalogues"),
)


@dataclass(frozen=True)
class Plan:
    """Nothing to do (no packages, no refusal), packages to install, or a refusal: the
    one line that tells the user what to run."""

    packages: tuple[str, ...] = ()
    why: str = ""
    refusal: str = ""


def prerequisites_plan(
    missing: Sequence[Prerequisite], *, is_root: bool, has_apt_get: bool
) -> Plan:
    """Install what is missing when this process may (root, with apt-get); otherwise
    name the command that would."""
    if not missing:
        return Plan()
    packages = tuple(dict.fromkeys(p for prerequisite in missing for p in prerequisite.packages))
    why = "; ".join(f"{p.program}: {p.why}" for p in missing)
    if not has_apt_get:
        programs = ", ".join(p.program for p in missing)
        return Plan(
            refusal=f"The tests need {programs} ({why}); install the packages "
            f"{' '.join(packages)} with your system's package manager, then run the tests again."
        )
    if not is_root:
        return Plan(
            refusal=f"The tests need {why}. Run: sudo apt-get update && sudo apt-get install -y "
            f"{' '.join(packages)}"
        )
    return Plan(packages=packages, why=why)
