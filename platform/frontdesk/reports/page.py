"""The report page: a shell at ``/reports`` and the report as an HTML fragment with charts.

The shell holds no data; its script fetches the fragment with the console's
browser session (its cookie goes with a same-origin fetch) or, when one is
kept in ``localStorage`` under ``frontdesk.token``, a bearer token, so the
page is no less guarded than the API. The console's navigation links here.
"""

from __future__ import annotations

from html import escape

from frontdesk.reports.charts import bar_chart, hbar_chart, line_chart
from frontdesk.reports.service import Durations, Report


def _hours(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _card(label: str, value: str, note: str = "") -> str:
    return (
        f'<div class="card"><div class="label">{escape(label)}</div>'
        f'<div class="value">{escape(value)}</div><div class="note">{escape(note)}</div></div>'
    )


def _durations_card(label: str, d: Durations) -> str:
    return _card(
        label, _hours(d.median_seconds), f"p90 {_hours(d.p90_seconds)} · {d.count} tickets"
    )


def fragment(report: Report) -> str:
    """The report's figures and charts, ready to place in a page."""
    v = report.volume
    s = report.satisfaction
    p = report.phone_answer
    cards = [
        _card("New", str(v.new)),
        _card("Resolved", str(v.resolved)),
        _card("Reopened", str(v.reopened)),
        _card("Backlog", str(v.backlog), "open at the period's end"),
        _durations_card("First response (median)", report.first_response),
        _durations_card("Resolution (median)", report.resolution),
        _card(
            "Satisfaction",
            f"{s.average:.2f} / 5" if s.average is not None else "no data",
            f"{s.responses} responses" if s.available else "no surveys yet",
        ),
        _card(
            "Phone answered ≤ 15 s",
            f"{p.attainment:.0%}" if p.attainment is not None else "no data",
            f"{p.calls} calls" if p.available else "no call data yet",
        ),
    ]
    days = report.days
    charts = [
        line_chart(
            "New and resolved tickets per day",
            [d.day.strftime("%m-%d") for d in days],
            [("new", [d.new for d in days]), ("resolved", [d.resolved for d in days])],
        ),
        hbar_chart(
            "SLA attainment per target",
            [
                (f"{t.metric.replace('_', ' ')}: {t.policy}", t.attainment, f"{t.attainment:.0%}")
                for t in report.sla
                if t.attainment is not None
            ],
            top_value=1.0,
        ),
        bar_chart(
            f"Busiest hours ({report.timezone})",
            [(f"{h:02d}", n) for h, n in enumerate(report.busiest_hours)],
        ),
        hbar_chart(
            "Top categories",
            [(c.name, c.count, str(c.count)) for c in report.categories],
            top_value=max((c.count for c in report.categories), default=1),
        ),
        hbar_chart(
            "Top tags",
            [(c.name, c.count, str(c.count)) for c in report.tags],
            top_value=max((c.count for c in report.tags), default=1),
        ),
    ]
    if s.available:
        charts.append(
            bar_chart("Satisfaction scores", [(str(k), n) for k, n in s.distribution.items()])
        )
    rows = "".join(
        f"<tr><td>{escape(h.team)}</td><td>{h.requested}</td><td>{h.done}</td>"
        f"<td>{h.overdue}</td><td>{_hours(h.median_seconds)}</td><td>{_hours(h.p90_seconds)}</td>"
        "</tr>"
        for h in report.handoffs
    )
    handoffs = (
        "<h2>Hand-offs per team</h2><table><tr><th>team</th><th>requested</th><th>done</th>"
        f"<th>overdue</th><th>median</th><th>p90</th></tr>{rows}</table>"
        if rows
        else "<h2>Hand-offs per team</h2><p>none in this period</p>"
    )
    f = report.filters
    return (
        f'<p class="period">{f.start.isoformat()} – {f.end.isoformat()} ({escape(report.timezone)})'
        "; times are business hours</p>"
        f'<div class="cards">{"".join(cards)}</div>'
        f'<div class="charts">{"".join(charts)}</div>{handoffs}'
    )


SHELL = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Reports · Frontdesk</title>
<style>
body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #111827; }
form { display: flex; gap: .5rem; flex-wrap: wrap; margin-bottom: 1rem; }
.cards { display: grid; grid-template-columns: repeat(4, 1fr); gap: .75rem; margin: 1rem 0; }
.card { border: 1px solid #e5e7eb; border-radius: 6px; padding: .6rem; }
.card .label { font-size: .8rem; color: #6b7280; }
.card .value { font-size: 1.5rem; font-weight: 600; }
.card .note { font-size: .75rem; color: #6b7280; }
.charts { display: grid; grid-template-columns: repeat(2, 660px); gap: 1rem; }
table { border-collapse: collapse; } td, th { border: 1px solid #e5e7eb; padding: .25rem .5rem; }
</style></head>
<body>
<nav><a href="/app/inbox">← Console</a></nav>
<h1>Reports</h1>
<form id="filters">
<label>From <input type="date" name="start"></label>
<label>To <input type="date" name="end"></label>
<label>Channel <input name="channel" size="8"></label>
<label>Category <input name="category" size="10"></label>
<label>Priority <select name="priority"><option value="">any</option><option>urgent</option>
<option>high</option><option>normal</option><option>low</option></select></label>
<button>Show</button>
<button type="button" data-export="csv">CSV</button>
<button type="button" data-export="xlsx">XLSX</button>
</form>
<main id="report">Loading…</main>
<script>
(function () {
  const token = localStorage.getItem("frontdesk.token") || "";
  // Without a stored token, the console's session cookie signs the fetches in.
  const headers = token ? { Authorization: "Bearer " + token } : {};
  const form = document.getElementById("filters");
  const params = new URLSearchParams(location.search);
  for (const [k, v] of params) { if (form.elements[k]) form.elements[k].value = v; }
  function query() {
    const q = new URLSearchParams();
    for (const el of form.elements) { if (el.name && el.value) q.set(el.name, el.value); }
    return q.toString();
  }
  async function load() {
    const main = document.getElementById("report");
    const r = await fetch("/api/v1/reports/fragment?" + query(), { headers });
    if (r.status === 401) {
      main.innerHTML = '<p>Please <a href="/app/login">sign in</a> to see the report.</p>';
      return;
    }
    if (!r.ok) { main.textContent = "Could not load the report (" + r.status + ")"; return; }
    main.innerHTML = await r.text();
    document.body.dataset.loaded = "1";
  }
  form.addEventListener("submit", (e) => {
    e.preventDefault(); history.replaceState(null, "", "?" + query()); load();
  });
  for (const b of form.querySelectorAll("[data-export]")) {
    b.addEventListener("click", async () => {
      const kind = b.dataset.export;
      const r = await fetch("/api/v1/reports/export." + kind + "?" + query(), { headers });
      const a = document.createElement("a");
      a.href = URL.createObjectURL(await r.blob());
      a.download = "report." + kind;
      a.click();
    });
  }
  load();
})();
</script>
</body></html>
"""
