"""``index.html``: the page a release engineer opens first after a rehearsal.

It answers, in reading order: did the upgrade rehearsal pass, where and with what did it
run, which rollback procedures ran and how they ended, which step of which hop went wrong and
what to do about it, how long the product was unavailable, and per rollback procedure how
long each step took against the runbook's estimate. It is one self-contained file with no
script and no external asset, so it can be attached to a change ticket or opened from an
artifact store that serves files without a network, and a Content-Security-Policy forbids
anything else from loading.

Every string interpolated here went through :func:`~pytest_jitera.report.text.esc`; the
report is assumed to be already masked (see :mod:`pytest_jitera.report.mask`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from urllib.parse import quote

from pytest_jitera.report.model import (
    HopReport,
    MeasuredRow,
    RollbackReport,
    RunReport,
    Status,
    StepResult,
    TouchedTable,
)
from pytest_jitera.report.text import (
    duration,
    esc,
    moment,
    not_rehearsed,
    plural,
    scenario_text,
    unavailable_text,
)
from pytest_jitera.report.timeline import availability_lines, render_procedure_svg, render_svg

#: A failure message longer than this is cut in the page (summary.json keeps all of it).
MESSAGE_LIMIT = 20_000
SUMMARY_LIMIT = 160
ACTION_PREFIXES = ("next:", "hint:")
FAILED: frozenset[Status] = frozenset({"failed", "error"})
STATUS_LABEL: dict[Status, str] = {
    "passed": "passed",
    "failed": "failed",
    "error": "error",
    "not-run": "not run",
}

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;max-width:1100px;
padding:16px 24px;color:#212121}
h1{font-size:22px;margin:8px 0}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ddd}
h3{font-size:15px;margin:18px 0 6px}
.badge{display:inline-block;padding:2px 10px;border-radius:4px;color:#fff;font-weight:600;
text-transform:uppercase;font-size:13px;vertical-align:middle}
.o-passed{background:#2e7d32}.o-failed{background:#c62828}
dl.facts{display:grid;grid-template-columns:max-content auto;gap:2px 16px;margin:8px 0}
dl.facts dt{color:#616161}dl.facts dd{margin:0}
table{border-collapse:collapse;width:100%;margin:4px 0 12px}
th,td{border-bottom:1px solid #e0e0e0;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#fafafa;font-weight:600}td.num{text-align:right;white-space:nowrap}
.status{font-weight:600;white-space:nowrap}
.s-passed{color:#2e7d32}.s-failed{color:#c62828}.s-error{color:#b71c1c;background:#ffebee}
.s-not-run{color:#616161;background:#eeeeee;font-style:italic}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px}
code.test-id{color:#757575;display:block;word-break:break-all}
pre{background:#263238;color:#eceff1;padding:10px;overflow:auto;max-height:480px;white-space:pre-wrap;
word-break:break-word}
.failure{border-left:4px solid #c62828;padding:2px 12px;margin:12px 0}
.next{background:#fff8e1;border:1px solid #ffe082;padding:6px 10px;margin:6px 0}
.muted{color:#757575}
svg.timeline{max-width:100%;height:auto;display:block;margin:6px 0}
svg .label,svg .tick-label{font:11px system-ui,sans-serif;fill:#424242}
svg .step-label{font:11px system-ui,sans-serif;fill:#263238}
h4{font-size:14px;margin:16px 0 4px}h5{font-size:13px;margin:10px 0 4px}
.rollback-summary{border:1px solid #ddd;padding:4px 12px;margin:8px 0}
.rollback-summary ul{margin:4px 0;padding-left:20px}
section.rollback{border-left:4px solid #546e7a;padding:0 12px;margin:14px 0}
.procedure{margin:10px 0 18px}
.r-passed{color:#2e7d32;font-weight:600}.r-failed,.r-error{color:#c62828;font-weight:600}
.r-other{color:#616161;background:#eeeeee;font-style:italic;font-weight:600}
.v-within{color:#2e7d32}.v-under{color:#1565c0}.v-over{color:#c62828;font-weight:600}
.v-none{color:#757575}.forced{color:#e65100;font-weight:600}
.findings{background:#fff8e1;border:1px solid #ffe082;padding:4px 12px;margin:8px 0}
.tag{display:inline-block;padding:0 6px;border-radius:3px;background:#ffb300;color:#212121;
font-size:11px;font-weight:600;text-transform:uppercase;margin-right:6px}
ul.evidence{margin:2px 0}tr.total td{font-weight:600;border-top:2px solid #bdbdbd}
"""

