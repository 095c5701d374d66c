"""The scoring rules an answer needs: the scales, normalisation (higher is better for
every kind) and which scores are positive or low. Pure functions; the metrics'
formulas (metrics/formulas.py) count with them."""

from __future__ import annotations


def normalise(*, kind: str, raw: int, scale_points: int, inverted: bool = False) -> int:
    """Turn a raw answer into a score where higher is better for every kind."""
    if kind == "ces" and inverted:
        return scale_points + 1 - raw
    return raw


def score_range(*, kind: str, scale_points: int) -> tuple[int, int]:
    return (0, 10) if kind == "nps" else (1, scale_points)


def is_positive(*, kind: str, score: int, scale_points: int) -> bool:
    """Satisfied (CSAT), easy (CES) or promoter (NPS), on a normalised score."""
    return score >= positive_from(kind=kind, scale_points=scale_points)


def positive_from(*, kind: str, scale_points: int) -> int:
    """The lowest normalised score that counts as satisfied, easy or promoter.

    CSAT: the top two points of a 5- or 7-point scale, the top point of a 3-point one.
    CES: 5-7 on a 7-point scale, 4-5 on a 5-point one. NPS: 9-10.
    """
    if kind == "nps":
        return 9
    if kind == "csat" and scale_points == 3:
        return 3
    if kind == "ces" and scale_points == 7:
        return 5
    return scale_points - 1


def is_detractor(*, score: int) -> bool:
    """An NPS detractor: 0-6."""
    return score <= 6


def is_low(*, kind: str, score: int, scale_points: int) -> bool:
    """A score that opens a follow-up: CSAT 1-2 of 5, CES disagree, NPS 0-6."""
    return score <= low_up_to(kind=kind, scale_points=scale_points)


def low_up_to(*, kind: str, scale_points: int) -> int:
    """The highest normalised score that is low (opens a follow-up)."""
    if kind == "nps":
        return 6
    if kind == "csat":
        return {3: 1, 5: 2, 7: 3}.get(scale_points, 2)
    return 3 if scale_points == 7 else 2
