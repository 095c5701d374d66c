"""The floor: the least a Django view can do on each of the customer's paths, served by
the same gunicorn as Kundpuls in bench/customer_path.py. Each validates its input,
makes one round trip to the database, and answers as Kundpuls does (a redirect, a
small page, a JSON body)."""

from __future__ import annotations

import json

from django import forms
from django.db import connection
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.template import engines
from django.views.decorators.csrf import csrf_exempt

TABLE = "bench_floor"
PAGE = engines["django"].from_string(
    "<!doctype html><html lang='en'><title>Survey</title><h1>{{ row.1 }}</h1>"
    "<form method='post'>{% for n in points %}<label><input type='radio' name='csat' "
    "value='{{ n }}'{% if n == chosen %} checked{% endif %}> {{ n }}</label>{% endfor %}"
    "<button>Send</button></form></html>"
)


def table_create() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {TABLE}")
        kind = "SERIAL" if connection.vendor == "postgresql" else "INTEGER"
        cursor.execute(f"CREATE TABLE {TABLE} (id {kind} PRIMARY KEY, score SMALLINT, note TEXT)")
        cursor.executemany(
            "INSERT INTO bench_floor (score, note) VALUES (%s, %s)",
            [(0, f"Ticket {n}") for n in range(1, 1001)],
        )


def rows() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM bench_floor")
        return cursor.fetchone()[0]


class ScoreForm(forms.Form):
    csat = forms.IntegerField(min_value=1, max_value=5)


@csrf_exempt
def answer(request: HttpRequest) -> HttpResponse:
    form = ScoreForm(request.POST)
    if not form.is_valid():
        return HttpResponse(status=400)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO bench_floor (score, note) VALUES (%s, %s)", [form.cleaned_data["csat"], ""]
        )
    return HttpResponseRedirect("/floor/thanks/")


def page(request: HttpRequest, pk: int) -> HttpResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, note FROM bench_floor WHERE id = %s", [pk])
        row = cursor.fetchone()
    chosen = int(request.GET.get("csat", "0") or 0)
    return HttpResponse(PAGE.render({"row": row, "points": range(1, 6), "chosen": chosen}))


@csrf_exempt
def event(request: HttpRequest) -> HttpResponse:
    try:
        body = json.loads(request.body)
        email, external_id = body["requester"]["email"], str(body["external_id"])
    except (ValueError, KeyError, TypeError):
        return JsonResponse({"error": "bad event"}, status=400)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO bench_floor (score, note) VALUES (%s, %s)", [0, email + external_id]
        )
    return JsonResponse({"external_id": external_id}, status=201)