COLUMNS = ("#", "Step", "Status", "Duration", "Details", "Artifacts")
MEASURED_COLUMNS = ("Step", "Measured", "Unavailable", "Runbook estimate", "Verdict")
VERDICT_CLASS = {
    "within the estimate": "v-within",
    "under the estimate": "v-under",
    "over the estimate": "v-over",
}
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def render_html(report: RunReport) -> str:
    """The whole page for an already masked report."""
    failures = [step for step in report.steps if step.status in FAILED]
    anchors = {id(step): f"failure-{n}" for n, step in enumerate(failures, start=1)}
    body = [
        *_headline(report, failures, anchors),
        *_notes(report.notes),
        *_steps_section(report, anchors),
        *_failures_section(report, failures, anchors),
        *_availability_section(report.hops),
    ]
    return page(f"{report.product} {_path_text(report.path)}: {report.outcome}", body)


def page(title: str, body: Iterable[str], *, css: str = "") -> str:
    """A self-contained report page: one stylesheet, no script, nothing loaded from elsewhere."""
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{esc(title)}</title>",
            f"<style>{CSS}{css}</style>",
            "</head><body>",
            *body,
            "</body></html>",
            "",
        ]
    )


def _path_text(path: Iterable[str]) -> str:
    """The upgrade path as the runbook writes it."""
    return " → ".join(path) or "(no path)"


def _headline(report: RunReport, failures: list[StepResult], anchors: dict[int, str]) -> list[str]:
    """What the reader needs before scrolling: outcome, path, where and how long it ran."""
    facts = [
        ("Path", _path_text(report.path)),
        ("Outcome", report.outcome),
        ("Steps", _counts(report.steps)),
        ("Duration", f"{duration(report.seconds)} ({moment(report.started)} to {moment(report.finished)})"),
        ("Cluster", report.cluster),
        ("Namespace", report.namespace),
        ("Helm", report.helm),
    ]
    parts = [
        f'<h1>{esc(report.product)} upgrade rehearsal <span class="badge o-{report.outcome}">'
        f"{esc(report.outcome)}</span></h1>",
        '<dl class="facts">',
        *(f"<dt>{esc(name)}</dt><dd>{esc(value)}</dd>" for name, value in facts),
        "</dl>",
        *_rollback_summary(report.hops),
    ]
    if failures:
        links = ", ".join(f'<a href="#{anchors[id(step)]}">{esc(_step_name(step))}</a>' for step in failures)
        parts.append(f"<p><strong>{esc(plural(len(failures), 'step'))} failed:</strong> {links}</p>")
    return parts


def _rollback_summary(hops: tuple[HopReport, ...]) -> list[str]:
    """Per hop, which procedures ran and how they ended: on the first screen, before any table.

    A chosen procedure that left no record is listed as not rehearsed, so a hop whose
    rollback never ran cannot pass for one that was never meant to roll back.
    """
    shown = [(n, hop) for n, hop in enumerate(hops, start=1) if _has_rollback(hop)]
    if not shown:
        return []
    parts = ['<div class="rollback-summary"><strong>Rollback</strong>', "<ul>"]
    for n, hop in shown:
        scenario = scenario_text(hop)
        head = f'<a href="#rollback-{n}">{esc(hop.name)}</a>' + (f": {esc(scenario)}" if scenario else "")
        items = [
            f'<li><a href="#rollback-{n}-{m}">{esc(rollback.name)}</a>: {_outcome(rollback.outcome)}'
            f" in {esc(duration(rollback.seconds))}{_findings_note(rollback)}; "
            f"{esc(unavailable_text(rollback))}</li>"
            for m, rollback in enumerate(hop.rollbacks, start=1)
        ]
        items += [
            f'<li>{esc(name)}: <span class="r-other">not rehearsed</span></li>' for name in not_rehearsed(hop)
        ]
        if not items:
            items.append('<li class="muted">no procedure was rehearsed</li>')
        parts += [f"<li>{head}<ul>", *items, "</ul></li>"]
    return [*parts, "</ul></div>"]


