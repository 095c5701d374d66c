"""The before/after comparison: every metric in two periods, and whether the change
is more than chance (metrics.formulas): reads only."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import formulas
from .reports import compare_scores, group_scores
from .selectors import METRIC_LABELS, METRICS, ReportFilters, Score, scores_by_group


@dataclass(frozen=True)
class ComparisonRow:
    metric: str
    label: str
    before: Score
    after: Score
    comparison: formulas.Comparison | None


def compare_build(*, before: ReportFilters, after: ReportFilters) -> dict[str, Any]:
    """Every metric in the period before and the period after, with their comparison."""
    a = group_scores(scores_by_group(filters=before))
    b = group_scores(scores_by_group(filters=after))
    rows = [
        ComparisonRow(
            metric=metric,
            label=str(METRIC_LABELS[metric]),  # in the language of the request
            before=a[metric],
            after=b[metric],
            comparison=compare_scores(a[metric], b[metric]),
        )
        for metric in METRICS
    ]
    return {"before": before, "after": after, "rows": rows}
