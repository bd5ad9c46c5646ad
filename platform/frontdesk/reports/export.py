"""A report as rows (section, item, measure, value): the CSV and XLSX exports share them."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from frontdesk.reports.service import Durations, Report

Row = tuple[str, str, str, str | int | float]


def _durations(section: str, d: Durations) -> Iterator[Row]:
    yield (section, "all", "count", d.count)
    if d.median_seconds is not None:
        yield (section, "all", "median_seconds", round(d.median_seconds, 1))
    if d.p90_seconds is not None:
        yield (section, "all", "p90_seconds", round(d.p90_seconds, 1))


def rows(report: Report) -> Iterator[Row]:
    f = report.filters
    yield ("period", "start", "date", f.start.isoformat())
    yield ("period", "end", "date", f.end.isoformat())
    yield ("period", "timezone", "name", report.timezone)
    for name, value in f.query().items():
        if name not in ("start", "end"):
            yield ("filter", name, "value", value)
    v = report.volume
    yield from (
        ("volume", "new", "tickets", v.new),
        ("volume", "resolved", "tickets", v.resolved),
        ("volume", "reopened", "tickets", v.reopened),
        ("volume", "backlog", "tickets", v.backlog),
    )
    yield from _durations("first_response", report.first_response)
    yield from _durations("resolution", report.resolution)
    for t in report.sla:
        item = f"{t.metric}: {t.policy}"
        yield ("sla", item, "target_seconds", t.target_seconds)
        yield ("sla", item, "met", t.met)
        yield ("sla", item, "breached", t.breached)
        if t.attainment is not None:
            yield ("sla", item, "attainment", round(t.attainment, 4))
    s = report.satisfaction
    if not s.available:
        yield ("satisfaction", "all", "status", "no data")
    else:
        yield ("satisfaction", "all", "responses", s.responses)
        yield ("satisfaction", "all", "asked", s.asked)
        if s.response_rate is not None:
            yield ("satisfaction", "all", "response_rate", round(s.response_rate, 4))
        if s.average is not None:
            yield ("satisfaction", "all", "average", round(s.average, 2))
        for score, n in s.distribution.items():
            yield ("satisfaction", f"score {score}", "responses", n)
    p = report.phone_answer
    if not p.available:
        yield ("phone_answer", "all", "status", "no data")
    else:
        yield ("phone_answer", "all", "calls", p.calls)
        yield ("phone_answer", "all", "answered", p.answered)
        yield ("phone_answer", f"within {p.target_seconds} s", "calls", p.within_target)
    for c in report.categories:
        yield ("category", c.name, "tickets", c.count)
    for c in report.tags:
        yield ("tag", c.name, "tickets", c.count)
    for h in report.handoffs:
        yield ("handoffs", h.team, "requested", h.requested)
        yield ("handoffs", h.team, "done", h.done)
        yield ("handoffs", h.team, "overdue", h.overdue)
        if h.median_seconds is not None:
            yield ("handoffs", h.team, "median_seconds", round(h.median_seconds, 1))
        if h.p90_seconds is not None:
            yield ("handoffs", h.team, "p90_seconds", round(h.p90_seconds, 1))
    for hour, n in enumerate(report.busiest_hours):
        yield ("hour", f"{hour:02d}", "new", n)
    for d in report.days:
        yield ("day", d.day.isoformat(), "new", d.new)
        yield ("day", d.day.isoformat(), "resolved", d.resolved)


HEADER = ("section", "item", "measure", "value")


def to_csv(report: Report) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    writer.writerows(rows(report))
    return out.getvalue()


def to_xlsx(report: Report) -> bytes:
    """One sheet with the same rows as the CSV, numbers as numbers."""
    import xlsxwriter

    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    sheet = book.add_worksheet("report")
    bold = book.add_format({"bold": True})
    sheet.write_row(0, 0, HEADER, bold)
    for i, row in enumerate(rows(report), start=1):
        sheet.write_row(i, 0, row)
    sheet.set_column(0, 0, 16)
    sheet.set_column(1, 1, 48)
    sheet.set_column(2, 3, 16)
    book.close()
    return out.getvalue()
