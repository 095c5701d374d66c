"""factory_boy factories for the domain objects."""

from datetime import timedelta
from typing import Any

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from surveys.models import Agent, Customer, Invitation, Reason, Survey, Team, Ticket
from surveys.reasons import DEFAULT_REASONS


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"agent{n}@support.example")
    email = factory.SelfAttribute("username")
    first_name = "Lars"
    last_name = factory.Sequence(lambda n: f"Holm{n}")


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Team {n}")


class AgentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Agent

    user = factory.SubFactory(UserFactory)
    team = factory.SubFactory(TeamFactory)


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer
        django_get_or_create = ("email",)

    email = factory.Sequence(lambda n: f"customer{n}@example.se")
    name = "Anna Berg"
    locale = "en"


class TicketFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Ticket

    source = "zendesk"
    external_id = factory.Sequence(lambda n: str(48000 + n))
    subject = "Refund not received"
    status = Ticket.Status.SOLVED
    channel = "email"
    category = "returns"
    requester = factory.SubFactory(CustomerFactory)
    assignee = factory.SubFactory(UserFactory)
    team = factory.SubFactory(TeamFactory)
    created_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=1))
    solved_at = factory.LazyFunction(timezone.now)


class SurveyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Survey

    ticket = factory.SubFactory(TicketFactory)
    customer = factory.SelfAttribute("ticket.requester")
    state = Survey.State.SCHEDULED
    agent = factory.SelfAttribute("ticket.assignee")
    team = factory.SelfAttribute("ticket.team")
    channel = factory.SelfAttribute("ticket.channel")
    category = factory.SelfAttribute("ticket.category")
    send_after = factory.LazyFunction(timezone.now)


# What a test may say about a question's survey (its state, sending, dimensions...).
SURVEY_FIELDS = {f.name for f in Survey._meta.get_fields() if f.concrete and not f.primary_key} | {
    f"{f.name}_id" for f in Survey._meta.get_fields() if f.concrete and f.is_relation
}


class InvitationFactory(factory.django.DjangoModelFactory):
    """A question; the fields of its survey may be given too (state="sent",
    sent_at=..., ticket=..., ticket__team=...): a ticket that has a survey already
    gets the question added to it."""

    class Meta:
        model = Invitation

    survey = None
    ticket = factory.Maybe(
        "survey", yes_declaration=None, no_declaration=factory.SubFactory(TicketFactory)
    )
    kind = "csat"
    scale_points = 5

    @classmethod
    def _create(cls, model_class: type, *args: Any, **kwargs: Any) -> Invitation:
        survey = kwargs.pop("survey", None)
        given = {k: kwargs.pop(k) for k in list(kwargs) if k.split("__")[0] in SURVEY_FIELDS}
        if survey is None:
            ticket = given.get("ticket")
            survey = Survey.objects.filter(ticket=ticket).first() if ticket else None
            if survey is None:
                survey = SurveyFactory(**given)
            elif given:
                for name, value in given.items():
                    setattr(survey, name, value)
                survey.save()
        kwargs["survey"] = survey
        return super()._create(model_class, *args, **kwargs)


def default_reasons() -> None:
    """The reasons migration 0017 makes, again if a transactional test (a browser
    test) flushed them."""
    for kind in ("csat", "ces", "nps"):
        for position, (code, label) in enumerate(DEFAULT_REASONS, start=1):
            Reason.objects.get_or_create(
                kind=kind, code=code, defaults={"label": label, "position": position * 10}
            )
