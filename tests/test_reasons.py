"""Reasons after a low score: what the customer ticks, where it is kept, and where
staff and machines read it (the case, the dashboard, the export, the API)."""

import csv
import io
import json
import re
from datetime import date, datetime, time, timedelta

import pytest
from django.utils import timezone

from followups.models import FollowUp
from integrations import outbound
from integrations.models import WebhookDelivery
from metrics.responses import reasons_top
from metrics.selectors import ReportFilters
from surveys import answering
from surveys.api import ResponseSerializer
from surveys.models import Invitation, Reason, Response, ResponseReason, ResponseRevision
from tests.factories import InvitationFactory, TicketFactory, UserFactory, default_reasons
from tests.test_survey_page import answer

pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 20)


@pytest.fixture(autouse=True)
def _default_reasons():
    default_reasons()


def reason(code, kind="csat"):
    return Reason.objects.get(kind=kind, code=code)


def ids(*codes, kind="csat"):
    return [str(reason(code, kind).pk) for code in codes]


def codes_of(response):
    return [r.code for r in response.reasons.all()]


# --- The survey page ---------------------------------------------------------------


def test_reasons_ticked_with_a_low_score_are_kept_with_the_answer(
    client, sent_survey, time_machine
):
    _ticket, token = sent_survey()

    posted = answer(
        client, time_machine, token, {"csat": "2", "csat_reasons": ids("slow", "repeat")}
    )

    assert posted.status_code == 302
    assert codes_of(Response.objects.get(kind="csat")) == ["slow", "repeat"]
    assert ResponseRevision.objects.get().reasons == ["slow", "repeat"]


def test_reasons_with_a_score_that_is_not_low_are_ignored(client, sent_survey, time_machine):
    _ticket, token = sent_survey()

    posted = answer(client, time_machine, token, {"csat": "3", "csat_reasons": ids("slow")})

    assert posted.status_code == 302
    assert Response.objects.get(kind="csat").raw_score == 3
    assert ResponseReason.objects.count() == 0


def test_changed_answer_replaces_its_reasons(client, sent_survey, time_machine):
    _ticket, token = sent_survey()
    answer(client, time_machine, token, {"csat": "1", "csat_reasons": ids("slow", "manner")})

    answer(client, time_machine, token, {"csat": "2", "csat_reasons": ids("unsolved")})
    after_second = codes_of(Response.objects.get(kind="csat"))
    answer(client, time_machine, token, {"csat": "5", "csat_reasons": ids("unsolved")})

    assert after_second == ["unsolved"]
    assert ResponseReason.objects.count() == 0
    history = list(ResponseRevision.objects.values_list("raw_score", "reasons"))
    assert history == [(1, ["slow", "manner"]), (2, ["unsolved"]), (5, [])]


def test_reasons_of_an_answer_are_ticked_when_the_page_opens_again(
    client, sent_survey, time_machine
):
    _ticket, token = sent_survey()
    answer(client, time_machine, token, {"csat": "2", "csat_reasons": ids("product")})

    page = client.get(f"/s/{token}/").content.decode()

    product = reason("product").pk
    assert f'value="{product}" checked' in page
    assert page.count(" checked") == 2  # the score and the one reason


@pytest.mark.parametrize("posted_id", ["999999", "slow", "ces:slow"])
def test_unknown_reason_is_refused_with_a_message_and_nothing_is_stored(
    client, sent_survey, time_machine, posted_id
):
    _ticket, token = sent_survey()
    # A reason of another question is as unknown here as a made-up id.
    posted_id = ids("slow", kind="ces")[0] if posted_id == "ces:slow" else posted_id

    posted = answer(client, time_machine, token, {"csat": "2", "csat_reasons": [posted_id]})

    assert posted.status_code == 400
    assert "Please choose from the reasons shown." in posted.content.decode()
    assert Response.objects.count() == 0


def test_page_offers_each_question_its_reasons_naming_the_low_scores(client, sent_survey):
    _ticket, token = sent_survey()

    page = client.get(f"/s/{token}/").content.decode()

    assert "If you chose 1 or 2:" in page  # CSAT 1-5
    assert "If you chose 1 to 3:" in page  # CES 1-7
    assert "If you chose 0 to 6:" in page  # NPS
    assert page.count("Had to repeat myself") == page.count("Agent&#x27;s manner") == 3
    low = re.findall(r'id="id_csat_\d" value="(\d)"[^>]* data-low>', page)
    assert low == ["1", "2"]


