"""One process at a time: beat's schedule and the nightly rebuild hold database leases."""

from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command

from metrics.rebuild import REBUILD_LEASE, rollups_rebuild_nightly
from operations.beat import BEAT_LEASE, LeasedScheduler
from surveys.leases import lease_holder, lease_release, lease_take
from tests.conftest import NOW

pytestmark = pytest.mark.django_db


def test_it_gives_a_lease_to_one_holder_until_it_runs_out():
    first = lease_take(name="job", holder="a", seconds=60, now=NOW)
    second = lease_take(name="job", holder="b", seconds=60, now=NOW + timedelta(seconds=59))
    renewed = lease_take(name="job", holder="a", seconds=60, now=NOW + timedelta(seconds=59))
    taken_over = lease_take(name="job", holder="b", seconds=60, now=NOW + timedelta(seconds=200))

    assert (first, second, renewed, taken_over) == (True, False, True, True)


def test_it_frees_a_released_lease_at_once():
    lease_take(name="job", holder="a", seconds=600, now=NOW)
    lease_release(name="job", holder="a")

    assert lease_take(name="job", holder="b", seconds=60, now=NOW) is True


def test_it_rebuilds_once_a_night_however_often_queued(time_machine):
    time_machine.move_to(NOW, tick=False)
    first = rollups_rebuild_nightly(now=NOW)
    again = rollups_rebuild_nightly(now=NOW + timedelta(hours=1))
    time_machine.move_to(NOW + timedelta(days=1), tick=False)
    next_night = rollups_rebuild_nightly(now=NOW + timedelta(days=1))

    assert first is not None and next_night is not None
    assert again is None


def test_it_skips_the_rebuild_while_another_process_rebuilds():
    lease_take(name=REBUILD_LEASE, holder="other:1", seconds=600)

    assert rollups_rebuild_nightly(now=NOW) is None
    with pytest.raises(CommandError, match="Another rebuild is running"):
        call_command("rollups_rebuild")


def _scheduler(tmp_path, name):
    from config.celery import app

    return LeasedScheduler(app=app, schedule_filename=str(tmp_path / name), lazy=True)


def test_it_lets_only_one_beat_queue_its_schedule(tmp_path, monkeypatch):
    # Beat drops stale connections between ticks; the test's transaction stays open.
    monkeypatch.setattr("operations.beat.close_old_connections", lambda: None)
    sent = []
    monkeypatch.setattr(
        LeasedScheduler,
        "apply_async",
        lambda self, entry, **kw: sent.append((self.holder, entry.name)),
    )
    first, second = _scheduler(tmp_path, "a"), _scheduler(tmp_path, "b")
    for beat in (first, second):
        beat.setup_schedule()
        for entry in beat.schedule.values():
            entry.last_run_at = entry.default_now() - timedelta(days=2)

    first.tick(), second.tick()

    assert {holder for holder, _name in sent} == {first.holder}
    assert lease_holder(BEAT_LEASE) == first.holder
    first.close()
    second.tick()
    assert lease_holder(BEAT_LEASE) == second.holder
