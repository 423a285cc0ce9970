"""Figures the benchmarks print, computed one way for all of them."""

from __future__ import annotations


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile ``q`` (0–1) of already sorted values; NaN when empty."""
    if not sorted_values:
        return float("nan")
    rank = max(0, min(len(sorted_values) - 1, int(round(q * len(sorted_values) + 0.5)) - 1))
    return sorted_values[rank]
