from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django import forms
from django.core.cache import cache
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, pgettext_lazy

from surveys.models import Agent, Category, Reason, Team, Ticket

from .models import BusinessFigures
from .responses import COMMENT_FILTERS
from .selectors import KINDS, ReportFilters

DEFAULT_DAYS = 30
MAX_DAYS = 3 * 366
DIMENSION_CACHE_SECONDS = 300
# The first choice of a filter menu: no narrowing.
ALL = gettext_lazy("All")


def dimension_choices(name: str) -> list[tuple[str, str]]:
    """The channels or categories tickets have, for the filter menus (cached briefly)."""

    def read() -> list[str]:
        values = Ticket.objects.exclude(**{name: ""}).values_list(name, flat=True).distinct()
        return sorted(values)

    values = cache.get_or_set(f"metrics:choices:{name}", read, DIMENSION_CACHE_SECONDS)
    if name == "category":  # by key, shown by name
        names = Category.names()
        named = sorted(((v, names.get(v, v)) for v in values), key=lambda choice: choice[1])
        return [("", ALL), *named]
    return [("", ALL)] + [(v, v) for v in values]


class ReportFilterForm(forms.Form):
    """The report filters: a date range and optional team, agent, channel, category."""

    start = forms.DateField(
        label=pgettext_lazy("start of a date range", "From"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    end = forms.DateField(
        label=pgettext_lazy("end of a date range", "To"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    team = forms.TypedChoiceField(
        label=gettext_lazy("Team"), coerce=int, required=False, empty_value=None
    )
    agent = forms.TypedChoiceField(
        label=gettext_lazy("Agent"), coerce=int, required=False, empty_value=None
    )
    channel = forms.ChoiceField(label=gettext_lazy("Channel"), required=False)
    category = forms.ChoiceField(label=gettext_lazy("Category"), required=False)

    def __init__(self, data: Any = None, *, today: date | None = None, **kwargs: Any) -> None:
        if data is not None:
            data = data.copy()
            # The query parameters say "from" and "to", as in the API.
            for param, name in (("from", "start"), ("to", "end")):
                if param in data and name not in data:
                    data[name] = data[param]
        super().__init__(data, **kwargs)
        self.today = today or timezone.localdate()
        teams = Team.objects.order_by("name").values_list("pk", "name")
        self.fields["team"].choices = [("", ALL)] + [(str(pk), n) for pk, n in teams]
        agents = Agent.objects.select_related("user").order_by(
            "user__first_name", "user__last_name"
        )
        self.fields["agent"].choices = [("", ALL)] + [(str(a.user_id), str(a)) for a in agents]
        self.fields["channel"].choices = dimension_choices("channel")
        self.fields["category"].choices = dimension_choices("category")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        end = data.get("end") or self.today
        start = data.get("start") or end - timedelta(days=DEFAULT_DAYS - 1)
        if start > end:
            self.add_error("start", _("Must not be after the end date."))
        elif (end - start).days > MAX_DAYS:
            self.add_error(
                "start",
                ngettext("Choose at most %(days)d days.", "Choose at most %(days)d days.", MAX_DAYS)
                % {"days": MAX_DAYS},
            )
        data["start"], data["end"] = start, end
        return data

    def filters(self) -> ReportFilters:
        """The filters the form asks for, or the default (last 30 days) when invalid."""
        if not self.is_valid():
            end = self.today
            return ReportFilters(start=end - timedelta(days=DEFAULT_DAYS - 1), end=end)
        data = self.cleaned_data
        return ReportFilters(
            start=data["start"],
            end=data["end"],
            team=data.get("team"),
            agent=data.get("agent"),
            channel=data.get("channel") or None,
            category=data.get("category") or None,
        )


class CommentFilterForm(forms.Form):
    comments = forms.ChoiceField(choices=list(COMMENT_FILTERS.items()), required=False)


class ResponseFilterForm(ReportFilterForm):
    """The responses list: the report filters and what a number in a report narrows to."""

    kind = forms.ChoiceField(
        label=gettext_lazy("Kind"),
        choices=[("", ALL), *((k, k.upper()) for k in KINDS)],
        required=False,
    )
    score_class = forms.ChoiceField(
        label=gettext_lazy("Score class"),
        required=False,
        choices=[
            ("", gettext_lazy("Any")),
            ("positive", gettext_lazy("Positive")),
            ("negative", gettext_lazy("Not positive")),
            ("passive", gettext_lazy("NPS passive")),
            ("detractor", gettext_lazy("NPS detractor")),
            ("low", gettext_lazy("Low (follow-up)")),
        ],
    )
    min_score = forms.IntegerField(
        label=gettext_lazy("Min score"), required=False, min_value=0, max_value=10
    )
    max_score = forms.IntegerField(
        label=gettext_lazy("Max score"), required=False, min_value=0, max_value=10
    )
    commented = forms.BooleanField(label=gettext_lazy("Commented"), required=False)
    ticket = forms.CharField(label=gettext_lazy("Ticket"), required=False, max_length=100)
    basis = forms.ChoiceField(
        required=False,
        choices=[("", gettext_lazy("Day answered")), ("sent", gettext_lazy("Day sent"))],
        label=gettext_lazy("Dates are the"),
    )
    term = forms.CharField(
        label=gettext_lazy("Comment contains"),
        required=False,
        max_length=100,
        help_text=gettext_lazy("A word or two-word phrase, as the dashboard lists them."),
    )
    reason = forms.TypedChoiceField(
        label=gettext_lazy("Reason given"), required=False, coerce=int, empty_value=None
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        language = translation.get_language()
        self.fields["reason"].choices = [("", ALL)] + [
            (reason.pk, f"{reason.kind.upper()}: {reason.label_in(language)}")
            for reason in Reason.objects.all()
        ]


class CompareForm(forms.Form):
    """Before and after a process change: equal periods on each side of a date."""

    change = forms.DateField(
        label=gettext_lazy("Date of the change"), widget=forms.DateInput(attrs={"type": "date"})
    )
    days = forms.IntegerField(
        label=gettext_lazy("Days on each side"), min_value=7, max_value=366, initial=90
    )


class BusinessFiguresForm(forms.ModelForm):
    month = forms.DateField(
        label=gettext_lazy("Month"),
        widget=forms.DateInput(attrs={"type": "month"}, format="%Y-%m"),
        input_formats=["%Y-%m", "%Y-%m-%d"],
        help_text=gettext_lazy("The month these figures are for."),
    )

    class Meta:
        model = BusinessFigures
        fields = [
            "month",
            "customers_start",
            "customers_end",
            "customers_new",
            "sales_marketing_spend",
            "yearly_revenue_per_customer",
            "customer_years",
            "note",
        ]
        labels = {"note": gettext_lazy("Note")}
        widgets = {"note": forms.Textarea(attrs={"rows": 2})}

    def clean_month(self) -> date:
        return self.cleaned_data["month"].replace(day=1)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        start, end, new = (
            data.get(k) for k in ("customers_start", "customers_end", "customers_new")
        )
        if None not in (start, end, new) and new > end:
            self.add_error("customers_new", _("Cannot be more than the customers at the end."))
        return data
