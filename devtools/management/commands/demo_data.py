"""`manage.py demo_data`: six months of realistic tickets, surveys, answers and follow-ups.

Deterministic for a seed (only the link tokens are random, and the dates are relative
to today). The surveys follow the same rules the running system applies (surveys.rules:
NPS at most every N days, at most one survey email per customer in the throttle window,
opted-out customers suppressed), so the reports, the follow-up list and the admin look
like a product that has been running for half a year. A few surveys of tickets solved
in the last hour are left scheduled, so the survey emails start going out within the
hour after the system starts.

The tickets have source "demo"; --force deletes those (and nothing else) before
generating again. The scales are the defaults (CSAT 1-5, CES 1-7, NPS 0-10) whatever the
survey policy says; the policy's other settings (NPS interval, throttle, answer window,
excluded tags, CES inverted or not) are applied.
"""

from __future__ import annotations

import math
import random
import time as clock
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone

from followups.models import FollowUp, FollowUpEvent
from followups.services import followup_due
from metrics.rebuild import rollups_rebuild
from surveys import rules, scoring
from surveys.models import (
    Customer,
    Invitation,
    Response,
    ResponseRevision,
    SurveyKind,
    SurveyPolicy,
    Team,
    Ticket,
)
from surveys.services import agent_upsert
from surveys.tokens import token_new

State = Invitation.State

DEMO_SOURCE = "demo"
DAYS = 182  # about six months, ending today
BATCH = 500
SCALES = {"csat": 5, "ces": 7, "nps": 11}
# Follow-ups younger than this are still open; older ones have mostly been handled.
FOLLOWUP_OPEN_DAYS = 14

# (first name, last name, team, is the team lead, quality at the start, at the end, load)
AGENTS = (
    ("Anna", "Lindqvist", "Billing", True, 0.15, 0.2, 0.8),
    ("Mikael", "Berg", "Billing", False, -1.3, 0.3, 1.0),  # new hire, improving
    ("Sofie", "Nielsen", "Billing", False, 0.05, 0.05, 1.0),
    ("Jonas", "Virtanen", "Technical support", True, 0.1, 0.1, 0.8),
    ("Ingrid", "Haugen", "Technical support", False, 0.35, 0.35, 1.0),
    ("Erik", "Sandberg", "Technical support", False, -0.8, -0.8, 1.0),  # noticeably worse
)