def _has_rollback(hop: HopReport) -> bool:
    """Whether the hop has a rollback half to show (an upgrade-only hop has none)."""
    return hop.classification is not None or bool(hop.rollbacks)


def _outcome(outcome: str) -> str:
    """A procedure's outcome, coloured only when it is one the harness knows.

    The outcome is the procedure's own text, so anything but ``passed`` is at best neutral:
    "not finished" must not look green.
    """
    cls = {"passed": "r-passed", "failed": "r-failed", "error": "r-error"}.get(outcome, "r-other")
    return f'<span class="outcome {cls}">{esc(outcome or "no outcome recorded")}</span>'


def _findings_note(rollback: RollbackReport) -> str:
    """`` with 2 expected findings`` (escaped), or nothing."""
    if not rollback.findings:
        return ""
    return f" with {esc(plural(len(rollback.findings), 'expected finding'))}"


def _counts(steps: Iterable[StepResult]) -> str:
    """``12 passed, 1 failed, 3 not run``; statuses with no step are left out."""
    counts = Counter(step.status for step in steps)
    text = ", ".join(f"{counts[status]} {STATUS_LABEL[status]}" for status in STATUS_LABEL if counts[status])
    return text or "no step recorded"


def _step_name(step: StepResult) -> str:
    """The step as a reader would quote it: which hop, which runbook step."""
    return f"{step.hop}: {step.step}" if step.hop else step.step


def _notes(notes: tuple[str, ...]) -> list[str]:
    """Remarks the run made about itself (a reused cluster, a skipped hop)."""
    if not notes:
        return []
    return ["<h2>Notes</h2>", "<ul>", *(f"<li>{esc(note)}</li>" for note in notes), "</ul>"]


def _groups(report: RunReport) -> list[tuple[str, list[StepResult]]]:
    """Steps by hop, hops in the order they ran; a hop with no step still gets its table."""
    groups: dict[str, list[StepResult]] = {}
    for step in report.steps:
        groups.setdefault(step.hop, []).append(step)
    for hop in report.hops:
        groups.setdefault(hop.name, [])
    return list(groups.items())


def _steps_section(report: RunReport, anchors: dict[int, str]) -> list[str]:
    """One table per hop, rows in runbook order."""
    parts = ["<h2>Steps</h2>"]
    groups = _groups(report)
    if not groups:
        return [*parts, '<p class="muted">No step was recorded.</p>']
    hops = {hop.name: hop for hop in report.hops}
    for name, steps in groups:
        parts.append(f"<h3>{_hop_heading(name, hops.get(name))}</h3>")
        parts += _step_table(steps, anchors)
    return parts


def _hop_heading(name: str, hop: HopReport | None) -> str:
    """The hop with its kind, timing and rollback scenario, already escaped."""
    if not name:
        return "Run-level steps"
    if hop is None:
        return esc(name)
    details = [hop.kind, f"{duration(hop.seconds)} from {moment(hop.started)}"]
    if hop.scenario:
        details.append(f"scenario: {hop.scenario}")
    return f'{esc(name)} <span class="muted">({esc(", ".join(d for d in details if d))})</span>'


def _step_table(steps: list[StepResult], anchors: dict[int, str]) -> list[str]:
    """Rows of one hop's steps."""
    if not steps:
        return ['<p class="muted">No step of this hop was recorded.</p>']
    head = "<tr>" + "".join(f"<th>{name}</th>" for name in COLUMNS) + "</tr>"
    rows = [_step_row(n, step, anchors.get(id(step))) for n, step in enumerate(steps, start=1)]
    return ["<table>", head, *rows, "</table>"]


def _step_row(number: int, step: StepResult, anchor: str | None) -> str:
    """One step; a not-run step shows its reason and no duration, so it never looks passed."""
    took = "—" if step.status == "not-run" else duration(step.seconds)
    return (
        f'<tr><td class="num">{number}</td>'
        f'<td>{esc(step.step)}<code class="test-id">{esc(step.test_id)}</code></td>'
        f'<td class="status s-{step.status}">{esc(STATUS_LABEL[step.status])}</td>'
        f'<td class="num">{esc(took)}</td>'
        f"<td>{_details(step, anchor)}</td>"
        f"<td>{_artifact_links(step.artifacts)}</td></tr>"
    )


