import math
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from metrics import formulas
from surveys import scoring


def test_csat_percent_matches_metrics_examples():
    assert round(formulas.percent(241, 289), 1) == 83.4
    assert round(formulas.percent(30 + 50, 112), 1) == 71.4


def test_nps_is_computed_from_counts_not_rounded_shares():
    score = formulas.nps(promoters=80, passives=20, detractors=40)
    assert round(score, 2) == 28.57
    assert formulas.nps(promoters=80, passives=5, detractors=15) == 65


def test_no_answers_gives_no_score():
    assert formulas.percent(0, 0) is None
    assert formulas.nps(promoters=0, passives=0, detractors=0) is None
    assert formulas.wilson(0, 0) is None


def test_is_positive_uses_top_points_of_each_scale():
    assert [
        s for s in range(1, 6) if scoring.is_positive(kind="csat", score=s, scale_points=5)
    ] == [4, 5]
    assert [
        s for s in range(1, 8) if scoring.is_positive(kind="csat", score=s, scale_points=7)
    ] == [6, 7]
    assert [
        s for s in range(1, 4) if scoring.is_positive(kind="csat", score=s, scale_points=3)
    ] == [3]
    assert [s for s in range(1, 8) if scoring.is_positive(kind="ces", score=s, scale_points=7)] == [
        5,
        6,
        7,
    ]
    assert [s for s in range(1, 6) if scoring.is_positive(kind="ces", score=s, scale_points=5)] == [
        4,
        5,
    ]


def test_is_low_matches_default_follow_up_triggers():
    assert [s for s in range(1, 6) if scoring.is_low(kind="csat", score=s, scale_points=5)] == [
        1,
        2,
    ]
    assert [s for s in range(1, 8) if scoring.is_low(kind="ces", score=s, scale_points=7)] == [
        1,
        2,
        3,
    ]
    assert [
        s for s in range(0, 11) if scoring.is_low(kind="nps", score=s, scale_points=11)
    ] == list(range(7))


def test_normalise_flips_effort_question():
    assert scoring.normalise(kind="ces", raw=1, scale_points=7, inverted=True) == 7
    assert scoring.normalise(kind="ces", raw=6, scale_points=7, inverted=False) == 6


@given(st.integers(0, 10_000), st.integers(1, 10_000))
def test_wilson_interval_contains_share(successes, total):
    successes = min(successes, total)
    interval = formulas.wilson(successes, total)
    share = formulas.percent(successes, total)
    assert 0 <= interval.low <= share + 1e-9
    assert share - 1e-9 <= interval.high <= 100


@given(st.integers(0, 5000), st.integers(0, 5000), st.integers(0, 5000))
def test_nps_interval_is_never_zero_wide_and_stays_in_range(promoters, passives, detractors):
    if promoters + passives + detractors == 0:
        return
    interval = formulas.nps_interval(promoters=promoters, passives=passives, detractors=detractors)
    assert -100 <= interval.low < interval.high <= 100


@given(st.integers(0, 5000), st.integers(0, 5000), st.integers(0, 5000))
def test_nps_interval_contains_the_score_from_ten_answers(promoters, passives, detractors):
    if promoters + passives + detractors < 10:
        return
    score = formulas.nps(promoters=promoters, passives=passives, detractors=detractors)
    interval = formulas.nps_interval(promoters=promoters, passives=passives, detractors=detractors)
    assert interval.low <= score + 1e-9 <= interval.high + 2e-9


def test_nps_interval_of_a_unanimous_group_is_adjusted_wald():
    # METRICS.md: 4 promoters of 4 give NPS +100 with about +7 to +100.
    interval = formulas.nps_interval(promoters=4, passives=0, detractors=0)

    assert round(interval.low, 1) == 6.9
    assert interval.high == 100.0