# category: (share of tickets, chance Billing has it, effect on satisfaction)
CATEGORIES = {
    "Sales question": (16, 0.85, 0.15),
    "Technical question": (28, 0.05, -0.1),
    "Cancellation": (8, 0.9, -0.35),
    "Return": (14, 0.8, -0.1),
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

LOCALE_SHARES = {"sv": 32, "nb": 18, "da": 15, "fi": 14, "en": 14, "fy": 7}
WEEKDAY_WEIGHTS = (1.2, 1.1, 1.05, 1.0, 0.9, 0.35, 0.3)  # Monday first
# Local time, from midnight: office hours, a dip at lunch, a quiet night.
HOUR_WEIGHTS = (1, 1, 1, 1, 1, 1, 3, 8, 16, 20, 20, 18, 15, 18, 19, 17, 14, 10, 7, 6, 5, 4, 3, 2)
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

# Per language: positive, neutral, negative comments. {agent} is the agent's first name.
COMMENTS = {
    "en": (
        (
            "Quick and friendly help, thank you!",
            "Solved on the first try. Great service.",
            "Very helpful, explained everything clearly.",
            "Fast answer, exactly what I needed.",
            "Thanks {agent}, really good support!",
        ),
        (
            "Problem solved, but it took a while.",
            "Sorted in the end, though I had to explain it twice.",
            "Fine, but the answer could have been clearer.",
        ),
        (
            "I waited four days for an answer.",
            "My problem is still not solved.",
            "I had to repeat myself to three different people.",
            "The answer did not help at all.",
            "Nobody called me back as promised.",
        ),
    ),
    "sv": (
        (
            "Snabb och trevlig hjälp, tack!",
            "Löst på första försöket. Toppenservice.",
            "Mycket hjälpsam, förklarade allt tydligt.",
            "Snabbt svar, precis vad jag behövde.",
            "Tack {agent}, riktigt bra hjälp!",
        ),
        (
            "Problemet löstes, men det tog tid.",
            "Det ordnade sig till slut, men jag fick förklara två gånger.",
            "Okej, men svaret kunde ha varit tydligare.",
        ),
        (
            "Fick vänta fyra dagar på svar.",
            "Mitt problem är fortfarande inte löst.",
            "Fick upprepa mig för tre olika personer.",
            "Svaret hjälpte inte alls.",
            "Ingen ringde tillbaka som utlovat.",
        ),
    ),
    "nb": (
        (
            "Rask og hyggelig hjelp, takk!",
            "Løst på første forsøk. Supert.",
            "Veldig hjelpsom, forklarte alt tydelig.",
            "Raskt svar, akkurat det jeg trengte.",
            "Takk {agent}, veldig god hjelp!",
        ),
        (
            "Problemet ble løst, men det tok tid.",
            "Det ordnet seg til slutt, men jeg måtte forklare to ganger.",
            "Greit nok, men svaret kunne vært tydeligere.",
        ),
        (
            "Måtte vente fire dager på svar.",
            "Problemet mitt er fortsatt ikke løst.",
            "Måtte gjenta meg selv til tre forskjellige personer.",
            "Svaret hjalp ikke i det hele tatt.",
            "Ingen ringte tilbake slik de lovet.",
        ),
    ),
    "da": (
        (
            "Hurtig og venlig hjælp, tak!",
            "Løst i første forsøg. Super service.",
            "Meget hjælpsom, forklarede alt tydeligt.",
            "Hurtigt svar, præcis hvad jeg havde brug for.",
            "Tak {agent}, rigtig god hjælp!",
        ),
        (
            "Problemet blev løst, men det tog lang tid.",
            "Det lykkedes til sidst, men jeg måtte forklare det to gange.",
            "Fint nok, men svaret kunne have været tydeligere.",
        ),
        (
            "Ventede fire dage på svar.",
            "Mit problem er stadig ikke løst.",
            "Måtte gentage mig selv over for tre forskellige personer.",
            "Svaret hjalp slet ikke.",
            "Ingen ringede tilbage som lovet.",
        ),
    ),
    "fi": (
        (
            "Nopeaa ja ystävällistä palvelua, kiitos!",
            "Ratkesi heti ensimmäisellä kerralla. Loistavaa.",
            "Todella avulias, selitti kaiken selkeästi.",
            "Nopea vastaus, juuri mitä tarvitsin.",
            "Kiitos {agent}, todella hyvää palvelua!",
        ),
        (
            "Ongelma ratkesi, mutta siihen meni aikaa.",
            "Lopulta onnistui, mutta jouduin selittämään kahteen kertaan.",
            "Ihan ok, mutta vastaus olisi voinut olla selkeämpi.",
        ),
        (
            "Odotin vastausta neljä päivää.",
            "Ongelmani ei ole vieläkään ratkennut.",
            "Jouduin toistamaan asiani kolmelle eri henkilölle.",
            "Vastauksesta ei ollut mitään apua.",
            "Kukaan ei soittanut takaisin, vaikka niin luvattiin.",
        ),
    ),
    "fy": (
        (
            "Flugge en freonlike help, tige tank!",
            "By de earste kear oplost. Prachtige tsjinst.",
            "Tige behelpsum, alles dúdlik útlein.",
            "Fluch antwurd, krekt wat ik nedich hie.",
            "Tank {agent}, hiel goede help!",
        ),
        (
            "It probleem is oplost, mar it duorre wol lang.",
            "Uteinlik kaam it goed, mar ik moast it twa kear útlizze.",
            "Wol goed, mar it antwurd koe dúdliker.",
        ),
        (
            "Ik haw fjouwer dagen wachte op in antwurd.",
            "Myn probleem is noch altyd net oplost.",
            "Ik moast myn ferhaal oan trije ferskillende minsken fertelle.",
            "It antwurd holp hielendal neat.",
            "Der waard net weromskille, wylst dat wol tasein wie.",
        ),
    ),
}


@dataclass
class CustomerSpec:
    email: str
    name: str
    locale: str
    will_opt_out: bool
    weight: float
    opted_out_at: datetime | None = None
    created_at: datetime | None = None
    last_email_at: datetime | None = None
    last_nps_sent_at: datetime | None = None
    nps_invitations: list[InvitationSpec] = field(default_factory=list)
    obj: Customer | None = None

    def opted_out(self, at: datetime) -> bool:
        return self.opted_out_at is not None and self.opted_out_at <= at


@dataclass
class InvitationSpec:
    kind: str
    state: str
    send_after: datetime
    reason: str = ""
    raw_score: int | None = None
    comment: str = ""
    answered_at: datetime | None = None
    sent_at: datetime | None = None
    claimed_at: datetime | None = None
    obj: Invitation | None = None


@dataclass
class TicketSpec:
    number: int
    customer: CustomerSpec
    created_at: datetime
    channel: str
    category: str
    agent: int
    status: str = Ticket.Status.SOLVED
    first_response_at: datetime | None = None
    solved_at: datetime | None = None
    agent_replies: int = 1
    reopens: int = 0
    tags: list[str] = field(default_factory=list)
    subject: str = ""
    invitations: list[InvitationSpec] = field(default_factory=list)
    token_hash: str = ""
    obj: Ticket | None = None


class Command(BaseCommand):
    help = (
        "Fill an empty database with about six months of realistic demo data ending today: "
        "two teams, six agents, customers in all six languages, tickets, survey invitations, "
        "answers with comments, follow-ups and rollups; a few surveys are left scheduled to "
        "go out within the hour. Refuses to run when the database has tickets, unless "
        "--force. Deterministic for a given --seed (dates are relative to today)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tickets", type=int, default=2000, help="How many (default 2000).")
        parser.add_argument("--seed", type=int, default=7, help="Random seed (default 7).")
        parser.add_argument(
            "--force",
            action="store_true",
            help=(
                f"Delete the demo data of an earlier run (tickets with source '{DEMO_SOURCE}', "
                "their surveys, answers and follow-ups, and their customers) and generate it "
                "again. Never deletes anything else: with tickets from another source in the "
                "database the command refuses even with --force."
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        started = clock.monotonic()
        if options["tickets"] < 30:
            raise CommandError("--tickets must be 30 or more.")
        with transaction.atomic():
            self._make_room(force=options["force"])
            builder = DemoBuilder(seed=options["seed"], tickets=options["tickets"])
            summary = builder.build()
        self.stdout.write(f"{summary} in {clock.monotonic() - started:.1f} s.")

    def _make_room(self, *, force: bool) -> None:
        other = Ticket.objects.exclude(source=DEMO_SOURCE).count()
        demo = Ticket.objects.filter(source=DEMO_SOURCE).count()
        if other:
            raise CommandError(
                f"The database already has {other} tickets that are not demo data; demo_data "
                "only fills an empty database and never mixes demo data with real tickets. "
                "Nothing was changed."
            )
        if demo and not force:
            raise CommandError(
                f"The database already has {demo} demo tickets. Run with --force to delete "
                "them (with their surveys, answers, follow-ups and customers) and generate "
                "the demo data again. Nothing was changed."
            )
        if demo:
            customer_ids = set(
                Ticket.objects.filter(source=DEMO_SOURCE).values_list("requester_id", flat=True)
            )
            Ticket.objects.filter(source=DEMO_SOURCE).delete()
            Customer.objects.filter(pk__in=customer_ids, tickets__isnull=True).delete()


class DemoBuilder:
    """Simulates six months of the survey loop in memory, then writes it in bulk."""

    def __init__(self, *, seed: int, tickets: int) -> None:
        self.rng = random.Random(seed)  # noqa: S311 -- demo data, not secrets
        self.ticket_count = tickets
        self.now = timezone.now().replace(microsecond=0)
        self.tz = timezone.get_current_timezone()
        self.today = timezone.localdate(self.now)
        self.start = self._local(self.today - timedelta(days=DAYS), time.min)
        self.policy = SurveyPolicy.load()
        self.delay = timedelta(seconds=settings.SURVEY_SEND_DELAY)
        self.answer_window = timedelta(days=self.policy.answer_days)
        self.agent_first_names = [a[0] for a in AGENTS]

    # --- The whole run ---------------------------------------------------------------

    def build(self) -> str:
        customers = self._customers()
        fresh = max(3, round(self.ticket_count * 0.004))
        tickets = self._tickets(customers, self.ticket_count - fresh)
        self._simulate(tickets)
        tickets += self._fresh_tickets(customers, tickets, fresh)
        self._write(customers, tickets)
        rollups_rebuild()
        invitations = [inv for t in tickets for inv in t.invitations]
        delivered = [i for i in invitations if i.sent_at is not None]
        answered = [i for i in invitations if i.answered_at is not None]
        scheduled = len(
            {t.number for t in tickets for i in t.invitations if i.state == State.SCHEDULED}
        )
        open_followups = FollowUp.objects.filter(status__in=FollowUp.OPEN_STATUSES).count()
        return (
            f"Demo data: {len(tickets)} tickets, {len(invitations)} invitations "
            f"({len(delivered)} sent, {scheduled} surveys scheduled within the hour), "
            f"{len(answered)} responses, {open_followups} follow-ups open"
        )

    def _local(self, day: date, at: time) -> datetime:
        return timezone.make_aware(datetime.combine(day, at), self.tz)

    def _lognormal_minutes(self, median: float, sigma: float) -> timedelta:
        return timedelta(minutes=median * math.exp(self.rng.gauss(0, sigma)))

    # --- Customers -------------------------------------------------------------------

    def _customers(self) -> list[CustomerSpec]:
        count = max(self.ticket_count // 4, 12)
        # The shares exactly, at least one customer per language, then shuffled.
        total = sum(LOCALE_SHARES.values())
        quotas = {lang: max(1, count * share // total) for lang, share in LOCALE_SHARES.items()}
        for lang in sorted(LOCALE_SHARES, key=LOCALE_SHARES.get, reverse=True):
            if sum(quotas.values()) >= count:
                break
            quotas[lang] += 1
        locales = [lang for lang, n in quotas.items() for _ in range(n)]
        self.rng.shuffle(locales)
        taken = set(Customer.objects.values_list("email", flat=True))
        customers = []
        for locale in locales:
            firsts, lasts = (names.split() for names in NAMES[locale])
            first, last = self.rng.choice(firsts), self.rng.choice(lasts).replace("_", " ")
            email = self._email(first, last, taken)
            customers.append(
                CustomerSpec(
                    email=email,
                    name=f"{first} {last}",
                    locale=locale,
                    will_opt_out=self.rng.random() < 0.04,
                    # Some customers contact support far more often than others.
                    weight=math.exp(self.rng.gauss(0, 0.8)),
                )
            )
        return customers

    def _email(self, first: str, last: str, taken: set[str]) -> str:
        local = f"{_ascii(first)}.{_ascii(last)}"
        domain = self.rng.choice(CUSTOMER_DOMAINS)
        email, n = f"{local}@{domain}", 1
        while email in taken:
            n += 1
            email = f"{local}{n}@{domain}"
        taken.add(email)
        return email

    # --- Tickets ---------------------------------------------------------------------

    def _tickets(self, customers: list[CustomerSpec], count: int) -> list[TicketSpec]:
        created = sorted(self._created_times(count))
        # Every customer has at least one ticket; the rest go to the frequent ones.
        requesters = list(customers[:count])
        weights = [c.weight for c in customers]
        requesters += self.rng.choices(customers, weights=weights, k=count - len(requesters))
        self.rng.shuffle(requesters)
        tickets = []
        for number, (created_at, customer) in enumerate(zip(created, requesters, strict=True)):
            ticket = self._ticket(10001 + number, customer, created_at)
            self._lifecycle(ticket)
            tickets.append(ticket)
        # However small the demo, a few of the newest tickets are still being worked on.
        for ticket in tickets[-2:]:
            if ticket.solved_at is not None:
                self._unsolve(ticket)
        return tickets

    def _created_times(self, count: int) -> list[datetime]:
        days = [self.today - timedelta(days=n) for n in range(DAYS, -1, -1)]
        weights = []
        for index, day in enumerate(days):
            growth = 0.85 + 0.3 * index / DAYS  # the business grows a little
            weights.append(WEEKDAY_WEIGHTS[day.weekday()] * growth)
        now_local = timezone.localtime(self.now)
        elapsed = [h for h in range(24) if h < now_local.hour]
        weights[-1] *= sum(HOUR_WEIGHTS[h] for h in elapsed) / sum(HOUR_WEIGHTS)
        times = []
        for day in self.rng.choices(days, weights=weights, k=count):
            hours = range(24) if day != self.today or not elapsed else elapsed
            hour = self.rng.choices(hours, weights=[HOUR_WEIGHTS[h] for h in hours])[0]
            at = time(hour, self.rng.randrange(60), self.rng.randrange(60))
            times.append(min(self._local(day, at), self.now - timedelta(minutes=5)))
        return times

    def _ticket(self, number: int, customer: CustomerSpec, created_at: datetime) -> TicketSpec:
        categories = list(CATEGORIES)
        category = self.rng.choices(categories, weights=[c[0] for c in CATEGORIES.values()])[0]
        billing = self.rng.random() < CATEGORIES[category][1]
        team_agents = [i for i, a in enumerate(AGENTS) if (a[2] == "Billing") == billing]
        agent = self.rng.choices(team_agents, weights=[AGENTS[i][6] for i in team_agents])[0]
        channel = self.rng.choices(list(CHANNELS), weights=[c[0] for c in CHANNELS.values()])[0]
        subject_index = 2 * categories.index(category) + self.rng.randrange(2)
        tags = [category.lower().replace(" ", "-")]
        if self.rng.random() < 0.05:
            tags.append("vip")
        if self.rng.random() < 0.015:
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

    def _lifecycle(self, ticket: TicketSpec) -> None:
        """First reply, solve, replies and reopens; unsolved when that lies in the future."""
        rng, live = self.rng, ticket.channel in ("chat", "phone")
        first_median = {"chat": 3, "phone": 1, "social": 60}.get(ticket.channel, 150)
        first = ticket.created_at + self._lognormal_minutes(first_median, 0.9)
        if live and rng.random() < 0.55:
            solve = self._lognormal_minutes(15, 0.7)
        else:
            solve = self._lognormal_minutes(22 * 60, 1.1)
        ticket.reopens = rng.choices((0, 1, 2), weights=(92, 7, 1))[0]
        for _ in range(ticket.reopens):
            solve += self._lognormal_minutes(24 * 60, 0.8)
        weights = (60, 25, 10, 3, 1, 1) if live else (25, 35, 20, 10, 6, 4)
        replies = rng.choices(range(1, 7), weights=weights)[0]
        ticket.agent_replies = min(6, replies + ticket.reopens)
        ticket.first_response_at, ticket.solved_at = first, first + solve
        stuck = ticket.created_at > self.now - timedelta(days=30) and rng.random() < 0.03
        if first > self.now:
            ticket.status, ticket.first_response_at, ticket.solved_at = "new", None, None
            ticket.agent_replies = ticket.reopens = 0
        elif ticket.solved_at > self.now or stuck:
            self._unsolve(ticket)

    def _unsolve(self, ticket: TicketSpec) -> None:
        ticket.status = self.rng.choice((Ticket.Status.OPEN, Ticket.Status.PENDING))
        ticket.solved_at = None
        ticket.agent_replies = max(1, ticket.agent_replies - 1)

    def _fresh_tickets(
        self, customers: list[CustomerSpec], tickets: list[TicketSpec], count: int
    ) -> list[TicketSpec]:
        """Tickets solved in the last hour whose surveys the system will send shortly."""
        throttle = timedelta(days=self.policy.throttle_days)
        # Customers with an open ticket or a survey about to go out are left alone.
        busy = {
            id(t.customer)
            for t in tickets
            if t.solved_at is None or any(i.state == State.SCHEDULED for i in t.invitations)
        }
        eligible = [
            c
            for c in customers
            if not c.will_opt_out
            and c.opted_out_at is None
            and id(c) not in busy
            and (c.last_email_at is None or c.last_email_at < self.now - throttle)
        ]
        fresh = []
        for offset, customer in enumerate(self.rng.sample(eligible, min(count, len(eligible)))):
            send_after = self.now + timedelta(minutes=self.rng.uniform(2, 60))
            solved_at = min(send_after - self.delay, self.now - timedelta(minutes=1))
            created_at = solved_at - timedelta(hours=self.rng.uniform(1, 72))
            ticket = self._ticket(10001 + len(tickets) + offset, customer, created_at)
            ticket.first_response_at = created_at + (solved_at - created_at) / 4
            ticket.solved_at = solved_at
            ticket.agent_replies = self.rng.randint(1, 3)
            ticket.tags = [t for t in ticket.tags if t != "no-survey"]
            self._plan(ticket)
            for inv in ticket.invitations:
                inv.send_after = send_after
            fresh.append(ticket)
        return fresh

    # --- The survey loop -------------------------------------------------------------

    def _simulate(self, tickets: list[TicketSpec]) -> None:
        """Plan each solved ticket's survey when solved and send it when due, in time
        order, so the throttle, NPS interval and opt-outs apply as they would have."""
        events = []
        for index, ticket in enumerate(tickets):
            if ticket.solved_at is not None:
                events.append((ticket.solved_at, 0, index))
                events.append((ticket.solved_at + self.delay, 1, index))
        for at, step, index in sorted(events):
            ticket = tickets[index]
            if step == 0:
                self._plan(ticket)
            elif at <= self.now:
                self._send(ticket, at)

    def _plan(self, ticket: TicketSpec) -> None:
        customer, solved_at = ticket.customer, ticket.solved_at
        assert solved_at is not None
        live_nps = [
            i.sent_at or i.send_after
            for i in customer.nps_invitations
            if i.state not in (State.SUPPRESSED, State.FAILED, State.CANCELLED)
        ]
        plan = rules.survey_plan(
            requester_email=customer.email,
            opted_out=customer.opted_out(solved_at),
            tags=ticket.tags,
            excluded_tags=self.policy.excluded_tags,
            internal_domains=self.policy.internal_domains,
            ces_enabled=self.policy.ces_enabled,
            nps_enabled=self.policy.nps_enabled,
            last_nps_at=max(live_nps, default=None),
            nps_interval_days=self.policy.nps_interval_days,
            now=solved_at,
        )
        send_after = solved_at + self.delay
        if not plan.kinds:
            ticket.invitations = [
                InvitationSpec("csat", State.SUPPRESSED, send_after, reason=plan.skip_reason)
            ]
            return
        ticket.invitations = [InvitationSpec(k, State.SCHEDULED, send_after) for k in plan.kinds]
        customer.nps_invitations += [i for i in ticket.invitations if i.kind == "nps"]

    def _send(self, ticket: TicketSpec, at: datetime) -> None:
        customer = ticket.customer
        due = [i for i in ticket.invitations if i.state == State.SCHEDULED]
        if not due:
            return
        for inv in due:
            inv.claimed_at = at
        reason = rules.send_block_reason(
            opted_out=customer.opted_out(at),
            last_email_at=customer.last_email_at,
            throttle_days=self.policy.throttle_days,
            now=at,
        )
        blocked = list(due) if reason else []
        if not reason and not rules.nps_due(
            last_nps_at=customer.last_nps_sent_at,
            interval_days=self.policy.nps_interval_days,
            now=at,
        ):
            blocked = [i for i in due if i.kind == "nps"]
            reason = f"NPS asked in the last {self.policy.nps_interval_days} days"
        for inv in blocked:
            inv.state, inv.reason = State.SUPPRESSED, reason
        sent = [i for i in due if i not in blocked]
        if not sent:
            return
        for inv in sent:
            inv.state, inv.sent_at = State.SENT, at
        ticket.token_hash = token_new()[1]
        customer.last_email_at = at
        if any(i.kind == "nps" for i in sent):
            customer.last_nps_sent_at = at
        self._answer(ticket, sent, at)

    def _answer(self, ticket: TicketSpec, sent: list[InvitationSpec], at: datetime) -> None:
        """The customer answers (or not), opts out after their first email, or lets it expire."""
        rng, customer = self.rng, ticket.customer
        expires_at = at + self.answer_window
        if customer.will_opt_out:
            opted_out_at = at + self._lognormal_minutes(90, 1.5)
            if opted_out_at < self.now:
                customer.opted_out_at = opted_out_at
        mood = self._mood(ticket)
        answering = customer.opted_out_at is None and rng.random() < 0.41 + 0.07 * (mood < -0.3)
        answered_at = at + self._lognormal_minutes(150, 1.6)
        if answering and answered_at < min(self.now, expires_at - timedelta(hours=1)):
            chance = {"csat": 0.97, "ces": 0.88, "nps": 0.85}
            for inv in sent:
                if rng.random() < chance[inv.kind]:
                    inv.raw_score = self._score(inv.kind, mood, ticket)
                    inv.state, inv.answered_at = State.ANSWERED, answered_at.replace(microsecond=0)
            self._comment(ticket, sent, mood)
        for inv in sent:
            if inv.state == State.SENT and expires_at < self.now:
                inv.state = State.EXPIRED

    def _mood(self, ticket: TicketSpec) -> float:
        """How the customer feels about the ticket: the agent (some improve), the
        category, the channel, reopens and slow resolutions all count."""
        _f, _l, _team, _lead, quality_start, quality_end, _load = AGENTS[ticket.agent]
        progress = (ticket.created_at - self.start) / (self.now - self.start)
        mood = 1.5 + quality_start + (quality_end - quality_start) * progress
        mood += CATEGORIES[ticket.category][2] + CHANNELS[ticket.channel][1]
        mood -= 0.55 * ticket.reopens
        assert ticket.solved_at is not None
        if ticket.solved_at - ticket.created_at > timedelta(days=3):
            mood -= 0.35
        return self.rng.gauss(mood, 0.9)

    def _score(self, kind: str, mood: float, ticket: TicketSpec) -> int:
        rng = self.rng
        if kind == "csat":
            return 1 + sum(mood > t for t in (-0.55, -0.05, 0.35, 1.2))
        if kind == "ces":
            ease = 0.2 * (ticket.channel in ("chat", "phone")) - 0.3 * (ticket.agent_replies > 3)
            effort = 0.75 * mood + 0.6 * rng.gauss(0, 1) + ease - 0.4 * ticket.reopens
            score = 1 + sum(effort > t for t in (-1.5, -1.0, -0.55, -0.1, 0.5, 1.3))
            # An inverted question ("How much effort...?") is answered the other way round.
            return 8 - score if self.policy.ces_inverted else score
        loyalty = 0.7 * mood + 0.7 * rng.gauss(0, 1)
        return sum(loyalty > t for t in (-2.2, -1.9, -1.6, -1.3, -1.0, -0.7, -0.1, 0.4, 0.95, 1.7))

    def _comment(self, ticket: TicketSpec, sent: list[InvitationSpec], mood: float) -> None:
        order = list(SurveyKind.values)  # the survey page's order: CSAT, CES, NPS
        answered = sorted(
            (i for i in sent if i.raw_score is not None), key=lambda i: order.index(i.kind)
        )
        if not answered:
            return
        csat = next((i.raw_score for i in answered if i.kind == "csat"), None)
        low = csat <= 2 if csat is not None else mood < -0.3
        if self.rng.random() >= (0.5 if low else 0.27):
            return
        if low:
            tone = 2
        elif csat == 3 or (csat is None and mood < 0.5):
            tone = self.rng.choice((1, 1, 2))
        elif csat == 4:
            tone = self.rng.choice((0, 0, 1))
        else:
            tone = 0
        text = self.rng.choice(COMMENTS[ticket.customer.locale][tone])
        # As on the survey page: the comment is kept once, on the first answer.
        answered[0].comment = text.format(agent=self.agent_first_names[ticket.agent])

    # --- Writing ---------------------------------------------------------------------

    def _write(self, customers: list[CustomerSpec], tickets: list[TicketSpec]) -> None:
        teams, users = self._staff()
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
                created_at=customer.created_at or self.start,
            )
        Customer.objects.bulk_create([c.obj for c in customers], batch_size=BATCH)
        for ticket in tickets:
            ticket.obj = self._ticket_row(ticket, teams, users)
        Ticket.objects.bulk_create([t.obj for t in tickets], batch_size=BATCH)
        # received_at and updated_at are automatic; make them match the story.
        Ticket.objects.filter(source=DEMO_SOURCE).update(
            received_at=F("created_at"),
            updated_at=Coalesce("solved_at", "first_response_at", "created_at"),
        )
        invitations = [(t, i) for t in tickets for i in t.invitations]
        for ticket, inv in invitations:
            inv.obj = self._invitation_row(ticket, inv, teams, users)
        Invitation.objects.bulk_create([i.obj for _t, i in invitations], batch_size=BATCH)
        answered = [inv for _t, inv in invitations if inv.answered_at is not None]
        self._write_responses(answered)

    def _staff(self) -> tuple[dict[str, Team], list[Any]]:
        teams = {name: Team.objects.get_or_create(name=name)[0] for name in {a[2] for a in AGENTS}}
        users = []
        for first, last, team_name, lead, *_rest in AGENTS:
            team = teams[team_name]
            user = agent_upsert(
                email=f"{first.lower()}@support.example", name=f"{first} {last}", team=team
            )
            users.append(user)
            if lead and team.lead_id != user.pk:
                team.lead = user
                team.save(update_fields=["lead"])
        return teams, users

    def _ticket_row(self, ticket: TicketSpec, teams: dict[str, Team], users: list[Any]) -> Ticket:
        assigned = ticket.status != "new" or self.rng.random() < 0.3
        return Ticket(
            source=DEMO_SOURCE,
            external_id=str(ticket.number),
            subject=ticket.subject,
            status=ticket.status,
            channel=ticket.channel,
            category=ticket.category,
            tags=ticket.tags,
            url=f"https://helpdesk.example/tickets/{ticket.number}",
            requester=ticket.customer.obj,
            assignee=users[ticket.agent] if assigned else None,
            team=teams[AGENTS[ticket.agent][2]] if assigned else None,
            created_at=ticket.created_at,
            first_response_at=ticket.first_response_at,
            solved_at=ticket.solved_at,
            agent_replies=ticket.agent_replies,
            reopens=ticket.reopens,
        )

    def _invitation_row(
        self, ticket: TicketSpec, inv: InvitationSpec, teams: dict[str, Team], users: list[Any]
    ) -> Invitation:
        assert ticket.solved_at is not None
        sent = inv.sent_at is not None
        return Invitation(
            ticket=ticket.obj,
            customer=ticket.customer.obj,
            kind=inv.kind,
            state=inv.state,
            reason=inv.reason,
            scale_points=SCALES[inv.kind],
            inverted=inv.kind == "ces" and self.policy.ces_inverted,
            agent=users[ticket.agent],
            team=teams[AGENTS[ticket.agent][2]],
            channel=ticket.channel,
            category=ticket.category,
            locale=ticket.customer.locale,
            send_after=inv.send_after,
            attempts=1 if sent else 0,
            claimed_at=inv.claimed_at,
            sent_at=inv.sent_at,
            expires_at=inv.sent_at + self.answer_window if inv.sent_at else None,
            token_hash=ticket.token_hash if sent else "",
            created_at=ticket.solved_at,
        )

    def _write_responses(self, answered: list[InvitationSpec]) -> None:
        responses = []
        for inv in answered:
            assert inv.answered_at is not None and inv.raw_score is not None and inv.obj
            responses.append(
                Response(
                    invitation=inv.obj,
                    raw_score=inv.raw_score,
                    score=scoring.normalise(
                        kind=inv.kind,
                        raw=inv.raw_score,
                        scale_points=inv.obj.scale_points,
                        inverted=inv.obj.inverted,
                    ),
                    comment=inv.comment,
                    answered_at=inv.answered_at,
                    updated_at=inv.answered_at,
                    processed_at=inv.answered_at + timedelta(seconds=self.rng.randint(1, 20)),
                )
            )
        for response in responses:
            response.copy_dimensions(response.invitation)
        Response.objects.bulk_create(responses, batch_size=BATCH)
        Invitation.objects.filter(ticket__source=DEMO_SOURCE).answers_copy()
        ResponseRevision.objects.bulk_create(
            (
                ResponseRevision(
                    response=r, raw_score=r.raw_score, comment=r.comment, submitted_at=r.answered_at
                )
                for r in responses
            ),
            batch_size=BATCH,
        )
        self._write_followups(responses)

    def _write_followups(self, responses: list[Response]) -> None:
        """Cases for the low scores, with a history like a team's: most contacted
        within the service level, resolved ones asked "Did we sort it out?" and
        about half of those answered."""
        low = [
            r
            for r in responses
            if scoring.is_low(
                kind=r.invitation.kind, score=r.score, scale_points=r.invitation.scale_points
            )
        ]
        low.sort(key=lambda r: r.processed_at or r.answered_at)
        recent = self.now - timedelta(days=FOLLOWUP_OPEN_DAYS)
        cases: list[tuple[FollowUp, list[FollowUpEvent]]] = []
        for position, response in enumerate(low):
            opened = response.processed_at or response.answered_at
            # The newest cases are still being worked on, however small the demo.
            is_open = opened > recent or position >= len(low) - 3
            if is_open:
                status = self.rng.choice(("new", "new", "contacted", "contacted", "new"))
            else:
                status = self.rng.choices(("resolved", "no_action", "contacted"), (65, 30, 5))[0]
            invitation = response.invitation
            case = FollowUp(
                invitation=invitation,
                owner=invitation.agent,
                status=status,
                reason=f"{SurveyKind(invitation.kind).label} {response.raw_score}",
                created_at=opened,
                updated_at=opened,
                owner_notified_at=opened,
                due_at=followup_due(invitation=invitation, opened=opened),
            )
            events = [FollowUpEvent(kind=FollowUpEvent.Kind.OPENED, at=opened, new=case.reason)]
            if status != "new":
                contacted = min(opened + self._lognormal_minutes(10 * 60, 1.0), self.now)
                case.first_contacted_at = case.updated_at = contacted
                agent = invitation.agent
                events.append(self._event("status", agent, contacted, "new", "contacted"))
            if status in ("resolved", "no_action"):
                closed = min(case.updated_at + self._lognormal_minutes(6 * 60, 1.0), self.now)
                case.updated_at = closed
                events.append(self._event("status", invitation.agent, closed, "contacted", status))
            if status == "resolved":
                self._recovery(case, events)
            cases.append((case, events))
        FollowUp.objects.bulk_create([case for case, _events in cases], batch_size=BATCH)
        for case, events in cases:
            for event in events:
                event.followup = case
        FollowUpEvent.objects.bulk_create(
            [event for _case, events in cases for event in events], batch_size=BATCH
        )

    def _event(self, kind: str, actor: Any, at: datetime, old: str, new: str) -> FollowUpEvent:
        return FollowUpEvent(kind=kind, actor=actor, at=at, old=old, new=new)

    def _recovery(self, case: FollowUp, events: list[FollowUpEvent]) -> None:
        """The customer is asked once the case is resolved; about half answer, most of
        them that it was sorted out."""
        asked = case.updated_at
        case.recovery_sent_at = asked
        events.append(
            FollowUpEvent(
                kind=FollowUpEvent.Kind.RECOVERY_SENT,
                at=asked,
                new=case.invitation.customer.email,
            )
        )
        answered = asked + self._lognormal_minutes(8 * 60, 1.2)
        if self.rng.random() < 0.45 or answered > self.now:
            return
        outcome = "recovered" if self.rng.random() < 0.7 else "not_recovered"
        case.recovery_answered_at, case.outcome = answered, outcome
        events.append(
            FollowUpEvent(kind=FollowUpEvent.Kind.RECOVERY_ANSWER, at=answered, new=outcome)
        )


def _ascii(text: str) -> str:
    """A name as an email local part: Sjöberg -> sjoberg, Sørensen -> sorensen."""
    text = text.lower().replace("ø", "o").replace("æ", "ae").replace(" ", "")
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