def _details(step: StepResult, anchor: str | None) -> str:
    """The first line of the message, and for a failure a link to the whole of it."""
    first = _first_line(step.message)
    if step.status == "not-run":
        return f"not run: {esc(first or 'no reason recorded')}"
    if anchor is not None:
        return f'{esc(first)} <a href="#{anchor}">details</a>'
    return esc(first)


def _first_line(message: str) -> str:
    """The first non-blank line, cut to table width."""
    line = next((ln.strip() for ln in message.splitlines() if ln.strip()), "")
    return line if len(line) <= SUMMARY_LIMIT else line[: SUMMARY_LIMIT - 1] + "…"


def _artifact_links(artifacts: Iterable[str]) -> str:
    """Links to files in the report folder.

    The path is percent-encoded and prefixed with ``./``, so a hostile name such as
    ``javascript:...`` or ``//host/x`` can only ever be a relative file link.
    """
    return "<br>".join(
        f'<a href="./{esc(quote(path.lstrip("/"), safe="/"))}">{esc(path)}</a>' for path in artifacts
    )


def _failures_section(report: RunReport, failures: list[StepResult], anchors: dict[int, str]) -> list[str]:
    """Each failure with its full message and next action, then every step that did not run."""
    parts = ["<h2>Failures</h2>"]
    if not failures:
        parts.append('<p class="muted">No step failed.</p>')
    for step in failures:
        parts += _failure(step, anchors[id(step)])
    skipped = [step for step in report.steps if step.status == "not-run"]
    if skipped:
        parts.append(f"<h3>{esc(plural(len(skipped), 'step'))} not run</h3>")
        parts.append("<ul>")
        parts += [
            f"<li>{esc(_step_name(step))}: not run: {esc(step.message.strip() or 'no reason recorded')}</li>"
            for step in skipped
        ]
        parts.append("</ul>")
    return parts


def _failure(step: StepResult, anchor: str) -> list[str]:
    """One failed step: what, where, what to do next, and what it said."""
    parts = [
        f'<div class="failure" id="{anchor}">',
        f'<h3>{esc(_step_name(step))} <span class="status s-{step.status}">'
        f"{esc(STATUS_LABEL[step.status])}</span> "
        f'<span class="muted">after {esc(duration(step.seconds))}</span></h3>',
        f'<code class="test-id">{esc(step.test_id)}</code>',
    ]
    for action in next_actions(step.message):
        parts.append(f'<div class="next"><strong>Next:</strong> {esc(action)}</div>')
    parts.append(f"<pre>{esc(_clip(step.message) or '(no message)')}</pre>")
    if step.artifacts:
        parts.append(f"<p>Artifacts: {_artifact_links(step.artifacts)}</p>")
    parts.append("</div>")
    return parts


def next_actions(message: str) -> list[str]:
    """The advice a failure carries on lines starting ``next:`` or ``hint:``.

    The harness's errors end in ``hint: ...`` (indented under the message), so leading
    whitespace is ignored; the advice is lifted out because it is the part a reader acts on.
    """
    actions = []
    for line in message.splitlines():
        stripped = line.strip()
        prefix = next((p for p in ACTION_PREFIXES if stripped.lower().startswith(p)), None)
        if prefix and (action := stripped[len(prefix) :].strip()):
            actions.append(action)
    return actions


def _clip(message: str) -> str:
    """A very long message cut in the middle: the start says what ran, the end why it failed."""
    if len(message) <= MESSAGE_LIMIT:
        return message
    head, tail = MESSAGE_LIMIT // 4, MESSAGE_LIMIT - MESSAGE_LIMIT // 4
    omitted = len(message) - head - tail
    marker = f"[… {omitted} characters left out here; summary.json has all of them …]"
    return f"{message[:head]}\n{marker}\n{message[-tail:]}"


