"""`manage.py runtests` sets up what the tests need from the machine, or says how."""

import pytest
from django.core.management import call_command

from devtools import prerequisites
from devtools.management.commands import runtests
from devtools.prerequisites import PREREQUISITES, Prerequisite, prerequisites_plan

CHROMIUM, MSGFMT = PREREQUISITES


def test_nothing_missing_needs_nothing():
    assert prerequisites_plan([], is_root=False, has_apt_get=False) == prerequisites.Plan()


def test_root_with_apt_get_installs_every_missing_package_once():
    plan = prerequisites_plan([CHROMIUM, MSGFMT], is_root=True, has_apt_get=True)

    assert plan.packages == ("chromium", "fonts-liberation", "gettext")
    assert plan.refusal == ""
    assert "browser tests" in plan.why and "translation tests" in plan.why


def test_a_user_who_is_not_root_is_told_the_sudo_command():
    plan = prerequisites_plan([MSGFMT], is_root=False, has_apt_get=True)

    assert plan.packages == ()
    assert plan.refusal.endswith("Run: sudo apt-get update && sudo apt-get install -y gettext")


def test_a_machine_without_apt_get_is_told_the_packages():
    plan = prerequisites_plan([CHROMIUM], is_root=True, has_apt_get=False)

    assert plan.packages == ()
    assert "/usr/bin/chromium" in plan.refusal
    assert "chromium fonts-liberation" in plan.refusal


@pytest.fixture
def no_browser(monkeypatch, tmp_path):
    missing = Prerequisite(str(tmp_path / "chromium"), ("chromium",), "the browser tests")
    monkeypatch.setattr(prerequisites, "PREREQUISITES", (missing,))
    calls = []

    def run(args, **kwargs):
        calls.append(args)
        return runtests.subprocess.CompletedProcess(args, 0, "", "")

    monkeypatch.setattr(runtests.subprocess, "call", lambda args, **kw: calls.append(args) or 0)
    monkeypatch.setattr(runtests.subprocess, "run", run)
    return calls


def test_runtests_stops_before_any_test_when_it_may_not_install(monkeypatch, no_browser, capsys):
    monkeypatch.setattr(runtests.os, "geteuid", lambda: 1000)

    with pytest.raises(SystemExit) as stopped:
        call_command("runtests", "tests/test_rules.py")

    assert stopped.value.code == 1
    assert "sudo apt-get install -y chromium" in capsys.readouterr().err
    assert no_browser == []  # neither apt-get, lint-imports nor pytest ran


def test_runtests_stops_when_apt_get_did_not_bring_the_program(monkeypatch, no_browser, capsys):
    monkeypatch.setattr(runtests.os, "geteuid", lambda: 0)
    monkeypatch.setattr(runtests.shutil, "which", lambda name: "/usr/bin/apt-get")

    with pytest.raises(SystemExit) as stopped:
        call_command("runtests", "tests/test_rules.py")

    assert stopped.value.code == 1
    assert [call[:2] for call in no_browser] == [["apt-get", "update"], ["apt-get", "install"]]
    assert "Run: apt-get update && apt-get install -y chromium" in capsys.readouterr().err
