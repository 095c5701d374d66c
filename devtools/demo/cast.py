"""The cast: two teams of three agents, and customers in six languages with names
and email addresses that fit their language."""

from __future__ import annotations

import math
import unicodedata
from typing import Any, NamedTuple

from surveys.models import Customer, Team
from surveys.services import agent_upsert

from .run import BATCH, CustomerSpec, DemoRun, TicketSpec


class DemoAgent(NamedTuple):
    first: str
    last: str
    team: str
    lead: bool  # is the team lead
    quality_start: float  # how satisfied their customers are, six months ago
    quality_end: float  # ... and today
    load: float  # their share of their team's tickets


AGENTS = (
    DemoAgent("Anna", "Lindqvist", "Billing", True, 0.15, 0.2, 0.8),
    DemoAgent("Mikael", "Berg", "Billing", False, -1.3, 0.3, 1.0),  # new hire, improving
    DemoAgent("Sofie", "Nielsen", "Billing", False, 0.05, 0.05, 1.0),
    DemoAgent("Jonas", "Virtanen", "Technical support", True, 0.1, 0.1, 0.8),
    DemoAgent("Ingrid", "Haugen", "Technical support", False, 0.35, 0.35, 1.0),
    DemoAgent("Erik", "Sandberg", "Technical support", False, -0.8, -0.8, 1.0),  # noticeably worse
)

LOCALE_SHARES = {"sv": 32, "nb": 18, "da": 15, "fi": 14, "en": 14, "fy": 7}
CUSTOMER_DOMAINS = ("example.com", "example.net", "example.org", "mail.example", "post.example")

NAMES = {
    "en": (
        "Oliver Emily James Sophie Daniel Charlotte Thomas Hannah Michael Grace Liam Olivia",
        "Smith Taylor Brown Wilson Clarke Evans Walker Hughes Wright Robinson Harris Green",
    ),
    "sv": (
        "Anna Erik Maria Lars Karin Johan Elin Anders Sara Per Emma Oskar Ingrid Gustav",
        "Andersson Johansson Karlsson Nilsson Eriksson Larsson Olsson Persson Svensson "
        "Lindberg Bergström Lindqvist Holm Sjöberg",
    ),
    "nb": (
        "Ola Kari Ingrid Lars Silje Henrik Marte Jonas Ragnhild Eirik Sigrid Håkon Nora Magnus",
        "Hansen Johansen Olsen Larsen Andersen Pedersen Nilsen Kristiansen Berg Haugen "
        "Bakken Solberg Dahl Strand",
    ),
    "da": (
        "Mette Søren Lone Mads Camilla Rasmus Freja Jesper Ida Anders Line Mikkel",
        "Nielsen Jensen Hansen Pedersen Andersen Christensen Larsen Sørensen Rasmussen "
        "Jørgensen Madsen Kristensen",
    ),
    "fi": (
        "Mikko Aino Juha Laura Timo Sanna Jari Elina Antti Noora Ville Heidi Pekka Riikka",
        "Korhonen Virtanen Mäkinen Nieminen Mäkelä Hämäläinen Laine Heikkinen Koskinen "
        "Järvinen Lehtonen Salminen",
    ),
    "fy": (
        "Sjoerd Wytske Jelle Baukje Hylke Tjitske Durk Sytske Auke Janke Tsjerk Geeske Wiebe",
        "de_Vries Hoekstra Dijkstra Visser Bouma Postma Wijma Terpstra Jongsma Sikkema "
        "Hiemstra Zijlstra Boersma",
    ),
}


def customers_invent(*, run: DemoRun, ticket_count: int) -> list[CustomerSpec]:
    """About one customer per four tickets, in every language."""
    count = max(ticket_count // 4, 12)
    # The shares exactly, at least one customer per language, then shuffled.
    total = sum(LOCALE_SHARES.values())
    quotas = {lang: max(1, count * share // total) for lang, share in LOCALE_SHARES.items()}
    for lang in sorted(LOCALE_SHARES, key=LOCALE_SHARES.get, reverse=True):
        if sum(quotas.values()) >= count:
            break
        quotas[lang] += 1
    locales = [lang for lang, n in quotas.items() for _ in range(n)]
    run.rng.shuffle(locales)
    taken = set(Customer.objects.values_list("email", flat=True))
    customers = []
    for locale in locales:
        firsts, lasts = (names.split() for names in NAMES[locale])
        first, last = run.rng.choice(firsts), run.rng.choice(lasts).replace("_", " ")
        email = _email(run, first, last, taken)
        customers.append(
            CustomerSpec(
                email=email,
                name=f"{first} {last}",
                locale=locale,
                will_opt_out=run.rng.random() < 0.04,
                # Some customers contact support far more often than others.
                weight=math.exp(run.rng.gauss(0, 0.8)),
            )
        )
    return customers


def _email(run: DemoRun, first: str, last: str, taken: set[str]) -> str:
    local = f"{_ascii(first)}.{_ascii(last)}"
    domain = run.rng.choice(CUSTOMER_DOMAINS)
    email, n = f"{local}@{domain}", 1
    while email in taken:
        n += 1
        email = f"{local}{n}@{domain}"
    taken.add(email)
    return email


def _ascii(text: str) -> str:
    """A name as an email local part: Sjöberg -> sjoberg, Sørensen -> sorensen."""
    text = text.lower().replace("ø", "o").replace("æ", "ae").replace(" ", "")
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def staff_upsert() -> tuple[dict[str, Team], list[Any]]:
    """The teams and the agents' users, in the order of AGENTS; the leads lead."""
    # In AGENTS order (not a set's), so a seed gives the same team ids in every process.
    teams = {
        name: Team.objects.get_or_create(name=name)[0]
        for name in dict.fromkeys(a.team for a in AGENTS)
    }
    users = []
    for agent in AGENTS:
        team = teams[agent.team]
        user = agent_upsert(
            email=f"{agent.first.lower()}@support.example",
            name=f"{agent.first} {agent.last}",
            team=team,
        )
        users.append(user)
        if agent.lead and team.lead_id != user.pk:
            team.lead = user
            team.save(update_fields=["lead"])
    return teams, users


def customers_write(
    *, run: DemoRun, customers: list[CustomerSpec], tickets: list[TicketSpec]
) -> None:
    """The customers, each made when they first contacted support."""
    for ticket in tickets:
        customer = ticket.customer
        if customer.created_at is None or ticket.created_at < customer.created_at:
            customer.created_at = ticket.created_at
    for customer in customers:
        customer.obj = Customer(
            email=customer.email,
            name=customer.name,
            locale=customer.locale,
            opted_out_at=customer.opted_out_at,
            created_at=customer.created_at or run.start,
        )
    Customer.objects.bulk_create([c.obj for c in customers], batch_size=BATCH)
