"""CSV and XLSX exports: one row per response, every report table, no formulas."""

import csv
import io
import zipfile
from datetime import timedelta

import pytest
from django.utils import timezone

from metrics.exports import csv_lines, neutralise, xlsx_file
from metrics.rebuild import rollups_rebuild
from surveys.models import Response
from tests.factories import InvitationFactory, TicketFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    client.force_login(UserFactory(username="boss@support.example", is_staff=True))
    return client


def answer(score=5, comment="", ticket="48213"):
    at = timezone.now() - timedelta(days=1)
    invitation = InvitationFactory(
        ticket=TicketFactory(external_id=ticket, channel="chat"), state="answered", sent_at=at
    )
    return Response.objects.create(
        invitation=invitation, raw_score=score, score=score, comment=comment, answered_at=at
    )


def csv_rows(response):
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_neutralise_prefixes_formula_starts_with_an_apostrophe(start):
    assert neutralise(f"{start}SUM(A1)") == f"'{start}SUM(A1)"


def test_neutralise_leaves_numbers_and_plain_text_alone():
    assert (neutralise(-12.5), neutralise(3), neutralise("Fine"), neutralise(None)) == (
        -12.5,
        3,
        "Fine",
        "",
    )


def test_csv_lines_start_with_a_bom_and_header():
    lines = list(csv_lines(["a", "b"], [(1, "=x")]))

    assert lines == ["\ufeffa,b\r\n", "1,'=x\r\n"]


def test_responses_csv_has_one_row_per_response(staff_client):
    answer(score=2, comment='=HYPERLINK("http://evil.example","click")')

    rows = csv_rows(staff_client.get("/reports/responses.csv"))

    header, [row] = rows[0], rows[1:]
    record = dict(zip(header, row, strict=True))
    assert (record["ticket"], record["channel"], record["kind"], record["raw_score"]) == (
        "48213",
        "chat",
        "csat",
        "2",
    )
    assert record["comment"].startswith("'=HYPERLINK")
    assert record["customer_locale"] == "en"


def test_responses_xlsx_keeps_a_formula_as_text(staff_client):
    answer(comment="@SUM(1+1)")

    response = staff_client.get("/reports/responses.xlsx")

    workbook = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    sheet = workbook.read("xl/worksheets/sheet1.xml").decode()
    assert "'@SUM(1+1)" in sheet
    assert "<f>" not in sheet


def test_table_export_gives_the_agent_table_with_exact_counts(staff_client):
    answer(score=5, ticket="1")
    answer(score=1, ticket="2")
    rollups_rebuild()

    rows = csv_rows(staff_client.get("/reports/tables/agents.csv"))

    assert rows[0][:6] == [
        "agent",
        "csat",
        "csat_low",
        "csat_high",
        "csat_satisfied",
        "csat_answers",
    ]
    assert sorted(row[4:6] for row in rows[1:]) == [["0", "1"], ["1", "1"]]


def test_unknown_table_export_is_404(staff_client):
    assert staff_client.get("/reports/tables/secrets.csv").status_code == 404


def test_xlsx_file_writes_numbers_as_numbers():
    out = xlsx_file([("Sheet", ["n"], [(1.5,)])])

    sheet = zipfile.ZipFile(out).read("xl/worksheets/sheet1.xml").decode()
    assert "<v>1.5</v>" in sheet
