import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from surveys import tasks
from surveys.models import LinkClick, Response, Survey, SurveyPolicy
from tests.test_survey_email import PNG

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client, django_user_model):
    user = django_user_model.objects.create_superuser("admin", "admin@example.com", "pw")
    client.force_login(user)
    return client


def test_invitation_admin_counts_clicks_and_filtered_ones(
    staff, client, sent_survey, django_capture_on_commit_callbacks
):
    _ticket, token = sent_survey()
    client.get(f"/s/{token}/h/")
    client.get(f"/s/{token}/?csat=4")
    with django_capture_on_commit_callbacks(execute=True):
        tasks.clicks_sweep()  # the worker judges the fetches

    page = staff.get("/admin/surveys/survey/?clicks=bot").content.decode()

    assert page.count('class="field-clicks">2<') == 1  # one survey email, its two fetches
    assert page.count('class="field-clicks_filtered">') == 1
    assert "CSAT, CES, NPS" in page
    assert "Filtered as bot" in page
    assert LinkClick.objects.exclude(automated_reason="").count() >= 1


def test_approve_action_counts_held_answers(staff, client, sent_survey):
    _ticket, token = sent_survey()
    client.post(f"/s/{token}/", {"csat": "2"})  # no form token: held
    response = Response.objects.get()

    staff.post(
        "/admin/surveys/response/",
        {"action": "approve", "_selected_action": [response.pk]},
    )

    response.refresh_from_db()
    assert (response.held, response.released_at is not None) == (False, True)


def test_discard_action_deletes_held_answers(staff, client, sent_survey):
    _ticket, token = sent_survey()
    client.post(f"/s/{token}/", {"csat": "2"})

    staff.post(
        "/admin/surveys/response/",
        {"action": "discard", "_selected_action": [Response.objects.get().pk]},
    )

    assert Response.objects.count() == 0
    assert Survey.objects.get().state == "sent"


def policy_form(**overrides):
    SurveyPolicy.load()
    data = {
        "company_name": "Nordvik",
        "website_url": "https://www.example.com/",
        "brand_color": "#0b6e4f",
        "csat_scale": "5",
        "csat_style": "faces",
        "ces_enabled": "on",
        "ces_scale": "7",
        "nps_enabled": "on",
        "nps_interval_days": "90",
        "throttle_days": "7",
        "reminder_days": "3",
        "answer_days": "30",
        "edit_days": "7",
        "excluded_tags": '["no-survey"]',
        "internal_domains": "[]",
    }
    return {**data, **overrides}


def test_policy_admin_takes_logo_colour_and_style(staff):
    logo = SimpleUploadedFile("logo.png", PNG, content_type="image/png")

    staff.post("/admin/surveys/surveypolicy/1/change/", policy_form(logo_upload=logo))

    policy = SurveyPolicy.load()
    assert (bytes(policy.logo), policy.logo_type, policy.csat_style) == (PNG, "image/png", "faces")
    page = staff.get("/admin/surveys/surveypolicy/1/change/").content.decode()
    assert f'src="http://testserver/brand/logo/{policy.logo_hash}/"' in page


def test_policy_admin_refuses_light_colour_fake_logo_and_late_reminder(staff):
    fake = SimpleUploadedFile("logo.png", b"<svg></svg>", content_type="image/png")

    page = staff.post(
        "/admin/surveys/surveypolicy/1/change/",
        policy_form(brand_color="#ffee00", logo_upload=fake, reminder_days="9"),
    ).content.decode()

    assert "This colour is too light to carry white text" in page
    assert "The logo must be a PNG, JPEG or GIF image." in page
    assert re.search(r"A reminder must come before the throttle days \(7\)", page)
    assert SurveyPolicy.load().company_name == "Kundpuls Demo"
