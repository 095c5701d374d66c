"""manage.py import_responses: past answers from a CSV, no email, idempotent."""

from datetime import UTC, datetime
from io import StringIO

import pytest
from django.core.management import call_command

from followups.models import FollowUp
from metrics.check import rollups_differences
from metrics.models import ScoreRollup
from surveys.models import Invitation, Response, Ticket

pytestmark = pytest.mark.django_db

HEADER = "Ticket external id,Kind,Score,Comment,Answered at,Agent email,Team,Channel,Category\n"
GOOD = (
    "Z-1,csat,5,Great help,2026-09-01T10:00:00Z,old.agent@support.example,Billing,Email,Return\n"
    "Z-1,nps,3,,2026-09-01T10:00:00Z,old.agent@support.example,Billing,email,Return\n"
)


def run(tmp_path, text):
    path = tmp_path / "history.csv"
    path.write_text(text, encoding="utf-8")
    out, err = StringIO(), StringIO()
    try:
        call_command("import_responses", str(path), stdout=out, stderr=err)
        code = 0
    except SystemExit as exit_:
        code = exit_.code
    return code, out.getvalue(), err.getvalue()


def test_import_creates_answered_invitations_without_email(tmp_path, mailoutbox):
    code, out, _err = run(tmp_path, HEADER + GOOD)

    invitation = Invitation.objects.get(kind="csat")
    assert (code, out.strip()) == (0, "2 imported, 0 already there, 0 with errors")
    assert (invitation.survey.state, invitation.survey.sent_at) == (
        "answered",
        invitation.response.answered_at,
    )
    assert invitation.response.answered_at == datetime(2026, 9, 1, 10, 0, tzinfo=UTC)
    assert (
        invitation.survey.channel,
        invitation.survey.agent.email,
        invitation.survey.team.name,
    ) == (
        "email",
        "old.agent@support.example",
        "Billing",
    )
    assert mailoutbox == []


def test_import_twice_imports_once(tmp_path):
    run(tmp_path, HEADER + GOOD)

    code, out, _err = run(tmp_path, HEADER + GOOD)

    assert (code, out.strip()) == (0, "0 imported, 2 already there, 0 with errors")
    assert (Ticket.objects.count(), Response.objects.count()) == (1, 2)


def test_import_reports_bad_lines_and_keeps_the_good_ones(tmp_path):
    bad = "Z-2,csat,9,,2026-09-02,,,,\nZ-3,happiness,3,,2026-09-02,,,,\nZ-4,csat,4,,yesterday,,,,\n"

    code, out, err = run(tmp_path, HEADER + GOOD + bad)

    assert code == 1
    assert out.strip() == "2 imported, 0 already there, 3 with errors"
    assert [line.split(": ", 1)[1] for line in err.strip().splitlines()] == [
        "csat score 9 is outside 1-5",
        "kind 'happiness' is not csat, ces or nps",
        "answered at 'yesterday' is not a date or time (use ISO 8601)",
    ]
    assert err.splitlines()[0].endswith("history.csv:4: csat score 9 is outside 1-5")


def test_import_keeps_the_source_column_apart(tmp_path):
    text = HEADER.strip() + ",Source\n" + "Z-1,csat,4,,2026-09-01,,,,,nicereply\n"

    run(tmp_path, HEADER + GOOD)
    run(tmp_path, text)

    assert sorted(Ticket.objects.values_list("source", flat=True)) == ["import", "nicereply"]


def test_imported_answers_are_in_the_rollups_without_follow_ups(tmp_path):
    run(tmp_path, HEADER + GOOD)

    assert sorted(ScoreRollup.objects.values_list("kind", "score", "count")) == [
        ("csat", 5, 1),
        ("nps", 3, 1),
    ]
    assert rollups_differences() == []
    assert FollowUp.objects.count() == 0


def test_imported_stand_in_customer_is_opted_out(tmp_path):
    run(tmp_path, HEADER + GOOD)

    customer = Ticket.objects.get().requester
    assert (customer.email, customer.is_opted_out) == ("import-import@customers.invalid", True)


def test_importing_a_thousand_past_answers_tells_nobody(tmp_path, mailoutbox):
    """History is not news: no webhook, no Slack or Teams post, no email, no case."""
    from integrations import outbound
    from integrations.models import WebhookDelivery

    outbound.subscription_create(
        url="https://hooks.example.com/k", events=["response.created", "followup.created"]
    )
    outbound.subscription_create(
        url="https://hooks.slack.com/services/T/B/x",
        events=["response.created", "followup.created"],
        format="slack",
    )
    lines = "".join(
        f"H-{n},csat,{1 + n % 5},Slow,2026-05-{1 + n % 28:02d}T10:00:00Z,"
        f"old.agent@support.example,Billing,email,Return\n"
        for n in range(1000)
    )

    code, out, _err = run(tmp_path, HEADER + lines)

    assert (code, out.strip()) == (0, "1000 imported, 0 already there, 0 with errors")
    assert Response.objects.filter(score=1).count() == 200  # low scores among them
    assert WebhookDelivery.objects.count() == 0
    assert mailoutbox == []
    assert FollowUp.objects.count() == 0
