"""Every URL Kundpuls serves, asked by each kind of visitor: anonymous, agent A (owner
of the case), agent B (same team), the team lead and an admin. A URL added without a
line here fails test_it_knows_every_url, so no page goes out unchecked."""

from types import SimpleNamespace

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from followups import services as followups
from surveys.models import Response
from tests.conftest import NOW
from tests.factories import AgentFactory, InvitationFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

ROLES = ["anonymous", "a", "b", "lead", "admin"]
LOGIN = 302  # anonymous visitors (and agents at the admin site) go to a login page
API = 401  # the API takes keys, never a browser session

# name: (method, path, codes for anonymous, a, b, lead, admin). {case} is agent A's case.
ROUTES = {
    "home": ("get", "/", [302, 302, 302, 302, 302]),
    # Open to a load balancer or a monitor (?live=0: the web's own health).
    "operations:healthz": ("get", "/healthz?live=0", [200] * 5),
    "operations:health": ("get", "/setup/health/", [LOGIN] * 4 + [200]),
    "followups:login": ("get", "/login/", [200] * 5),
    # Customers' pages work by link token: an unknown token is 404 for everyone.
    "surveys:survey": ("get", "/s/not-a-token/", [404] * 5),
    "surveys:thanks": ("get", "/s/not-a-token/thanks/", [404] * 5),
    "surveys:honeypot": ("get", "/s/not-a-token/h/", [404] * 5),
    "surveys:click": ("post", "/s/not-a-token/click/", [404] * 5),
    "surveys:embedded": ("get", "/e/zendesk/no-such-ticket/", [404] * 5),
    "surveys:unsubscribe": ("get", "/u/not-a-token/", [404] * 5),
    "followups:recovery": ("get", "/r/not-a-token/", [404] * 5),
    "followups:recovery_thanks": ("get", "/r/not-a-token/thanks/", [404] * 5),
    "surveys:logo": ("get", "/brand/logo/0000/", [404] * 5),
    # Helpdesks post, signed: a browser's GET is refused.
    "integrations:hooks_zendesk": ("get", "/hooks/zendesk/", [405] * 5),
    "integrations:hooks_freshdesk": ("get", "/hooks/freshdesk/", [405] * 5),
    "integrations:hooks_hubspot": ("get", "/hooks/hubspot/", [405] * 5),
    "integrations:hooks_helpscout": ("get", "/hooks/helpscout/", [405] * 5),
    "integrations:hooks_intercom": ("get", "/hooks/intercom/", [405] * 5),
    # Settings pages are the admin's.
    "integrations:setup_helpdesk": ("get", "/setup/zendesk/", [LOGIN] * 4 + [200]),
    "integrations:integrations": ("get", "/setup/", [LOGIN] * 4 + [200]),
    "surveys:outbox": ("get", "/dev/outbox/", [LOGIN] * 4 + [200]),
    "surveys:outbox_message": ("get", "/dev/outbox/999999/", [LOGIN] * 4 + [404]),
    # Cases: the owner and the lead see agent A's case; agent B is told it does not exist.
    "followups:inbox": ("get", "/followups/", [LOGIN, 200, 200, 200, 200]),
    # Everyone's own settings (their language).
    "followups:account": ("get", "/me/", [LOGIN, 200, 200, 200, 200]),
    "followups:followup_detail": ("get", "/followups/{case}/", [LOGIN, 200, 404, 200, 200]),
    "followups:followup_note": ("post", "/followups/{case}/note/", [LOGIN, 302, 404, 302, 302]),
    "followups:followup_email": ("get", "/followups/{case}/email/", [LOGIN, 200, 404, 200, 200]),
    "followups:followup_reassign": (
        "post",
        "/followups/{case}/reassign/",
        [LOGIN, 403, 404, 302, 302],
    ),
    # Reports are the admin's; agents and leads are refused.
    "metrics:followup_report": ("get", "/followups/report/", [LOGIN, 403, 403, 403, 200]),
    "metrics:dashboard": ("get", "/reports/", [LOGIN, 403, 403, 403, 200]),
    # The report by email: team leads and admins subscribe; agents are refused.
    "metrics:digest": ("get", "/reports/by-email/", [LOGIN, 403, 403, 200, 200]),
    "metrics:held_review": ("post", "/reports/held/99999/approve/", [LOGIN, 403, 403, 403, 302]),
    "metrics:monthly": ("get", "/reports/monthly/", [LOGIN, 403, 403, 403, 200]),
    "metrics:compare": ("get", "/reports/compare/", [LOGIN, 403, 403, 403, 200]),
    "metrics:business": ("get", "/reports/business/", [LOGIN, 403, 403, 403, 200]),
    "metrics:exports": ("get", "/reports/exports/", [LOGIN, 403, 403, 403, 200]),
    # The answers behind a number: an agent's own, a lead's team's (tests/test_scores.py).
    "metrics:responses": ("get", "/reports/responses/", [LOGIN, 200, 200, 200, 200]),
    "metrics:responses_export": ("get", "/reports/responses.csv", [LOGIN, 200, 200, 200, 200]),
    "metrics:scores": ("get", "/scores/", [LOGIN, 200, 200, 200, 302]),
    "metrics:table_export": ("get", "/reports/tables/agents.csv", [LOGIN, 403, 403, 403, 200]),
    # The API: keys only (tests/test_ticket_api.py and friends use them).
    "api:tickets": ("post", "/api/v1/tickets", [API] * 5),
    "api:responses": ("get", "/api/v1/responses", [API] * 5),
    "api:metrics": ("get", "/api/v1/metrics", [API] * 5),
    "api:followups": ("get", "/api/v1/followups", [API] * 5),
    "api:webhooks": ("post", "/api/v1/webhooks", [API] * 5),
    # With an admin key only (tests/test_privacy_access.py).
    "api:customer_erase": ("post", "/api/v1/customers/erase", [API] * 5),
    "api:customer_export": ("get", "/api/v1/customers/export", [API] * 5),
    "followups:api_followup": ("patch", "/api/v1/followups/{case}", [API] * 5),
    # The API's description is public, like any published API reference.
    "schema": ("get", "/api/schema/", [200] * 5),
    "api_docs": ("get", "/api/docs/", [200] * 5),
}
# URLs that belong to a library and are tested there or in their own module.
NOT_HERE = ("admin:", "anymail:", "anymail_")