def _availability_section(hops: tuple[HopReport, ...]) -> list[str]:
    """Per hop, the totals in words and the timeline picture, then the hop's rollback.

    The rollback comes right after its own hop's upgrade, not in a section of its own at the
    end, because it is the same hop's story: the upgrade's outage and the rollback's read
    together.
    """
    parts = ["<h2>Availability</h2>"]
    if not hops:
        return [*parts, '<p class="muted">No hop ran, so there is no availability to show.</p>']
    for n, hop in enumerate(hops, start=1):
        parts.append(f"<h3>{esc(hop.name)}</h3>")
        parts.append("<ul>")
        parts += [f"<li>{esc(line)}</li>" for line in availability_lines(hop)]
        parts.append("</ul>")
        parts.append(render_svg(hop))
        parts += _window_table(hop)
        parts += _migration_table(hop)
        if _has_rollback(hop):
            parts += _rollback_section(hop, n)
    return parts


def _held(table: TouchedTable) -> str:
    if table.rows is None:
        return " (new)"
    return f" ({table.rows:,}" + ("" if table.bytes is None else f", {table.bytes / 1e6:,.1f} MB") + ")"


def _migration_table(hop: HopReport) -> list[str]:
    """The hook's migrations, slowest first, with the rows each touched table held before.

    A long hook is one migration on one large table far more often than many small ones; the
    table says which, so the window is planned around it.
    """
    if not hop.migrations:
        return []
    head = "<tr><th>migration</th><th>took</th><th>tables touched (rows, size before the hop)</th></tr>"
    rows = []
    for row in hop.migrations:
        touched = ", ".join(esc(t.table) + _held(t) for t in row.tables)
        rows.append(
            f"<tr><td><code>{esc(row.version)}</code> {esc(row.name)}</td>"
            f'<td class="num">{row.seconds:.2f} s</td><td>{touched or "none named"}</td></tr>'
        )
    title = f"<h4>Migrations of {esc(hop.new)}, slowest first</h4>"
    return [title, '<table class="migrations">', head, *rows, "</table>"]


def _rollback_section(hop: HopReport, n: int) -> list[str]:
    """The hop's rollback after its upgrade: the scenario and why, then every procedure."""
    parts = [f'<section class="rollback" id="rollback-{n}">', f"<h3>{esc(hop.name)}: Rollback</h3>"]
    found = hop.classification
    if found is not None:
        forced = (
            ' <span class="forced">forced by the operator; the classifier said scenario '
            f"{found.classified}</span>"
            if found.forced
            else ""
        )
        parts.append(
            f'<p class="scenario"><strong>Scenario {found.scenario}</strong>: {esc(found.title)}{forced}</p>'
        )
        if found.reasons:
            parts.append('<ul class="reasons">')
            parts += [_reason(reason.scenario, reason.text, reason.evidence) for reason in found.reasons]
            parts.append("</ul>")
        chosen = ", ".join(found.procedures) or "none"
        parts.append(f"<p>Procedures chosen: {esc(chosen)}</p>")
    if not hop.rollbacks:
        parts.append('<p class="muted">No rollback procedure was rehearsed on this hop.</p>')
    for m, rollback in enumerate(hop.rollbacks, start=1):
        parts += _procedure(rollback, f"rollback-{n}-{m}")
    for name in not_rehearsed(hop):
        parts.append(f'<p>{esc(name)}: <span class="r-other">not rehearsed</span> (chosen, no record)</p>')
    parts.append("</section>")
    return parts


def _reason(scenario: int, text: str, evidence: tuple[str, ...]) -> str:
    """One reason of the verdict with its evidence, which is what a reviewer checks it against."""
    items = "".join(f"<li><code>{esc(item)}</code></li>" for item in evidence)
    listed = f'<ul class="evidence">{items}</ul>' if items else ""
    return f"<li>scenario {scenario}: {esc(text)}{listed}</li>"


def _procedure(rollback: RollbackReport, anchor: str) -> list[str]:
    """One procedure: the measured table, its expected findings, what it observed, its timeline."""
    parts = [
        f'<div class="procedure" id="{anchor}">',
        f"<h4>{esc(rollback.name)} {_outcome(rollback.outcome)} "
        f'<span class="muted">scenario {rollback.scenario}, {esc(duration(rollback.seconds))} '
        f"from {esc(duration(rollback.start))} into the hop</span></h4>",
        f"<p>{esc(unavailable_text(rollback))}</p>",
        *_measured_table(rollback),
        *_findings(rollback.findings),
    ]
    if rollback.observations:
        observed = (f"<li>{esc(text)}</li>" for text in rollback.observations)
        parts += ["<h5>Observations</h5>", "<ul>", *observed, "</ul>"]
    parts += [render_procedure_svg(rollback), "</div>"]
    return parts


