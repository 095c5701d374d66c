"""The metric formulas of METRICS.md as pure functions of exact counts.

Nothing here rounds: callers round only when a figure is shown. Nothing here reads
the database or the clock, so every case is a one-line test.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

Z95 = 1.959963984540054


@dataclass(frozen=True)
class Interval:
    low: float
    high: float


@dataclass(frozen=True)
class Durations:
    """Mean, median and 90th percentile of a set of durations, in seconds."""

    count: int
    mean: float | None
    median: float | None
    p90: float | None


@dataclass(frozen=True)
class Comparison:
    """Period B minus period A, with a 95 % interval of the difference and a z-test."""

    before: float
    after: float
    difference: float
    interval: Interval
    z: float | None
    p_value: float | None

    @property
    def significant(self) -> bool:
        """Whether the difference is larger than chance at the 5 % level."""
        return self.p_value is not None and self.p_value < 0.05


# --- Scores -----------------------------------------------------------------------------


def percent(part: int, whole: int) -> float | None:
    """part / whole x 100; None when there is nothing to divide by."""
    return None if whole == 0 else part * 100 / whole


def csat(*, satisfied: int, answers: int) -> float | None:
    """CSAT % = satisfied answers / all answers x 100."""
    return percent(satisfied, answers)


def ces(*, easy: int, answers: int) -> float | None:
    """CES % = easy answers / all answers x 100 (on normalised scores)."""
    return percent(easy, answers)


def response_rate(*, answered: int, delivered: int) -> float | None:
    """Survey emails answered / survey emails delivered (sent, neither bounced nor
    marked as spam) x 100: each email counts once, however many questions it asked."""
    return percent(answered, delivered)


def nps(*, promoters: int, passives: int, detractors: int) -> float | None:
    """% promoters - % detractors, from the counts (never from rounded shares)."""
    total = promoters + passives + detractors
    return None if total == 0 else (promoters - detractors) * 100 / total


def mean(total: float, count: int) -> float | None:
    return None if count == 0 else total / count


def mean_of_counts(by_score: Mapping[int, int]) -> float | None:
    """The mean score from how many answers gave each score."""
    return mean(sum(s * n for s, n in by_score.items()), sum(by_score.values()))


# --- Uncertainty ------------------------------------------------------------------------


def wilson(successes: int, total: int, z: float = Z95) -> Interval | None:
    """95 % Wilson score interval of a share, in percent."""
    if total == 0:
        return None
    p = successes / total
    denom = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total))
    # The exact ends when every or no answer succeeded; floating point may miss by 1e-17.
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == total else min(1.0, centre + half)
    return Interval(low * 100, high * 100)


def nps_variance(*, promoters: int, passives: int, detractors: int) -> float | None:
    """Variance of NPS (as a fraction, -1..1) from the promoter/detractor split."""
    total = promoters + passives + detractors
    if total == 0:
        return None
    p, d = promoters / total, detractors / total
    return max(0.0, p + d - (p - d) ** 2) / total


def nps_interval(
    *, promoters: int, passives: int, detractors: int, z: float = Z95
) -> Interval | None:
    """95 % adjusted-Wald interval of NPS (Rocks, The American Statistician, 2016):
    3 more answers, 3/4 more of them promoters and 3/4 detractors, then the interval of
    the difference of the adjusted shares. Never zero wide: 4 promoters of 4 give
    about +7 to +100, not "exactly +100". The point score stays the plain NPS."""
    total = promoters + passives + detractors
    if total == 0:
        return None
    n = total + 3
    p, d = (promoters + 0.75) / n, (detractors + 0.75) / n
    half = z * math.sqrt(max(0.0, p + d - (p - d) ** 2) / n)
    return Interval(max(-100.0, (p - d - half) * 100), min(100.0, (p - d + half) * 100))


def normal_two_sided_p(z: float) -> float:
    """P(|Z| >= |z|) for a standard normal Z."""
    return math.erfc(abs(z) / math.sqrt(2))


def two_proportion_test(
    *, successes_a: int, total_a: int, successes_b: int, total_b: int, z: float = Z95
) -> Comparison | None:
    """Compare two shares (CSAT, CES, response rate): B - A in percentage points.

    The z-test uses the pooled share (the null hypothesis: no difference); the
    interval of the difference uses each period's own variance.
    """
    if total_a == 0 or total_b == 0:
        return None
    pa, pb = successes_a / total_a, successes_b / total_b
    pooled = (successes_a + successes_b) / (total_a + total_b)
    se_pooled = math.sqrt(pooled * (1 - pooled) * (1 / total_a + 1 / total_b))
    se = math.sqrt(pa * (1 - pa) / total_a + pb * (1 - pb) / total_b)
    statistic = None if se_pooled == 0 else (pb - pa) / se_pooled
    diff = (pb - pa) * 100
    return Comparison(
        before=pa * 100,
        after=pb * 100,
        difference=diff,
        interval=Interval(diff - z * se * 100, diff + z * se * 100),
        z=statistic,
        p_value=None if statistic is None else normal_two_sided_p(statistic),
    )


def nps_difference(
    *, before: tuple[int, int, int], after: tuple[int, int, int], z: float = Z95
) -> Comparison | None:
    """Compare two NPS, each given as (promoters, passives, detractors): after - before.

    The standard error of the difference is the root of the sum of the two variances.
    """
    a = dict(zip(("promoters", "passives", "detractors"), before, strict=True))
    b = dict(zip(("promoters", "passives", "detractors"), after, strict=True))
    var_a, var_b = nps_variance(**a), nps_variance(**b)
    nps_a, nps_b = nps(**a), nps(**b)
    if var_a is None or var_b is None or nps_a is None or nps_b is None:
        return None
    se = math.sqrt(var_a + var_b) * 100
    diff = nps_b - nps_a
    statistic = None if se == 0 else diff / se
    return Comparison(
        before=nps_a,
        after=nps_b,
        difference=diff,
        interval=Interval(diff - z * se, diff + z * se),
        z=statistic,
        p_value=None if statistic is None else normal_two_sided_p(statistic),
    )


# --- Service metrics (tickets) ----------------------------------------------------------


def percentile(ordered: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0-100) of sorted values, interpolating linearly between
    the two nearest ranks (as PostgreSQL's percentile_cont and numpy's default)."""
    if not ordered:
        return None
    position = (len(ordered) - 1) * q / 100
    below = math.floor(position)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


