"""The metric formulas of METRICS.md as pure functions of exact counts.

Nothing here rounds: callers round only when a figure is shown.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

Z95 = 1.959963984540054


@dataclass(frozen=True)
class Interval:
    low: float
    high: float


def normalise(*, kind: str, raw: int, scale_points: int, inverted: bool = False) -> int:
    """Turn a raw answer into a score where higher is better for every kind."""
    if kind == "ces" and inverted:
        return scale_points + 1 - raw
    return raw


def score_range(*, kind: str, scale_points: int) -> tuple[int, int]:
    return (0, 10) if kind == "nps" else (1, scale_points)


def is_positive(*, kind: str, score: int, scale_points: int) -> bool:
    """Satisfied (CSAT), easy (CES) or promoter (NPS), on a normalised score."""
    if kind == "nps":
        return score >= 9
    if kind == "csat" and scale_points == 3:
        return score == 3
    if kind == "ces":
        return score >= scale_points - 2 if scale_points == 7 else score >= scale_points - 1
    return score >= scale_points - 1


def is_detractor(*, score: int) -> bool:
    return score <= 6


def is_low(*, kind: str, score: int, scale_points: int) -> bool:
    """A score that opens a follow-up: CSAT 1-2 of 5, CES disagree, NPS 0-6."""
    if kind == "nps":
        return score <= 6
    if kind == "csat":
        return score <= {3: 1, 5: 2, 7: 3}.get(scale_points, 2)
    return score <= (3 if scale_points == 7 else 2)


def percent(part: int, whole: int) -> float | None:
    return None if whole == 0 else part * 100 / whole


def nps(*, promoters: int, passives: int, detractors: int) -> float | None:
    total = promoters + passives + detractors
    return None if total == 0 else (promoters - detractors) * 100 / total


def wilson(successes: int, total: int, z: float = Z95) -> Interval | None:
    """95 % Wilson score interval of a share, in percent."""
    if total == 0:
        return None
    p = successes / total
    denom = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total))
    return Interval(max(0.0, centre - half) * 100, min(1.0, centre + half) * 100)


def nps_interval(
    *, promoters: int, passives: int, detractors: int, z: float = Z95
) -> Interval | None:
    """95 % interval of NPS from the variance of the promoter/detractor split."""
    total = promoters + passives + detractors
    if total == 0:
        return None
    p, d = promoters / total, detractors / total
    variance = (p + d - (p - d) ** 2) / total
    half = z * math.sqrt(variance) * 100
    point = (p - d) * 100
    return Interval(max(-100.0, point - half), min(100.0, point + half))


def mean(total: int, count: int) -> float | None:
    return None if count == 0 else total / count