def test_page_offers_the_reasons_in_the_customers_language(client, sent_survey):
    _ticket, token = sent_survey(requester={"email": "aino@example.fi", "locale": "fi"})

    page = client.get(f"/s/{token}/").content.decode()

    assert "Hidas vastaus" in page
    assert "Jos valitsit 1 tai 2:" in page


def test_deactivated_reason_is_not_offered_nor_accepted(client, sent_survey, time_machine):
    Reason.objects.filter(code="manner").update(active=False)
    _ticket, token = sent_survey()

    page = client.get(f"/s/{token}/").content.decode()
    posted = answer(client, time_machine, token, {"csat": "1", "csat_reasons": ids("manner")})

    assert "Agent&#x27;s manner" not in page
    assert "Had to repeat myself" in page
    assert posted.status_code == 400


# --- The labels --------------------------------------------------------------------


def test_label_is_the_admins_translation_else_the_catalogues():
    slow = reason("slow")
    slow.translations = {"sv": "Det tog för lång tid"}
    slow.save()
    own = Reason.objects.create(kind="csat", code="billing", label="Billing mistake")

    assert slow.label_in("sv") == "Det tog för lång tid"
    assert slow.label_in("fi") == "Hidas vastaus"
    assert slow.label_in("en") == "Slow answer"
    assert own.label_in("fi") == "Billing mistake"


def test_admin_edits_a_reasons_translations(admin_client):
    slow = reason("slow")
    form = {"kind": "csat", "code": "slow", "label": "Slow answer", "position": 10}

    admin_client.post(
        f"/admin/surveys/reason/{slow.pk}/change/",
        {**form, "active": "on", "label_sv": " Långsamt svar ", "label_fi": ""},
    )

    slow.refresh_from_db()
    assert slow.translations == {"sv": "Långsamt svar"}
    assert slow.label_in("sv") == "Långsamt svar"


def test_admin_cannot_delete_a_reason_with_answers_only_deactivate_it(admin_client):
    given = responded(score=1, reasons=["slow"])

    refused = admin_client.post(f"/admin/surveys/reason/{reason('slow').pk}/delete/", {"post": "1"})
    admin_client.post(
        "/admin/surveys/reason/",
        {"action": "deactivate", "_selected_action": [reason("slow").pk]},
    )

    assert refused.status_code == 403
    assert reason("slow").active is False
    assert codes_of(given) == ["slow"]


# --- Where staff and machines read them ----------------------------------------------


def responded(*, kind="csat", score=1, reasons=(), days_ago=1, held=False, scale=5):
    """An answer `days_ago` days before TODAY with these reasons (codes)."""
    at = timezone.make_aware(datetime.combine(TODAY - timedelta(days=days_ago), time(10, 0)))
    invitation = InvitationFactory(
        ticket=TicketFactory(),
        kind=kind,
        state="answered",
        scale_points=scale,
        sent_at=at,
        send_after=at,
    )
    response = Response.objects.create(
        invitation=invitation, raw_score=score, score=score, answered_at=at, held=held
    )
    for code in reasons:
        ResponseReason.objects.create(response=response, reason=reason(code, kind))
    return response


@pytest.fixture
def _today(time_machine):
    time_machine.move_to(timezone.make_aware(datetime(2026, 11, 20, 15, 0)), tick=False)


@pytest.fixture
def staff_client(client, _today):
    client.force_login(UserFactory(username="boss@support.example", is_staff=True))
    return client


def period():
    return ReportFilters(start=TODAY - timedelta(days=29), end=TODAY)


@pytest.fixture
def some_reasons(_today):
    """Low CSAT and CES answers with reasons, a good one, a held one and an old one."""
    return {
        "both": responded(score=1, reasons=["slow", "repeat"]),
        "slow": responded(score=2, reasons=["slow"], days_ago=3),
        "none": responded(score=2),
        "good": responded(score=5),
        "ces": responded(kind="ces", score=2, scale=7, reasons=["slow", "unsolved"]),
        "ces_none": responded(kind="ces", score=1, scale=7),
        "held": responded(score=1, reasons=["slow"], held=True),
        "old": responded(score=1, reasons=["repeat"], days_ago=45),
    }