def test_nps_interval_matches_the_adjusted_wald_formula():
    # 80 promoters, 20 passives, 40 detractors: n = 143, p = 80.75/143, d = 40.75/143.
    p, d = 80.75 / 143, 40.75 / 143
    half = 1.959963984540054 * ((p + d - (p - d) ** 2) / 143) ** 0.5

    interval = formulas.nps_interval(promoters=80, passives=20, detractors=40)

    assert interval.low == pytest.approx((p - d - half) * 100)
    assert interval.high == pytest.approx((p - d + half) * 100)


# --- Worked examples of METRICS.md --------------------------------------------------------


def test_csat_and_ces_named_formulas_match_percent():
    assert formulas.csat(satisfied=241, answers=289) == 241 * 100 / 289
    assert formulas.ces(easy=0, answers=0) is None


def test_response_rate_divides_answered_by_delivered():
    assert formulas.response_rate(answered=45, delivered=180) == 25.0


def test_crr_matches_metrics_example():
    assert formulas.crr(start=100, end=90, new=15) == 75.0


def test_churn_matches_metrics_example():
    assert formulas.churn_rate(start=1000, end=800, new=0) == 20.0


def test_cac_matches_metrics_example():
    assert formulas.cac(spend=Decimal("10000"), new=20000) == Decimal("0.5")


def test_clv_subtracts_cac():
    assert formulas.clv(yearly_revenue=Decimal("120"), years=Decimal("3"), cac=Decimal("50")) == 310


def test_business_formulas_without_denominator_give_none():
    assert formulas.crr(start=0, end=5, new=5) is None
    assert formulas.cac(spend=Decimal("100"), new=0) is None
    assert formulas.clv(yearly_revenue=Decimal("1"), years=Decimal("1"), cac=None) is None


def test_resolution_rate_divides_by_all_tickets_not_unsolved():
    assert formulas.resolution_rate(solved=80, tickets=100) == 80.0


def test_fcr_divides_by_solved_tickets():
    assert formulas.fcr(one_contact_not_reopened=30, solved=40) == 75.0


def test_durations_give_mean_median_and_p90():
    result = formulas.durations([10, 20, 30, 40, 50, 60, 70, 80, 90, 100])

    assert (result.count, result.mean, result.median) == (10, 55, 55)
    assert result.p90 == pytest.approx(91)


def test_durations_of_nothing_are_none():
    assert formulas.durations([]) == formulas.Durations(0, None, None, None)


def test_shares_per_channel_add_up_to_hundred():
    assert formulas.shares({"email": 3, "phone": 1}) == {"email": 75.0, "phone": 25.0}


def test_nps_passives_count_in_the_denominator_only():
    assert formulas.nps(promoters=1, passives=2, detractors=1) == 0


def test_two_proportion_test_finds_a_clear_difference():
    result = formulas.two_proportion_test(
        successes_a=500, total_a=1000, successes_b=600, total_b=1000
    )

    assert result.difference == pytest.approx(10.0)
    assert result.significant is True
    assert result.interval.low < 10 < result.interval.high


def test_two_proportion_test_calls_a_small_difference_chance():
    result = formulas.two_proportion_test(successes_a=8, total_a=10, successes_b=7, total_b=10)

    assert result.significant is False


def test_nps_difference_uses_both_variances():
    before, after = (50, 30, 20), (60, 30, 10)

    result = formulas.nps_difference(before=before, after=after)

    var = formulas.nps_variance(promoters=50, passives=30, detractors=20) + formulas.nps_variance(
        promoters=60, passives=30, detractors=10
    )
    assert result.difference == pytest.approx(20.0)
    assert result.z == pytest.approx(20.0 / (math.sqrt(var) * 100))


def test_comparisons_without_answers_give_none():
    assert formulas.two_proportion_test(successes_a=0, total_a=0, successes_b=1, total_b=2) is None
    assert formulas.nps_difference(before=(0, 0, 0), after=(1, 0, 0)) is None


# --- Properties ---------------------------------------------------------------------------

