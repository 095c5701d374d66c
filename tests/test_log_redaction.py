"""Link tokens are credentials: no log line carries one (Django's request loggers,
runserver's request lines, gunicorn's access log)."""

import logging
from types import SimpleNamespace

import pytest
from gunicorn.config import Config

from config.gunicorn_logging import RedactingLogger
from surveys.pages import RedactLinks, links_redacted

TOKEN = "pjNhSz1uxbG9x1ZjIrvwqj16JTkidPi1yStRQpW9JIY"
UNSUBSCRIBE = "MQ:1tVcXq:5Zr7Qm0mUuQf4cQyC0PQ1vXb2yHkqLqQ2s3u4v5w6x7"


def test_links_lose_their_tokens_and_nothing_else():
    text = (
        f"GET /s/{TOKEN}/?csat=4 /s/{TOKEN}/thanks/ /r/{TOKEN}/ /u/{UNSUBSCRIBE}/ "
        "/static/css/app.css /followups/12/ /api/v1/tickets"
    )

    redacted = links_redacted(text)

    assert TOKEN not in redacted and UNSUBSCRIBE not in redacted
    assert redacted == (
        "GET /s/[token]/?csat=4 /s/[token]/thanks/ /r/[token]/ /u/[token]/ "
        "/static/css/app.css /followups/12/ /api/v1/tickets"
    )


def test_djangos_not_found_warning_is_logged_without_the_token(caplog):
    logger = logging.getLogger("django.request.test")
    logger.addFilter(RedactLinks())
    with caplog.at_level(logging.WARNING):
        logger.warning("Not Found: %s", f"/s/{TOKEN}x/")

    assert caplog.records[0].getMessage() == "Not Found: /s/[token]/"


@pytest.mark.django_db
def test_a_404_for_a_survey_link_logs_no_token(client, capsys):
    client.get(f"/s/{TOKEN}/")

    assert TOKEN not in capsys.readouterr().err


def test_gunicorns_access_log_has_no_token():
    logger = RedactingLogger(Config())
    request = SimpleNamespace(
        method="GET",
        uri=f"/s/{TOKEN}/?csat=4",
        path=f"/s/{TOKEN}/",
        query="csat=4",
        version=(1, 1),
        headers=[("REFERER", f"https://mail.example/r/{TOKEN}/")],
    )
    response = SimpleNamespace(status="200 OK", sent=512, response_length=512, headers=[])
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": f"/s/{TOKEN}/?csat=4",
        "REMOTE_ADDR": "1.2.3.4",
        "SERVER_PROTOCOL": "HTTP/1.1",
    }

    atoms = logger.atoms(response, request, environ, SimpleNamespace(seconds=0, microseconds=1))

    assert not [value for value in atoms.values() if TOKEN in str(value)]
    assert atoms["r"] == "GET /s/[token]/?csat=4 HTTP/1.1"