def _measured_table(rollback: RollbackReport) -> list[str]:
    """Step, measured time, time users could not work, the runbook's range and the verdict."""
    if not rollback.steps:
        return ['<p class="muted">No step of this procedure was timed.</p>']
    head = "<tr>" + "".join(f"<th>{name}</th>" for name in MEASURED_COLUMNS) + "</tr>"
    total = (
        '<tr class="total"><td>whole procedure</td>'
        f'<td class="num">{esc(duration(rollback.seconds))}</td>'
        f'<td class="num">{esc(_unavailable_cell(rollback, rollback.unavailable_seconds))}</td>'
        "<td></td><td></td></tr>"
    )
    rows = [_measured_row(row, rollback) for row in rollback.steps]
    return ['<table class="measured">', head, *rows, total, "</table>"]


def _estimate_cells(estimate: tuple[int, int] | None, verdict: str) -> tuple[str, str]:
    """The runbook range and the verdict, or a plain "not a runbook estimate"."""
    text = f"{estimate[0]} to {estimate[1]} min" if estimate else "—"
    shown = (
        f'<span class="{VERDICT_CLASS[verdict]}">{esc(verdict)}</span>'
        if verdict in VERDICT_CLASS
        else '<span class="v-none">not a runbook estimate</span>'
    )
    return text, shown


def _window_table(hop: HopReport) -> list[str]:
    """The times that decide the maintenance window, at the Automation data size of this hop.

    Rehearsed on a copy of production, this is the table to plan the window from: which of the
    runbook's ranges the installation falls in, and how much of the window the hook takes.
    """
    window = hop.window
    if window is None or not window.steps:
        return []
    size = f"{window.rows:,} rows, {window.bytes / 1e6:,.1f} MB"
    head = "<tr><th>Step</th><th>Measured</th><th>Runbook estimate</th><th>Verdict</th></tr>"
    rows = []
    for row in window.steps:
        estimate, verdict = _estimate_cells(row.estimate, row.verdict)
        rows.append(
            f"<tr><td>{esc(row.step)}</td><td class=\"num\">{esc(duration(row.seconds))}</td>"
            f'<td class="num">{esc(estimate)}</td><td>{verdict}</td></tr>'
        )
    title = f"<h4>Maintenance window of {esc(hop.new)} at {esc(size)} of Automation data</h4>"
    return [title, '<table class="measured window">', head, *rows, "</table>"]


def _measured_row(row: MeasuredRow, rollback: RollbackReport) -> str:
    """One timed step; a step the runbook does not estimate says so instead of a verdict."""
    estimate, verdict = _estimate_cells(row.estimate, row.verdict)
    return (
        f"<tr><td>{esc(row.step)}</td>"
        f'<td class="num">{esc(duration(row.seconds))}</td>'
        f'<td class="num">{esc(_unavailable_cell(rollback, row.unavailable))}</td>'
        f'<td class="num">{esc(estimate)}</td>'
        f"<td>{verdict}</td></tr>"
    )


def _unavailable_cell(rollback: RollbackReport, seconds: float) -> str:
    """The unavailable time, or "not probed" where no sample could have seen an outage."""
    if rollback.samples <= 0 and not rollback.outages:
        return "not probed"
    return duration(seconds)


def _findings(findings: tuple[str, ...]) -> list[str]:
    """The failures the runbook predicts, set apart and labelled so none reads as a pass."""
    if not findings:
        return []
    return [
        '<div class="findings">',
        f"<h5>Expected findings ({len(findings)})</h5>",
        '<p class="muted">Failures the runbook predicts, shown on purpose by the rehearsal: '
        "evidence of the risk, not passes.</p>",
        "<ul>",
        *(f'<li><span class="tag">expected finding</span>{esc(text)}</li>' for text in findings),
        "</ul>",
        "</div>",
    ]
