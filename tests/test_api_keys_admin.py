import hashlib

import pytest
from rest_framework.test import APIClient

from surveys.models import ApiKey

pytestmark = pytest.mark.django_db


def responses_with(key: str):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client.get("/api/v1/responses")


def test_it_shows_a_new_key_once_and_the_key_works(admin_client):
    response = admin_client.post("/admin/surveys/apikey/add/", {"name": "Zapier"})

    key = ApiKey.objects.get(name="Zapier")
    plain = response.context["plain"]
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert plain in response.content.decode() and plain.startswith(f"kp_{key.prefix}_")
    assert key.key_hash == hashlib.sha256(plain.encode()).hexdigest()
    assert responses_with(plain).status_code == 200


def test_it_never_shows_the_key_again(admin_client):
    admin_client.post("/admin/surveys/apikey/add/", {"name": "Zapier"})
    key = ApiKey.objects.get(name="Zapier")

    page = admin_client.get(f"/admin/surveys/apikey/{key.pk}/change/").content.decode()

    assert key.key_hash not in page
    assert key.prefix in page


def test_it_revokes_a_key_so_the_api_refuses_it(admin_client):
    plain = admin_client.post("/admin/surveys/apikey/add/", {"name": "Old"}).context["plain"]
    key = ApiKey.objects.get(name="Old")

    admin_client.post(
        "/admin/surveys/apikey/",
        {"action": "revoke", "_selected_action": [key.pk]},
    )

    key.refresh_from_db()
    assert key.revoked_at is not None
    assert responses_with(plain).status_code == 401
    assert responses_with(plain).json() == {"detail": "Invalid or revoked API key."}


def test_it_shows_when_a_key_was_last_used(admin_client):
    plain = admin_client.post("/admin/surveys/apikey/add/", {"name": "BI"}).context["plain"]
    responses_with(plain)

    page = admin_client.get("/admin/surveys/apikey/").content.decode()

    assert ApiKey.objects.get(name="BI").last_used_at is not None
    assert "BI" in page


def test_it_needs_a_name(admin_client):
    response = admin_client.post("/admin/surveys/apikey/add/", {"name": ""})

    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert ApiKey.objects.count() == 0


def test_it_offers_no_delete_so_a_key_is_revoked_and_kept(admin_client):
    admin_client.post("/admin/surveys/apikey/add/", {"name": "Old"})
    key = ApiKey.objects.get(name="Old")

    page = admin_client.get(f"/admin/surveys/apikey/{key.pk}/delete/")
    listing = admin_client.get("/admin/surveys/apikey/").content.decode()

    assert page.status_code == 403
    assert 'value="delete_selected"' not in listing
    assert ApiKey.objects.filter(pk=key.pk).exists()
