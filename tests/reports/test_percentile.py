"""The SQLite fallback's percentile is PostgreSQL's percentile_cont (linear interpolation)."""

from __future__ import annotations

import statistics

from hypothesis import given
from hypothesis import strategies as st

from frontdesk.reports.service import percentile

values = st.lists(st.floats(min_value=0, max_value=1e7, allow_nan=False), min_size=2, max_size=200)


@given(values)
def test_median_and_p90_match_the_inclusive_quantiles(data: list[float]) -> None:
    ordered = sorted(data)
    median = percentile(ordered, 0.5)
    p90 = percentile(ordered, 0.9)
    assert median is not None and p90 is not None
    assert abs(median - statistics.median(ordered)) <= 1e-6 * max(1.0, abs(median))
    expected = statistics.quantiles(ordered, n=10, method="inclusive")[8]
    assert abs(p90 - expected) <= 1e-6 * max(1.0, abs(expected))
    assert ordered[0] <= median <= p90 <= ordered[-1]


def test_nothing_measured_and_one_value() -> None:
    assert percentile([], 0.5) is None
    assert percentile([42.0], 0.9) == 42.0