def test_top_reasons_counts_equal_the_raw_rows(some_reasons):
    start, end = period().bounds()
    raw = ResponseReason.objects.filter(
        response__held=False, response__answered_at__gte=start, response__answered_at__lt=end
    )
    expected = {(r.kind, r.code): raw.filter(reason=r).count() for r in Reason.objects.all()}

    rows = reasons_top(filters=period())

    counted = {(row.reason.kind, row.reason.code): row.count for row in rows}
    assert counted == {key: n for key, n in expected.items() if n}
    assert counted == {
        ("csat", "slow"): 2,
        ("ces", "slow"): 1,
        ("ces", "unsolved"): 1,
        ("csat", "repeat"): 1,
    }
    assert (rows[0].reason.kind, rows[0].reason.code) == ("csat", "slow")  # the most given


def test_top_reasons_share_is_of_the_low_answers_of_that_kind(some_reasons):
    rows = {(row.reason.kind, row.reason.code): row for row in reasons_top(filters=period())}

    # Three low CSAT answers count (the held and the old one do not); two low CES.
    assert (rows["csat", "slow"].low_answers, rows["csat", "slow"].share) == (3, 200 / 3)
    assert (rows["ces", "unsolved"].low_answers, rows["ces", "unsolved"].share) == (2, 50.0)


def test_dashboard_shows_top_reasons_with_counts_shares_and_their_answers(
    staff_client, some_reasons
):
    page = staff_client.get("/reports/")
    html = page.content.decode()
    [first, *_rest] = page.context["reasons"]

    drilled = staff_client.get(first.href)

    assert (first.label, first.kind, first.count) == ("Slow answer", "CSAT", 2)
    assert "66.7 %" in html and 'title="2 of 3 low answers"' in html
    listed = {r.pk for r in drilled.context["page"]}
    assert listed == {some_reasons["both"].pk, some_reasons["slow"].pk}
    assert "Slow answer; Had to repeat myself" in drilled.content.decode()


def test_dashboard_says_when_no_reasons_were_given(staff_client):
    responded(score=1)

    html = staff_client.get("/reports/").content.decode()

    assert "No reasons given yet." in html


def test_export_has_the_reasons_in_english(staff_client):
    responded(score=1, reasons=["repeat", "slow"])

    body = staff_client.get("/reports/responses.csv").getvalue().decode("utf-8-sig")

    [record] = list(csv.DictReader(io.StringIO(body)))
    assert record["reasons"] == "Slow answer; Had to repeat myself"


def test_case_shows_the_reasons_in_the_staff_users_language(
    client, sent_survey, time_machine, django_capture_on_commit_callbacks
):
    _ticket, token = sent_survey()
    with django_capture_on_commit_callbacks(execute=True):
        answer(client, time_machine, token, {"csat": "1", "csat_reasons": ids("unsolved")})
    case = FollowUp.objects.get()
    client.force_login(case.owner)

    page = client.get(f"/followups/{case.pk}/", HTTP_ACCEPT_LANGUAGE="fi").content.decode()

    assert "Ongelma ei ratkennut" in page


def test_webhook_and_api_carry_the_reasons_with_english_labels(
    api, sent_survey, django_capture_on_commit_callbacks
):
    outbound.subscription_create(url="https://hooks.example.com/", events=["response.created"])
    ticket, _token = sent_survey()
    invitations = list(Invitation.objects.filter(survey__ticket=ticket, kind="csat"))
    csat = [reason("slow").pk, reason("repeat").pk]

    with django_capture_on_commit_callbacks(execute=True):
        [response] = answering.response_record(
            invitations=invitations, answers={"csat": 2}, reasons={"csat": csat}
        )

    expected = [
        {"code": "slow", "label": "Slow answer"},
        {"code": "repeat", "label": "Had to repeat myself"},
    ]
    body = json.loads(WebhookDelivery.objects.get().body)
    assert body["data"]["reasons"] == expected
    assert api.get("/api/v1/responses").json()["results"][0]["reasons"] == expected
    assert ResponseSerializer(response).data["reasons"] == expected
