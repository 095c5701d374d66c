"""The apps' one-way structure: rows survive the move of models between apps, and no
app reaches into another's private names (lint-imports checks the import layers)."""

import ast
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from followups.models import (
    FollowUp,
    FollowUpDigest,
    FollowUpEvent,
    FollowUpThreshold,
    FollowUpWord,
    TeamServiceLevel,
)
from integrations.models import (
    EmailEvent,
    HelpdeskConnection,
    InboundDelivery,
    WebhookDelivery,
    WebhookSubscription,
)
from surveys.models import Survey
from tests.conftest import NOW, sent_invitation
from tests.factories import TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent
APPS = ("surveys", "followups", "integrations", "metrics", "devtools", "config")
# The schema before follow-ups and integrations had apps of their own.
BEFORE_THE_MOVE = [
    ("surveys", "0006_answer_copies"),
    ("metrics", "0006_rollup_day_indexes"),
    ("followups", None),
    ("integrations", None),
]


def rows_of_the_moved_models(apps, *, invitation, team, user):
    """One row in each moved model, written through the models as they were."""
    old = {name: apps.get_model(app, name) for app, name in MOVED}
    case = old["FollowUp"].objects.create(
        invitation_id=invitation.pk, owner_id=user.pk, reason="CSAT 1 of 5", created_at=NOW
    )
    old["FollowUpEvent"].objects.create(followup=case, kind="opened", at=NOW)
    old["FollowUpThreshold"].objects.create(kind="csat", scale_points=5, low_up_to=3)
    old["FollowUpWord"].objects.create(word="refund")
    old["TeamServiceLevel"].objects.create(team_id=team.pk, hours=4)
    old["FollowUpDigest"].objects.create(owner_id=user.pk, day=date(2026, 11, 20), sent_at=NOW)
    old["HelpdeskConnection"].objects.create(provider="zendesk", secret="s3cret")
    old["InboundDelivery"].objects.create(
        provider="zendesk", ticket_id="48213", solved_at=NOW, body="{}"
    )
    subscription = old["WebhookSubscription"].objects.create(
        url="https://hooks.example/k", events=["response.created"], secret="whsec_x"
    )
    old["WebhookDelivery"].objects.create(
        subscription=subscription, message_id="msg_1", event_type="response.created", body="{}"
    )
    old["EmailEvent"].objects.create(
        esp_name="postmark", event_id="e1", event_type="bounced", occurred_at=NOW
    )
    return case.pk


MOVED = [
    ("metrics", "FollowUp"),
    ("metrics", "FollowUpEvent"),
    ("metrics", "FollowUpThreshold"),
    ("metrics", "FollowUpWord"),
    ("metrics", "TeamServiceLevel"),
    ("metrics", "FollowUpDigest"),
    ("surveys", "HelpdeskConnection"),
    ("surveys", "InboundDelivery"),
    ("surveys", "WebhookSubscription"),
    ("surveys", "WebhookDelivery"),
    ("surveys", "EmailEvent"),
]


# Transactional: SQLite alters tables only outside a transaction.
@pytest.mark.django_db(transaction=True)
def test_moving_models_to_their_apps_keeps_every_row_and_the_admin_history():
    invitation, team, user = sent_invitation(), TeamFactory(), UserFactory()
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE_THE_MOVE)
    apps = executor.loader.project_state(BEFORE_THE_MOVE[:2]).apps
    case_id = rows_of_the_moved_models(apps, invitation=invitation, team=team, user=user)
    content_type = ContentType.objects.get_or_create(app_label="metrics", model="followup")[0]
    permission = Permission.objects.create(
        content_type=content_type, codename="close_followup", name="Can close"
    )

    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())

    counts = [
        model.objects.count()
        for model in (
            *(FollowUp, FollowUpEvent, FollowUpThreshold, FollowUpWord, TeamServiceLevel),
            *(FollowUpDigest, HelpdeskConnection, InboundDelivery, WebhookSubscription),
            *(WebhookDelivery, EmailEvent),
        )
    ]
    assert counts == [1] * 11
    case = FollowUp.objects.get()
    assert (case.pk, case.survey.ticket_id, case.reason) == (
        case_id,
        invitation.survey.ticket_id,
        "CSAT 1 of 5",
    )
    assert case.events.get().kind == "opened"
    assert WebhookDelivery.objects.get().subscription.url == "https://hooks.example/k"
    assert (FollowUp._meta.db_table, EmailEvent._meta.db_table) == (
        "followups_followup",
        "integrations_emailevent",
    )
    permission.refresh_from_db()
    assert (permission.content_type.app_label, permission.content_type.model) == (
        "followups",
        "followup",
    )


@pytest.mark.django_db(transaction=True)
def test_moved_tables_take_new_rows_after_the_move():
    invitation = sent_invitation()
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE_THE_MOVE)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())

    # The migrations made the survey again, from the invitations as they were.
    survey = Survey.objects.get(ticket_id=invitation.survey.ticket_id)
    case = FollowUp.objects.create(survey=survey, reason="NPS 0", due_at=NOW)
    FollowUpEvent.objects.create(followup=case, kind="opened", at=NOW + timedelta(seconds=1))

    assert FollowUp.objects.get().events.count() == 1


def private_names_imported_across_apps() -> list[str]:
    """`from other_app.module import _name`, or `module._name` on a module imported from
    another app, anywhere in an app's code."""
    found = []
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            tree = ast.parse(path.read_text(), filename=str(path))
            imported = set()  # local names bound to another app's modules or objects
            for node in ast.walk(tree):
                if (
                    isinstance(node, ast.ImportFrom)
                    and node.level == 0
                    and (node.module or "").split(".")[0] in set(APPS) - {app}
                ):
                    for alias in node.names:
                        imported.add(alias.asname or alias.name)
                        if alias.name.startswith("_"):
                            found.append(f"{path.relative_to(ROOT)}: {alias.name}")
            for node in ast.walk(tree):
                if (
                    isinstance(node, ast.Attribute)
                    and isinstance(node.value, ast.Name)
                    and node.value.id in imported
                    and node.attr.startswith("_")
                    and not node.attr.startswith("__")
                    and node.attr != "_meta"  # Django's public model API
                ):
                    found.append(f"{path.relative_to(ROOT)}: {node.value.id}.{node.attr}")
    return found


def test_no_app_imports_another_apps_private_names():
    assert private_names_imported_across_apps() == []