scales = st.sampled_from(
    [("csat", 3), ("csat", 5), ("csat", 7), ("ces", 5), ("ces", 7), ("nps", 11)]
)


@given(st.integers(0, 10_000), st.integers(1, 10_000))
def test_percent_is_exact_and_in_range(part, whole):
    part = min(part, whole)

    assert formulas.percent(part, whole) == part * 100 / whole
    assert 0 <= formulas.percent(part, whole) <= 100


@given(st.integers(0, 5000), st.integers(0, 5000), st.integers(0, 5000))
def test_nps_is_exact_from_counts_and_in_range(promoters, passives, detractors):
    total = promoters + passives + detractors
    score = formulas.nps(promoters=promoters, passives=passives, detractors=detractors)

    if total == 0:
        assert score is None
    else:
        assert score == (promoters - detractors) * 100 / total
        assert -100 <= score <= 100


@given(scales, st.booleans(), st.data())
def test_normalise_makes_higher_better_and_stays_on_scale(kind_scale, inverted, data):
    kind, points = kind_scale
    low, high = scoring.score_range(kind=kind, scale_points=points)
    raw = data.draw(st.integers(low, high))

    score = scoring.normalise(kind=kind, raw=raw, scale_points=points, inverted=inverted)

    assert low <= score <= high
    flipped = kind == "ces" and inverted
    assert score == (points + 1 - raw if flipped else raw)


@given(st.sampled_from([5, 7]), st.data())
def test_inverted_ces_low_effort_counts_as_easy(points, data):
    raw = data.draw(st.integers(1, points))

    score = scoring.normalise(kind="ces", raw=raw, scale_points=points, inverted=True)
    easy = scoring.is_positive(kind="ces", score=score, scale_points=points)

    # "How much effort?": the low answers (little effort) are the easy ones.
    assert easy == (raw <= (3 if points == 7 else 2))


@given(scales, st.data())
def test_positive_and_low_never_overlap(kind_scale, data):
    kind, points = kind_scale
    low, high = scoring.score_range(kind=kind, scale_points=points)
    score = data.draw(st.integers(low, high))

    positive = scoring.is_positive(kind=kind, score=score, scale_points=points)
    is_low = scoring.is_low(kind=kind, score=score, scale_points=points)

    assert not (positive and is_low)
    assert scoring.is_positive(kind=kind, score=high, scale_points=points)


@given(st.lists(st.integers(0, 10), min_size=1, max_size=300))
def test_mean_of_counts_equals_mean_of_scores(scores):
    by_score = {s: scores.count(s) for s in set(scores)}

    assert formulas.mean_of_counts(by_score) == pytest.approx(sum(scores) / len(scores))


@given(st.lists(st.floats(0, 1e7, allow_nan=False), min_size=1, max_size=200))
def test_durations_are_ordered_within_the_data(seconds):
    result = formulas.durations(seconds)

    assert min(seconds) <= result.median <= result.p90 <= max(seconds)
    assert min(seconds) - 1e-6 <= result.mean <= max(seconds) + 1e-6


@given(st.integers(0, 2000), st.integers(1, 2000), st.integers(0, 2000), st.integers(1, 2000))
def test_two_proportion_interval_contains_the_difference(xa, na, xb, nb):
    xa, xb = min(xa, na), min(xb, nb)

    result = formulas.two_proportion_test(successes_a=xa, total_a=na, successes_b=xb, total_b=nb)

    assert result.difference == pytest.approx((xb / nb - xa / na) * 100)
    assert result.interval.low <= result.difference + 1e-9 <= result.interval.high + 2e-9
    assert result.p_value is None or 0 <= result.p_value <= 1


@given(st.integers(0, 10_000), st.integers(0, 10_000), st.integers(1, 10_000))
def test_crr_plus_churn_is_hundred(end, new, start):
    assert formulas.crr(start=start, end=end, new=new) + formulas.churn_rate(
        start=start, end=end, new=new
    ) == pytest.approx(100)
