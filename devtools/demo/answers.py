"""The answers: whether a surveyed customer answers, opts out or lets the survey
expire, the scores they give (their mood: the agent, the ticket's category, channel,
reopens and speed) and the comments they write in their language."""

from __future__ import annotations

from datetime import datetime, timedelta

from surveys import scoring
from surveys.models import Reason, Response, ResponseReason, ResponseRevision, Survey

from .cast import AGENTS
from .run import BATCH, DEMO_SOURCE, DemoRun, InvitationSpec, TicketSpec
from .tickets import CATEGORIES, CHANNELS

State = Survey.State

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


def survey_answer(
    *, run: DemoRun, ticket: TicketSpec, sent: list[InvitationSpec], at: datetime
) -> None:
    """The customer answers (or not), opts out after their first email, or lets it expire."""
    rng, customer = run.rng, ticket.customer
    expires_at = at + run.answer_window
    if customer.will_opt_out:
        opted_out_at = at + run.lognormal_minutes(90, 1.5)
        if opted_out_at < run.now:
            customer.opted_out_at = opted_out_at
    mood = _mood(run, ticket)
    answering = customer.opted_out_at is None and rng.random() < 0.41 + 0.07 * (mood < -0.3)
    answered_at = at + run.lognormal_minutes(150, 1.6)
    if answering and answered_at < min(run.now, expires_at - timedelta(hours=1)):
        chance = {"csat": 0.97, "ces": 0.88, "nps": 0.85}
        for inv in sent:
            # The first question is required on the survey page; the others are not.
            if rng.random() < chance[inv.kind] or inv is sent[0]:
                inv.raw_score = _score(run, inv.kind, mood, ticket)
                inv.state, inv.answered_at = State.ANSWERED, answered_at.replace(microsecond=0)
        _comment(run, ticket, sent, mood)
    for inv in sent:
        if inv.state == State.SENT and expires_at < run.now:
            inv.state = State.EXPIRED


def _mood(run: DemoRun, ticket: TicketSpec) -> float:
    """How the customer feels about the ticket: the agent (some improve), the
    category, the channel, reopens and slow resolutions all count."""
    agent = AGENTS[ticket.agent]
    progress = (ticket.created_at - run.start) / (run.now - run.start)
    mood = 1.5 + agent.quality_start + (agent.quality_end - agent.quality_start) * progress
    mood += CATEGORIES[ticket.category][2] + CHANNELS[ticket.channel][1]
    mood -= 0.55 * ticket.reopens
    assert ticket.solved_at is not None
    if ticket.solved_at - ticket.created_at > timedelta(days=3):
        mood -= 0.35
    return run.rng.gauss(mood, 0.9)


def _score(run: DemoRun, kind: str, mood: float, ticket: TicketSpec) -> int:
    rng = run.rng
    if kind == "csat":
        return 1 + sum(mood > t for t in (-0.55, -0.05, 0.35, 1.2))
    if kind == "ces":
        ease = 0.2 * (ticket.channel in ("chat", "phone")) - 0.3 * (ticket.agent_replies > 3)
        effort = 0.75 * mood + 0.6 * rng.gauss(0, 1) + ease - 0.4 * ticket.reopens
        score = 1 + sum(effort > t for t in (-1.5, -1.0, -0.55, -0.1, 0.5, 1.3))
        # An inverted question ("How much effort...?") is answered the other way round.
        return 8 - score if run.policy.ces_inverted else score
    loyalty = 0.7 * mood + 0.7 * rng.gauss(0, 1)
    return sum(loyalty > t for t in (-2.2, -1.9, -1.6, -1.3, -1.0, -0.7, -0.1, 0.4, 0.95, 1.7))


def _comment(run: DemoRun, ticket: TicketSpec, sent: list[InvitationSpec], mood: float) -> None:
    answered = [i for i in sent if i.raw_score is not None]  # already in question order
    if not answered:
        return
    csat = next((i.raw_score for i in answered if i.kind == "csat"), None)
    low = csat <= 2 if csat is not None else mood < -0.3
    if run.rng.random() >= (0.5 if low else 0.27):
        return
    if low:
        tone = 2
    elif csat == 3 or (csat is None and mood < 0.5):
        tone = run.rng.choice((1, 1, 2))
    elif csat == 4:
        tone = run.rng.choice((0, 0, 1))
    else:
        tone = 0
    text = run.rng.choice(COMMENTS[ticket.customer.locale][tone])
    # As on the survey page: the comment is kept once, on the first answer.
    answered[0].comment = text.format(agent=AGENTS[ticket.agent].first)


def responses_write(*, run: DemoRun, tickets: list[TicketSpec]) -> list[Response]:
    """The responses to the answered questions, after the questions
    (invitations.invitations_write), each with its first revision."""
    answered = [i for t in tickets for i in t.invitations if i.answered_at is not None]
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
                processed_at=inv.answered_at + timedelta(seconds=run.rng.randint(1, 20)),
            )
        )
    for response in responses:
        response.copy_dimensions(response.invitation)
    Response.objects.bulk_create(responses, batch_size=BATCH)
    Survey.objects.filter(ticket__source=DEMO_SOURCE).answers_copy()
    ticked = reasons_write(run=run, responses=responses)
    ResponseRevision.objects.bulk_create(
        (
            ResponseRevision(
                response=r,
                raw_score=r.raw_score,
                comment=r.comment,
                reasons=ticked.get(r.pk, []),
                submitted_at=r.answered_at,
            )
            for r in responses
        ),
        batch_size=BATCH,
    )
    return responses


# How often each default reason is ticked after a low score (the rest: none).
REASON_WEIGHTS = {"slow": 5, "unsolved": 4, "repeat": 3, "manner": 1, "product": 2, "other": 1}


def reasons_write(*, run: DemoRun, responses: list[Response]) -> dict[int, list[str]]:
    """Most customers who answer low tick a reason or two: waiting and unsolved
    problems most. Returns the codes ticked per response id."""
    offered = {(r.kind, r.code): r for r in Reason.objects.filter(active=True)}
    ticked: dict[int, list[str]] = {}
    rows = []
    for response in responses:
        low = scoring.is_low(
            kind=response.kind, score=response.score, scale_points=response.scale_points
        )
        if not low or run.rng.random() < 0.3:
            continue
        codes = [c for c in REASON_WEIGHTS if (response.kind, c) in offered]
        weights = [REASON_WEIGHTS[c] for c in codes]
        chosen = set(run.rng.choices(codes, weights, k=run.rng.choice((1, 1, 2)))) if codes else ()
        ticked[response.pk] = [c for c in codes if c in chosen]
        rows += [
            ResponseReason(response=response, reason=offered[response.kind, c])
            for c in ticked[response.pk]
        ]
    ResponseReason.objects.bulk_create(rows, batch_size=BATCH)
    return ticked
