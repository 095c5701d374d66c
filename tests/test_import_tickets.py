import json

import pytest
from django.core.management import CommandError, call_command

from surveys.models import Survey, Ticket
from tests.conftest import ticket_event

pytestmark = pytest.mark.django_db


def test_import_jsonl_creates_tickets_and_reports_bad_lines(tmp_path, capsys):
    path = tmp_path / "tickets.jsonl"
    good = [ticket_event(external_id=str(n)) for n in range(3)]
    path.write_text("\n".join([*map(json.dumps, good), "{broken", json.dumps({"source": "x"})]))

    with pytest.raises(CommandError, match="2 records were not imported"):
        call_command("import_tickets", str(path))

    out = capsys.readouterr()
    assert "3 created, 0 updated, 2 failed" in out.out
    assert f"{path}:4: not JSON" in out.err
    assert Ticket.objects.count() == 3


def test_import_csv_maps_flat_columns(tmp_path):
    path = tmp_path / "tickets.csv"
    path.write_text(
        "source,external_id,subject,status,channel,category,tags,requester_email,requester_name,"
        "requester_locale,assignee_email,assignee_name,team,created_at,solved_at\n"
        "freshdesk,77,Broken zip,solved,chat,return,vip;no-survey,eva@example.dk,Eva,da_DK,"
        "lars@support.example,Lars Holm,Billing,2026-11-20T08:00:00Z,2026-11-21T08:00:00Z\n"
    )

    call_command("import_tickets", str(path))

    ticket = Ticket.objects.get()
    assert (ticket.source, ticket.requester.locale, ticket.tags) == (
        "freshdesk",
        "da",
        ["no-survey", "vip"],
    )
    assert Survey.objects.get().state == "suppressed"


def test_import_twice_changes_nothing(tmp_path, capsys):
    path = tmp_path / "tickets.jsonl"
    path.write_text(json.dumps(ticket_event()))
    call_command("import_tickets", str(path))

    call_command("import_tickets", str(path))

    assert "0 created, 1 updated, 0 failed" in capsys.readouterr().out
    assert Ticket.objects.count() == 1
