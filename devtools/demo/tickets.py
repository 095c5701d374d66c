"""The tickets: six months of them, by weekday and office hour, each with a category,
channel, agent and subject in the customer's language, and a life of replies, reopens
and a solve (or not yet)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone

from surveys import rules
from surveys.models import Team, Ticket
from surveys.services import category_ensure

from .cast import AGENTS
from .run import BATCH, DAYS, DEMO_SOURCE, CustomerSpec, DemoRun, TicketSpec

# category: (share of tickets, chance Billing has it, effect on satisfaction)
CATEGORIES = {
    "Sales question": (16, 0.85, 0.15),
    "Technical question": (28, 0.05, -0.1),
    "Cancellation": (8, 0.9, -0.35),
    "Returns": (14, 0.8, -0.1),
    "Shipping": (20, 0.3, -0.2),
    "Product availability": (14, 0.2, 0.0),
}
# channel: (share of tickets, effect on satisfaction)
CHANNELS = {
    "email": (38, 0.0),
    "chat": (24, 0.15),
    "phone": (14, 0.2),
    "web": (14, -0.05),
    "social": (10, -0.1),
}

WEEKDAY_WEIGHTS = (1.2, 1.1, 1.05, 1.0, 0.9, 0.35, 0.3)  # Monday first
# Local time, from midnight: office hours, a dip at lunch, a quiet night.
HOUR_WEIGHTS = (1, 1, 1, 1, 1, 1, 3, 8, 16, 20, 20, 18, 15, 18, 19, 17, 14, 10, 7, 6, 5, 4, 3, 2)

# Two subjects per category, in the order of CATEGORIES, per language.
SUBJECTS = {
    "en": (
        "Question about the price of the Pro plan",
        "Do you offer volume discounts?",
        "The app crashes when I log in",
        "Cannot connect the device to Wi-Fi",
        "Please cancel my subscription",
        "How do I end my contract?",
        "Returning a damaged item",
        "Refund not received",
        "Where is my order?",
        "My parcel is delayed",
        "When is the black model back in stock?",
        "Is size XL available?",
    ),
    "sv": (
        "Fråga om priset för Pro-abonnemanget",
        "Har ni mängdrabatt?",
        "Appen kraschar när jag loggar in",
        "Kan inte ansluta enheten till wifi",
        "Jag vill säga upp mitt abonnemang",
        "Hur avslutar jag mitt avtal?",
        "Retur av skadad vara",
        "Har inte fått min återbetalning",
        "Var är min beställning?",
        "Paketet är försenat",
        "När finns den svarta modellen i lager igen?",
        "Finns storlek XL?",
    ),
    "nb": (
        "Spørsmål om prisen på Pro-abonnementet",
        "Gir dere mengderabatt?",
        "Appen krasjer når jeg logger inn",
        "Får ikke koblet enheten til wifi",
        "Jeg vil si opp abonnementet mitt",
        "Hvordan avslutter jeg avtalen?",
        "Retur av skadet vare",
        "Har ikke mottatt refusjonen",
        "Hvor er bestillingen min?",
        "Pakken er forsinket",
        "Når er den svarte modellen på lager igjen?",
        "Finnes størrelse XL?",
    ),
    "da": (
        "Spørgsmål om prisen på Pro-abonnementet",
        "Giver I mængderabat?",
        "Appen lukker ned, når jeg logger ind",
        "Kan ikke forbinde enheden til wifi",
        "Jeg vil opsige mit abonnement",
        "Hvordan opsiger jeg min aftale?",
        "Returnering af beskadiget vare",
        "Har ikke modtaget min refusion",
        "Hvor er min ordre?",
        "Pakken er forsinket",
        "Hvornår er den sorte model på lager igen?",
        "Findes størrelse XL?",
    ),
    "fi": (
        "Kysymys Pro-tilauksen hinnasta",
        "Saako määräalennusta?",
        "Sovellus kaatuu, kun kirjaudun sisään",
        "Laite ei yhdisty wifiin",
        "Haluan irtisanoa tilaukseni",
        "Miten lopetan sopimukseni?",
        "Vaurioituneen tuotteen palautus",
        "En ole saanut hyvitystä",
        "Missä tilaukseni on?",
        "Paketti on myöhässä",
        "Milloin musta malli tulee taas varastoon?",
        "Onko kokoa XL saatavilla?",
    ),
    "fy": (
        "Fraach oer de priis fan it Pro-abonnemint",
        "Jouwe jimme koarting by grutte oantallen?",
        "De app rint fêst as ik ynlogge",
        "Ik kin it apparaat net ferbine mei wifi",
        "Ik wol myn abonnemint opsizze",
        "Hoe sis ik myn kontrakt op?",
        "Weromstjoeren fan in skansearre artikel",
        "Myn jild is noch net weromstoart",
        "Wêr is myn bestelling?",
        "It pakket is fertrage",
        "Wannear is it swarte model wer op foarried?",
        "Is maat XL te krijen?",
    ),
}


def tickets_invent(*, run: DemoRun, customers: list[CustomerSpec], count: int) -> list[TicketSpec]:
    """The tickets in the order they came in, numbered from 10001."""
    created = sorted(_created_times(run, count))
    # Every customer has at least one ticket; the rest go to the frequent ones.
    requesters = list(customers[:count])
    weights = [c.weight for c in customers]
    requesters += run.rng.choices(customers, weights=weights, k=count - len(requesters))
    run.rng.shuffle(requesters)
    tickets = []
    for number, (created_at, customer) in enumerate(zip(created, requesters, strict=True)):
        ticket = ticket_invent(
            run=run, number=10001 + number, customer=customer, created_at=created_at
        )
        _lifecycle(run, ticket)
        tickets.append(ticket)
    # However small the demo, a few of the newest tickets are still being worked on.
    for ticket in tickets[-2:]:
        if ticket.solved_at is not None:
            _unsolve(run, ticket)
    return tickets


def _created_times(run: DemoRun, count: int) -> list[datetime]:
    days = [run.today - timedelta(days=n) for n in range(DAYS, -1, -1)]
    weights = []
    for index, day in enumerate(days):
        growth = 0.85 + 0.3 * index / DAYS  # the business grows a little
        weights.append(WEEKDAY_WEIGHTS[day.weekday()] * growth)
    now_local = timezone.localtime(run.now)
    elapsed = [h for h in range(24) if h < now_local.hour]
    weights[-1] *= sum(HOUR_WEIGHTS[h] for h in elapsed) / sum(HOUR_WEIGHTS)
    times = []
    for day in run.rng.choices(days, weights=weights, k=count):
        hours = range(24) if day != run.today or not elapsed else elapsed
        hour = run.rng.choices(hours, weights=[HOUR_WEIGHTS[h] for h in hours])[0]
        at = time(hour, run.rng.randrange(60), run.rng.randrange(60))
        times.append(min(run.local(day, at), run.now - timedelta(minutes=5)))
    return times


def ticket_invent(
    *, run: DemoRun, number: int, customer: CustomerSpec, created_at: datetime
) -> TicketSpec:
    """A new ticket: what it is about, how it came in and which agent has it."""
    categories = list(CATEGORIES)
    category = run.rng.choices(categories, weights=[c[0] for c in CATEGORIES.values()])[0]
    billing = run.rng.random() < CATEGORIES[category][1]
    team_agents = [i for i, a in enumerate(AGENTS) if (a.team == "Billing") == billing]
    agent = run.rng.choices(team_agents, weights=[AGENTS[i].load for i in team_agents])[0]
    channel = run.rng.choices(list(CHANNELS), weights=[c[0] for c in CHANNELS.values()])[0]
    subject_index = 2 * categories.index(category) + run.rng.randrange(2)
    tags = [category.lower().replace(" ", "-")]
    if run.rng.random() < 0.05:
        tags.append("vip")
    if run.rng.random() < 0.015:
        tags.append("no-survey")
    return TicketSpec(
        number=number,
        customer=customer,
        created_at=created_at,
        channel=channel,
        category=category,
        agent=agent,
        tags=sorted(tags),
        subject=SUBJECTS[customer.locale][subject_index],
    )


def _lifecycle(run: DemoRun, ticket: TicketSpec) -> None:
    """First reply, solve, replies and reopens; unsolved when that lies in the future."""
    rng, live = run.rng, ticket.channel in ("chat", "phone")
    first_median = {"chat": 3, "phone": 1, "social": 60}.get(ticket.channel, 150)
    first = ticket.created_at + run.lognormal_minutes(first_median, 0.9)
    if live and rng.random() < 0.55:
        solve = run.lognormal_minutes(15, 0.7)
    else:
        solve = run.lognormal_minutes(22 * 60, 1.1)
    ticket.reopens = rng.choices((0, 1, 2), weights=(92, 7, 1))[0]
    for _ in range(ticket.reopens):
        solve += run.lognormal_minutes(24 * 60, 0.8)
    weights = (60, 25, 10, 3, 1, 1) if live else (25, 35, 20, 10, 6, 4)
    replies = rng.choices(range(1, 7), weights=weights)[0]
    ticket.agent_replies = min(6, replies + ticket.reopens)
    ticket.first_response_at, ticket.solved_at = first, first + solve
    stuck = ticket.created_at > run.now - timedelta(days=30) and rng.random() < 0.03
    if first > run.now:
        ticket.status, ticket.first_response_at, ticket.solved_at = "new", None, None
        ticket.agent_replies = ticket.reopens = 0
    elif ticket.solved_at > run.now or stuck:
        _unsolve(run, ticket)


def _unsolve(run: DemoRun, ticket: TicketSpec) -> None:
    ticket.status = run.rng.choice((Ticket.Status.OPEN, Ticket.Status.PENDING))
    ticket.solved_at = None
    ticket.agent_replies = max(1, ticket.agent_replies - 1)


def tickets_write(
    *, run: DemoRun, tickets: list[TicketSpec], teams: dict[str, Team], users: list[Any]
) -> None:
    """The tickets, after their customers (cast.customers_write); their categories by
    key, named as the demo writes them (as a helpdesk's tickets would make them)."""
    for name in CATEGORIES:
        category_ensure(name)
    for ticket in tickets:
        ticket.obj = _ticket_row(run, ticket, teams, users)
    Ticket.objects.bulk_create([t.obj for t in tickets], batch_size=BATCH)
    # received_at and updated_at are automatic; make them match the story.
    Ticket.objects.filter(source=DEMO_SOURCE).update(
        received_at=F("created_at"),
        updated_at=Coalesce("solved_at", "first_response_at", "created_at"),
    )


def _ticket_row(
    run: DemoRun, ticket: TicketSpec, teams: dict[str, Team], users: list[Any]
) -> Ticket:
    assigned = ticket.status != "new" or run.rng.random() < 0.3
    return Ticket(
        source=DEMO_SOURCE,
        external_id=str(ticket.number),
        subject=ticket.subject,
        status=ticket.status,
        channel=ticket.channel,
        category=rules.category_key(ticket.category),
        tags=ticket.tags,
        url=f"https://helpdesk.example/tickets/{ticket.number}",
        requester=ticket.customer.obj,
        assignee=users[ticket.agent] if assigned else None,
        team=teams[AGENTS[ticket.agent].team] if assigned else None,
        created_at=ticket.created_at,
        first_response_at=ticket.first_response_at,
        solved_at=ticket.solved_at,
        agent_replies=ticket.agent_replies,
        reopens=ticket.reopens,
    )