def durations(seconds: Sequence[float]) -> Durations:
    """Mean (the seeds' formula), median and 90th percentile of durations."""
    ordered = sorted(seconds)
    return Durations(
        count=len(ordered),
        mean=mean(sum(ordered), len(ordered)),
        median=percentile(ordered, 50),
        p90=percentile(ordered, 90),
    )


def fcr(*, one_contact_not_reopened: int, solved: int) -> float | None:
    """First contact resolution = solved with one agent contact, never reopened / solved."""
    return percent(one_contact_not_reopened, solved)


def resolution_rate(*, solved: int, tickets: int) -> float | None:
    """Solved tickets / all tickets x 100 (not / unsolved tickets)."""
    return percent(solved, tickets)


def shares(counts: Mapping[str, int]) -> dict[str, float]:
    """Each key's share of the total, in percent (e.g. tickets per channel)."""
    total = sum(counts.values())
    return {key: n * 100 / total for key, n in counts.items()} if total else {}


# --- Business metrics (figures an admin enters) -----------------------------------------


def crr(*, start: int, end: int, new: int) -> float | None:
    """Customer retention rate = (E - N) / S x 100."""
    return percent(end - new, start)


def churn_rate(*, start: int, end: int, new: int) -> float | None:
    """Churn = customers lost / S x 100, where lost = S - (E - N)."""
    return percent(start - (end - new), start)


def cac(*, spend: Decimal, new: int) -> Decimal | None:
    """Customer acquisition cost = sales and marketing spend / new customers."""
    return None if new == 0 else Decimal(spend) / new


def clv(*, yearly_revenue: Decimal, years: Decimal, cac: Decimal | None) -> Decimal | None:
    """Customer lifetime value = yearly revenue per customer x years - CAC."""
    if cac is None:
        return None
    return Decimal(yearly_revenue) * Decimal(years) - cac


# --- Targets ---------------------------------------------------------------------------

MET = "met"
MET_WITHIN = "met_within"  # met, though the interval reaches below the target
NOT_MET_WITHIN = "not_met_within"  # not met, though the interval reaches the target
NOT_MET = "not_met"


def target_status(*, value: float | None, interval: Interval | None, target: float) -> str | None:
    """A score against its target: met or not, and whether its 95 % interval crosses the
    target (then the difference may be chance). None without a score."""
    if value is None:
        return None
    if value >= target:
        return MET if interval is None or interval.low >= target else MET_WITHIN
    return NOT_MET_WITHIN if interval is not None and interval.high >= target else NOT_MET
