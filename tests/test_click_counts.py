"""The click in the email counts: the page sends the clicked score by itself once a
person's browser has shown it, and scanners, which never run the page's script, still
record nothing."""

from datetime import timedelta

import pytest

from metrics.rebuild import rollups_rebuild
from surveys import clicks
from surveys.models import LinkClick, Response, ResponseRevision, Survey
from tests.test_survey_page import answer, form_token

pytestmark = pytest.mark.django_db


def click(client, time_machine, token, *, score="2", seconds=1.5, kind="csat", ft=None):
    """What survey.js does: open the rating link, wait, send the clicked score."""
    page = client.get(f"/s/{token}/?{kind}={score}")
    time_machine.shift(timedelta(seconds=seconds))
    data = {"kind": kind, "score": score, "ft": form_token(page) if ft is None else ft}
    return client.post(f"/s/{token}/click/", data)


def test_the_clicked_score_is_the_answer_without_the_button(client, sent_survey, time_machine):
    _ticket, token = sent_survey()

    sent = click(client, time_machine, token, score="2")

    assert sent.status_code == 204
    response = Response.objects.get()
    assert (response.kind, response.raw_score, response.held) == ("csat", 2, False)
    survey = Survey.objects.get()
    assert (survey.state, survey.completed_at) == ("answered", None)


def test_the_page_asks_its_script_to_send_only_an_emailed_rating_link(client, sent_survey):
    _ticket, token = sent_survey()

    rating = client.get(f"/s/{token}/?csat=2").content.decode()
    bare = client.get(f"/s/{token}/").content.decode()
    own = client.get(f"/s/{token}/?csat=2&lang=sv").content.decode()

    assert f'data-kp-click-url="/s/{token}/click/"' in rating
    assert 'data-kp-click-score="2"' in rating
    assert "data-kp-click-url" not in bare
    assert "data-kp-click-url" not in own  # the page's own links are not the email's


def test_a_second_visit_adds_no_second_answer(client, sent_survey, time_machine):
    _ticket, token = sent_survey()
    click(client, time_machine, token, score="2")

    again = click(client, time_machine, token, score="5")

    assert again.status_code == 204
    assert list(Response.objects.values_list("raw_score", flat=True)) == [2]
    assert ResponseRevision.objects.count() == 1
    assert "data-kp-click-url" not in client.get(f"/s/{token}/?csat=5").content.decode()


def test_the_rest_of_the_page_updates_the_same_answer_and_completes_it(
    client, sent_survey, time_machine
):
    _ticket, token = sent_survey()
    click(client, time_machine, token, score="2")

    posted = answer(client, time_machine, token, {"csat": "3", "ces": "5", "comment": "Slow"})

    assert posted.status_code == 302
    csat = Response.objects.get(kind="csat")
    assert (csat.raw_score, csat.comment) == (3, "Slow")
    assert Survey.objects.get().completed_at is not None


@pytest.mark.parametrize(
    ("seconds", "ft", "held"),
    [(0.3, None, True), (1.5, "", True), (1.5, None, False)],
    ids=["too soon", "without the form token", "a person"],
)
def test_a_send_too_soon_or_without_the_token_is_held(
    client, sent_survey, time_machine, seconds, ft, held
):
    _ticket, token = sent_survey()

    click(client, time_machine, token, seconds=seconds, ft=ft)

    assert Response.objects.get().held is held


def test_after_the_invisible_link_was_fetched_the_click_is_held(client, sent_survey, time_machine):
    _ticket, token = sent_survey()
    client.get(f"/s/{token}/h/")

    click(client, time_machine, token)

    assert Response.objects.get().held is True
    assert LinkClick.objects.filter(link=LinkClick.Link.HONEYPOT).count() == 1
    assert "invisible link" in clicks.honeypot_reason(Survey.objects.get())


def test_fetching_every_link_without_the_script_stores_nothing(client, sent_survey):
    _ticket, token = sent_survey()

    for score in range(1, 6):
        client.get(f"/s/{token}/?csat={score}")
        client.head(f"/s/{token}/?csat={score}")
    client.get(f"/s/{token}/click/")

    assert Response.objects.count() == 0


@pytest.mark.parametrize(
    "data",
    [{"kind": "csat", "score": "9"}, {"kind": "xyz", "score": "2"}, {"kind": "csat", "score": "x"},
     {}],
    ids=["off the scale", "no such question", "not a number", "nothing"],
)  # fmt: skip
def test_bad_input_is_a_400_and_stores_nothing(client, sent_survey, data):
    _ticket, token = sent_survey()

    sent = client.post(f"/s/{token}/click/", data)

    assert sent.status_code == 400
    assert "detail" in sent.json()
    assert Response.objects.count() == 0


def test_an_unknown_link_is_a_404(client, db):
    assert client.post("/s/not-a-token/click/", {"kind": "csat", "score": "2"}).status_code == 404


def test_the_funnel_shows_answered_by_click_and_completed_apart(
    client, sent_survey, time_machine, django_user_model
):
    _ticket, first = sent_survey(external_id="1")
    _ticket, second = sent_survey(external_id="2", requester={"email": "b@example.se"})
    click(client, time_machine, first, score="2")
    click(client, time_machine, second, score="4")
    answer(client, time_machine, second, {"csat": "4"})
    rollups_rebuild()
    staff = django_user_model.objects.create_user("boss", is_staff=True)
    client.force_login(staff)

    page = client.get("/reports/?from=2026-11-01&to=2026-11-30")

    steps = {step.name: step.count for step in page.context["funnel"]}
    assert (steps["answered"], steps["by_click"], steps["completed"]) == (2, 1, 1)
