from hypothesis import given
from hypothesis import strategies as st

from metrics import formulas


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
        s for s in range(1, 6) if formulas.is_positive(kind="csat", score=s, scale_points=5)
    ] == [4, 5]
    assert [
        s for s in range(1, 8) if formulas.is_positive(kind="csat", score=s, scale_points=7)
    ] == [6, 7]
    assert [
        s for s in range(1, 4) if formulas.is_positive(kind="csat", score=s, scale_points=3)
    ] == [3]
    assert [
        s for s in range(1, 8) if formulas.is_positive(kind="ces", score=s, scale_points=7)
    ] == [5, 6, 7]
    assert [
        s for s in range(1, 6) if formulas.is_positive(kind="ces", score=s, scale_points=5)
    ] == [4, 5]


def test_is_low_matches_default_follow_up_triggers():
    assert [s for s in range(1, 6) if formulas.is_low(kind="csat", score=s, scale_points=5)] == [
        1,
        2,
    ]
    assert [s for s in range(1, 8) if formulas.is_low(kind="ces", score=s, scale_points=7)] == [
        1,
        2,
        3,
    ]
    assert [
        s for s in range(0, 11) if formulas.is_low(kind="nps", score=s, scale_points=11)
    ] == list(range(7))


def test_normalise_flips_effort_question():
    assert formulas.normalise(kind="ces", raw=1, scale_points=7, inverted=True) == 7
    assert formulas.normalise(kind="ces", raw=6, scale_points=7, inverted=False) == 6


@given(st.integers(0, 10_000), st.integers(1, 10_000))
def test_wilson_interval_contains_share(successes, total):
    successes = min(successes, total)
    interval = formulas.wilson(successes, total)
    share = formulas.percent(successes, total)
    assert 0 <= interval.low <= share + 1e-9
    assert share - 1e-9 <= interval.high <= 100


@given(st.integers(0, 5000), st.integers(0, 5000), st.integers(0, 5000))
def test_nps_interval_contains_score_and_stays_in_range(promoters, passives, detractors):
    if promoters + passives + detractors == 0:
        return
    score = formulas.nps(promoters=promoters, passives=passives, detractors=detractors)
    interval = formulas.nps_interval(promoters=promoters, passives=passives, detractors=detractors)
    assert -100 <= interval.low <= score + 1e-9
    assert score - 1e-9 <= interval.high <= 100
