"""A sweep queues a due row once while its message may still wait in a backlog: N due
surveys mean about N messages in the broker however many sweeps run, and a message
taken as lost (SWEEP_REQUEUE_SECONDS) or a retry that fell due again is queued anew."""

from datetime import timedelta

import pytest

from surveys import tasks
from surveys.models import Survey
from tests.conftest import NOW
from tests.factories import SurveyFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def broker(monkeypatch):
    """The tasks' messages, as a broker that no worker reads from (a backlog)."""
    messages = []

    class Task:
        def __init__(self, name):
            self.name = name

        def delay(self, argument):
            messages.append((self.name, argument))

    monkeypatch.setattr("surveys.queue.task_named", Task)
    return messages


def test_ten_sweeps_queue_each_due_survey_once(broker, time_machine):
    time_machine.move_to(NOW, tick=False)
    surveys = SurveyFactory.create_batch(5, send_after=NOW - timedelta(minutes=1))

    counts = [tasks.invitations_sweep() for _ in range(10)]

    assert counts == [5] + [0] * 9
    queued = [ticket for _name, batch in broker for ticket in batch]  # batches of tickets
    assert sorted(queued) == sorted(s.ticket_id for s in surveys)


def test_a_message_taken_as_lost_is_queued_again(broker, time_machine, settings):
    time_machine.move_to(NOW, tick=False)
    survey = SurveyFactory(send_after=NOW)
    tasks.invitations_sweep()

    time_machine.move_to(NOW + timedelta(seconds=settings.SWEEP_REQUEUE_SECONDS - 1), tick=False)
    before = tasks.invitations_sweep()
    time_machine.move_to(NOW + timedelta(seconds=settings.SWEEP_REQUEUE_SECONDS + 1), tick=False)
    after = tasks.invitations_sweep()

    assert (before, after) == (0, 1)
    assert broker == [("surveys.tasks.survey_emails_send", [survey.ticket_id])] * 2


def test_a_retry_that_falls_due_is_queued_at_once(broker, time_machine):
    time_machine.move_to(NOW, tick=False)
    survey = SurveyFactory(send_after=NOW)
    tasks.invitations_sweep()
    # The send failed for now; it is due again in five minutes.
    Survey.objects.filter(pk=survey.pk).update(send_after=NOW + timedelta(minutes=5))
    time_machine.move_to(NOW + timedelta(minutes=5), tick=False)

    assert tasks.invitations_sweep() == 1
