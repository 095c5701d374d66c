"""The web server's publisher (surveys.queue): a request hands its Celery messages to a
thread and never waits on the broker; answers recorded together are one message."""

import threading
import time

import pytest

from surveys import queue


def test_ids_of_a_batched_task_go_out_as_one_message_in_order():
    pending = [
        ("surveys.tasks.responses_process", ([1, 2],)),
        ("surveys.tasks.survey_email_send", (7,)),
        ("surveys.tasks.responses_process", ([3],)),
    ]

    assert queue.messages_gathered(pending) == [
        ("surveys.tasks.survey_email_send", (7,)),
        ("surveys.tasks.responses_process", ([1, 2, 3],)),
    ]


def test_a_long_batch_is_split_at_batch_ids():
    pending = [("surveys.tasks.responses_process", ([n],)) for n in range(queue.BATCH_IDS + 3)]

    sizes = [len(args[0]) for _name, args in queue.messages_gathered(pending)]

    assert sizes == [queue.BATCH_IDS, 3]


@pytest.fixture
def published(monkeypatch):
    sent: list[tuple[str, tuple]] = []
    monkeypatch.setattr(queue, "publish", lambda name, args: sent.append((name, args)))
    monkeypatch.setattr(queue, "BATCH_SECONDS", 0.05)
    return sent


def test_the_publisher_thread_sends_what_requests_hand_it(published):
    publisher = queue._Publisher()
    publisher.running = True

    for n in range(5):
        publisher.put("surveys.tasks.responses_process", ([n],))
    deadline = time.monotonic() + 5
    while not published and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.1)

    assert published == [("surveys.tasks.responses_process", ([0, 1, 2, 3, 4],))]
    assert any(t.name == "kundpuls-publisher" for t in threading.enumerate())


def test_a_hung_broker_holds_the_thread_not_the_request(published, monkeypatch):
    release = threading.Event()
    monkeypatch.setattr(queue, "publish", lambda name, args: release.wait(5) or published.append(1))
    publisher = queue._Publisher()

    started = time.monotonic()
    for n in range(20):
        publisher.put("surveys.tasks.survey_email_send", (n,))

    assert time.monotonic() - started < 0.5
    release.set()


def test_what_the_thread_still_holds_is_sent_on_flush(published, monkeypatch):
    monkeypatch.setattr(queue, "BATCH_SECONDS", 30)
    publisher = queue._Publisher()
    publisher.put("surveys.tasks.survey_email_send", (1,))

    publisher.flush()  # as atexit does when the process ends

    assert published == [("surveys.tasks.survey_email_send", (1,))]
