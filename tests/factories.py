"""factory_boy factories for the domain objects."""

from datetime import timedelta

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from surveys.models import Agent, Customer, Invitation, Team, Ticket


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


class InvitationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Invitation

    ticket = factory.SubFactory(TicketFactory)
    customer = factory.SelfAttribute("ticket.requester")
    kind = "csat"
    state = Invitation.State.SCHEDULED
    scale_points = 5
    agent = factory.SelfAttribute("ticket.assignee")
    team = factory.SelfAttribute("ticket.team")
    channel = factory.SelfAttribute("ticket.channel")
    category = factory.SelfAttribute("ticket.category")
    send_after = factory.LazyFunction(timezone.now)