@pytest.fixture
def cast():
    lead = UserFactory(username="lead@support.example")
    team = TeamFactory(name="Billing", lead=lead)
    agent_a = AgentFactory(user__username="a@support.example", team=team).user
    agent_b = AgentFactory(user__username="b@support.example", team=team).user
    admin = UserFactory(username="admin@support.example", is_staff=True, is_superuser=True)
    invitation = InvitationFactory(
        ticket__assignee=agent_a, ticket__team=team, kind="csat", scale_points=5, state="answered"
    )
    response = Response.objects.create(invitation=invitation, raw_score=1, score=1, answered_at=NOW)
    case = followups.followup_flag(survey=response.invitation.survey, now=NOW)
    return SimpleNamespace(a=agent_a, b=agent_b, lead=lead, admin=admin, case=case)


def _names(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            namespace = f"{pattern.namespace}:" if pattern.namespace else ""
            yield from _names(pattern.url_patterns, prefix + namespace)
        elif isinstance(pattern, URLPattern) and pattern.name:
            yield prefix + pattern.name


def test_it_knows_every_url():
    served = {name for name in _names(get_resolver().url_patterns)}

    unchecked = {n for n in served if not n.startswith(NOT_HERE)} - set(ROUTES)

    assert unchecked == set()


@pytest.mark.parametrize("role", ROLES)
def test_it_answers_each_role_as_expected(client, cast, role):
    if role != "anonymous":
        client.force_login(getattr(cast, role))

    answers = {}
    for name, (method, path, _codes) in ROUTES.items():
        url = path.format(case=cast.case.pk)
        data = {"owner": cast.b.pk, "text": "Called"} if method == "post" else None
        answers[name] = getattr(client, method)(url, data).status_code

    expected = {name: codes[ROLES.index(role)] for name, (_m, _p, codes) in ROUTES.items()}
    assert answers == expected


def test_it_sends_anonymous_visitors_to_the_login_page(client, cast):
    page = client.get(f"/followups/{cast.case.pk}/")

    assert page["Location"] == f"/login/?next=/followups/{cast.case.pk}/"


ADMIN_PAGES = ["/admin/", "/admin/surveys/survey/", "/admin/followups/followup/"]


def _html_pages(client, cast):
    for _name, (method, path, _codes) in ROUTES.items():
        page = client.get(path.format(case=cast.case.pk)) if method == "get" else None
        if page is not None and page["Content-Type"].startswith("text/html"):
            yield path, page


@pytest.mark.parametrize("role", ROLES)
def test_it_sends_every_html_page_with_a_nonced_policy(client, cast, role):
    if role != "anonymous":
        client.force_login(getattr(cast, role))
    pages = list(_html_pages(client, cast))
    if role == "admin":
        pages += [(path, client.get(path)) for path in ADMIN_PAGES]

    policies = {
        path: dict(p.split(" ", 1) for p in page["Content-Security-Policy"].split("; "))
        for path, page in pages
    }

    assert len(pages) >= 8
    assert {path: "'nonce-" in csp["style-src"] for path, csp in policies.items()} == {
        path: True for path, _page in pages
    }
    assert {csp["script-src"] for csp in policies.values()} == {"'self'"}


@pytest.mark.parametrize("role", ["a", "lead", "admin"])
def test_it_lets_no_cache_keep_a_signed_in_page(client, cast, role):
    client.force_login(getattr(cast, role))

    pages = [
        (path, page)
        for path, page in _html_pages(client, cast)
        if page.status_code == 200 and path != "/api/docs/"  # public, like the schema
    ]

    assert len(pages) >= 3
    assert {path: "no-store" in page["Cache-Control"] for path, page in pages} == {
        path: True for path, _page in pages
    }
