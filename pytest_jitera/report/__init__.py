"""The report folder a release engineer reads first: ``index.html`` and ``summary.json``.

Pure logic: the run's results come in as plain data (:class:`RunReport`), and out go two
files with every secret masked. Nothing here talks to a cluster or runs a process, so the
report of a run that broke the cluster can still be written.
"""

from pytest_jitera.report.html import render_html
from pytest_jitera.report.mask import mask_report, mask_text
from pytest_jitera.report.model import (
    ClassificationReport,
    HopReport,
    MeasuredRow,
    OutageRow,
    ReasonReport,
    RollbackReport,
    RunReport,
    Status,
    StepResult,
    TargetDowntime,
)
from pytest_jitera.report.text import rollback_lines
from pytest_jitera.report.timeline import (
    availability_lines,
    render_procedure_svg,
    render_svg,
    unavailability,
)
from pytest_jitera.report.write import INDEX, SUMMARY, write_report

__all__ = [
    "INDEX",
    "SUMMARY",
    "ClassificationReport",
    "HopReport",
    "MeasuredRow",
    "OutageRow",
    "ReasonReport",
    "RollbackReport",
    "RunReport",
    "Status",
    "StepResult",
    "TargetDowntime",
    "availability_lines",
    "mask_report",
    "mask_text",
    "render_html",
    "render_procedure_svg",
    "render_svg",
    "rollback_lines",
    "unavailability",
    "write_report",
]
