import re
from html.parser import HTMLParser

import pytest
from django.core.exceptions import ValidationError

from surveys.models import QuestionText, SurveyPolicy, contrast_ratio, validate_brand_color

pytestmark = pytest.mark.django_db

# A 1x1 PNG.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


class Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links, self.images = [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a":
            self.links.append(attrs)
        if tag == "img":
            self.images.append(attrs)


def parts(message):
    html = next(c for c, mimetype in message.alternatives if mimetype == "text/html")
    parser = Links()
    parser.feed(html)
    return html, parser


def test_email_is_small_table_layout_with_preheader(sent_survey, mailoutbox):
    sent_survey()

    html, _links = parts(mailoutbox[-1])

    assert len(html.encode()) < 100_000
    assert '<table role="presentation"' in html
    assert "One click tells us how we did." in html.split("<table", 1)[0]  # the preheader
    assert '<meta name="color-scheme" content="light dark">' in html
    assert "@media (prefers-color-scheme: dark)" in html


def test_email_names_company_agent_and_ticket(sent_survey, mailoutbox):
    SurveyPolicy.objects.update_or_create(
        pk=1, defaults={"company_name": "Nordvik", "brand_color": "#0b6e4f"}
    )
    sent_survey()

    message = mailoutbox[-1]
    html, _links = parts(message)
    for text in (html, message.body):
        assert "Lars Holm recently helped you with “Refund not received”." in text
        assert "Nordvik" in text
    assert "border:2px solid #0b6e4f" in html


def test_email_rating_links_answer_with_one_click(sent_survey, mailoutbox):
    _ticket, token = sent_survey()

    _html, parsed = parts(mailoutbox[-1])

    ratings = [a["href"] for a in parsed.links if "?csat=" in a["href"]]
    assert ratings == [f"http://testserver/s/{token}/?csat={n}" for n in range(1, 6)]
    assert [a["aria-label"] for a in parsed.links if "?csat=" in a["href"]] == [
        "1: Very dissatisfied",
        "2: Dissatisfied",
        "3: Neutral",
        "4: Satisfied",
        "5: Very satisfied",
    ]


def test_email_honeypot_link_is_hidden_from_people(sent_survey, mailoutbox):
    _ticket, token = sent_survey()

    message = mailoutbox[-1]
    html, parsed = parts(message)

    [honeypot] = [a for a in parsed.links if a["href"].endswith("/h/")]
    assert honeypot == {
        "href": f"http://testserver/s/{token}/h/",
        "tabindex": "-1",
        "style": "color:transparent;font-size:0;",
    }
    hidden = r'<div aria-hidden="true" style="display:none;[^"]*"><a href="[^"]+/h/"'
    assert re.search(hidden, html)
    assert "/h/" not in message.body


def test_email_footer_has_unsubscribe_link(sent_survey, mailoutbox):
    sent_survey()

    message = mailoutbox[-1]
    _html, parsed = parts(message)

    unsubscribe = message.extra_headers["List-Unsubscribe"].strip("<>")
    assert parsed.links[-1]["href"] == unsubscribe
    assert f"Unsubscribe: {unsubscribe}" in message.body


def test_text_part_says_the_same(sent_survey, mailoutbox):
    _ticket, token = sent_survey()

    body = mailoutbox[-1].body

    assert "How satisfied were you with the support you received?" in body
    assert f"1 (Very dissatisfied): http://testserver/s/{token}/?csat=1" in body
    assert f"5 (Very satisfied): http://testserver/s/{token}/?csat=5" in body
    assert f"Answer here: http://testserver/s/{token}/" in body


def test_email_stars_keep_visible_numbers(sent_survey, mailoutbox):
    SurveyPolicy.objects.update_or_create(pk=1, defaults={"csat_style": "stars"})
    sent_survey()

    html, _parsed = parts(mailoutbox[-1])

    assert html.count('<span aria-hidden="true"') == 5
    assert re.search(r"★</span><span [^>]*>4</span>", html)


def test_email_uses_admin_question_text(sent_survey, mailoutbox):
    QuestionText.objects.create(kind="csat", language="sv", text="Hjälpte {company} dig?")
    sent_survey(requester={"email": "kim@example.se", "name": "Kim", "locale": "sv"})

    message = mailoutbox[-1]

    assert "Hjälpte Kundpuls Demo dig?" in message.body
    assert "Hjälpte Kundpuls Demo dig?" in parts(message)[0]


def test_logo_is_served_at_an_absolute_address(client, sent_survey, mailoutbox):
    policy = SurveyPolicy.load()
    policy.logo, policy.logo_type = PNG, "image/png"
    policy.save()
    sent_survey()

    _html, parsed = parts(mailoutbox[-1])

    [logo] = parsed.images
    assert logo["src"] == f"http://testserver/brand/logo/{policy.logo_hash}/"
    assert logo["alt"] == "Kundpuls Demo"
    served = client.get(logo["src"].removeprefix("http://testserver"))
    assert (served.status_code, served["Content-Type"], served.content) == (200, "image/png", PNG)
    assert client.get("/brand/logo/0000000000000000/").status_code == 404


def test_brand_colour_must_carry_white_text():
    validate_brand_color("#1f5fbf")
    with pytest.raises(ValidationError, match="too light"):
        validate_brand_color("#ffd400")
    with pytest.raises(ValidationError, match="six hex digits"):
        validate_brand_color("blue")


def test_contrast_ratio_follows_wcag():
    assert contrast_ratio("#000000", "#ffffff") == pytest.approx(21)
    assert contrast_ratio("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)


@pytest.mark.parametrize(
    ("name", "subject", "agent"),
    [
        ("Anna Berg", 'Can\'t log in & <b>reset</b> "fails"', "lars@support.example"),
        ("", "Refund  not\treceived", None),
        ("Åsa O'Neill", "Fråga om leverans", "lars@support.example"),
    ],
)
def test_survey_email_filled_from_its_rendered_shape_equals_a_full_render(
    sent_survey, mailoutbox, name, subject, agent
):
    from django.urls import reverse
    from django.utils import translation

    from surveys.emails import absolute, brand_context, render_email, unsubscribe_url
    from surveys.forms import question_text, scale_labels, scale_points
    from surveys.models import Survey
    from tests.conftest import survey_token

    requester = {"email": "kund@example.se", "name": name, "locale": "sv"}
    assignee = {"email": agent, "name": "Lars Holm"} if agent else None
    sent_survey(requester=requester, subject=subject, assignee=assignee)
    [message] = mailoutbox
    survey = Survey.objects.get()
    token = survey_token(message)
    policy = SurveyPolicy.load()
    survey_url = absolute(reverse("surveys:survey", args=[token]))
    [csat] = [q for q in survey.questions if q.kind == "csat"]
    with translation.override("sv"):
        context = {
            **brand_context(policy),
            "customer_name": name.split(" ")[0],
            "agent_name": survey.agent.get_full_name() if survey.agent else "",
            "subject": subject,
            "survey_url": survey_url,
            "honeypot_url": absolute(reverse("surveys:honeypot", args=[token])),
            "style": policy.csat_style,
            "unsubscribe_url": unsubscribe_url(survey.customer, at=survey.created_at),
            "question": question_text(csat, policy.company_name),
            "ends": scale_labels(csat),
            "ratings": [
                (p, f"{survey_url}?csat={p.value}") for p in scale_points(csat, policy.csat_style)
            ],
        }
    full = render_email("survey", context, "kund@example.se", "sv")

    assert message.subject == full.subject
    assert message.body == full.body
    assert message.alternatives[0].content == full.alternatives[0].content
    assert "&amp;" not in message.subject and "&#x27;" not in message.subject
