"""Outages and the per-target summary, computed from plain samples."""

from __future__ import annotations

import pytest

from pytest_jitera.runbook.availability import Outage, Sample, outages, summarize


def ok(target: str, at: float) -> Sample:
    return Sample(target, at, True, 200, "")


def bad(target: str, at: float, status: int = 503, error: str = "") -> Sample:
    return Sample(target, at, False, status, error)


def test_no_failure_no_outage() -> None:
    samples = [ok("web", t / 2) for t in range(10)]
    assert outages(samples) == []
    summary = summarize(samples)["web"]
    assert (summary.samples, summary.failures, summary.unavailable_seconds) == (10, 0, 0.0)
    assert summary.longest is None
    assert summary.longest_seconds == 0.0


def test_a_run_of_failures_is_one_outage_until_the_next_good_answer() -> None:
    samples = [ok("web", 0.0), bad("web", 0.5), bad("web", 1.0), bad("web", 1.5), ok("web", 2.0),
               ok("web", 2.5)]
    assert outages(samples) == [Outage("web", 0.5, 2.0, "HTTP 503")]
    assert outages(samples)[0].seconds == pytest.approx(1.5)


def test_the_first_failure_names_the_outage() -> None:
    samples = [
        bad("web", 0.0, 0, "API server proxy: no endpoints available"),
        bad("web", 0.5, 502),
        ok("web", 1.0),
    ]
    assert [o.reason for o in outages(samples)] == ["API server proxy: no endpoints available"]


def test_failures_at_the_end_last_until_the_last_sample() -> None:
    samples = [ok("web", 0.0), bad("web", 1.0), bad("web", 3.0)]
    assert outages(samples) == [Outage("web", 1.0, 3.0, "HTTP 503")]


def test_a_single_final_failure_is_a_zero_length_outage() -> None:
    assert outages([ok("web", 0.0), bad("web", 1.0)]) == [Outage("web", 1.0, 1.0, "HTTP 503")]


def test_separate_runs_are_separate_outages() -> None:
    samples = [bad("web", 0.0), ok("web", 1.0), bad("web", 5.0), bad("web", 6.0), ok("web", 8.0)]
    assert outages(samples) == [Outage("web", 0.0, 1.0, "HTTP 503"), Outage("web", 5.0, 8.0, "HTTP 503")]


def test_targets_are_independent_even_when_interleaved() -> None:
    samples = [
        ok("web", 0.0), bad("api", 0.1),
        bad("web", 0.5), ok("api", 0.6),
        ok("web", 1.0), ok("api", 1.1),
    ]
    assert outages(samples) == [Outage("api", 0.1, 0.6, "HTTP 503"), Outage("web", 0.5, 1.0, "HTTP 503")]


def test_samples_out_of_order_are_put_in_time_order() -> None:
    samples = [ok("web", 2.0), bad("web", 1.0), ok("web", 0.0)]
    assert outages(samples) == [Outage("web", 1.0, 2.0, "HTTP 503")]


def test_a_redirect_is_an_answer_but_the_caller_decides_ok() -> None:
    # the prober counts 2xx and 3xx as ok; the arithmetic only trusts the ok flag
    samples = [Sample("web", 0.0, True, 302, ""), Sample("web", 1.0, False, 404, ""), ok("web", 2.0)]
    assert outages(samples) == [Outage("web", 1.0, 2.0, "HTTP 404")]


def test_summary_per_target() -> None:
    samples = [
        ok("web", 0.0), ok("api", 0.0),
        bad("web", 1.0), ok("api", 1.0),
        ok("web", 2.0), ok("api", 2.0),
        bad("web", 3.0), ok("api", 3.0),
        bad("web", 4.0), ok("api", 4.0),
        bad("web", 5.0), ok("api", 5.0),
        ok("web", 6.0), ok("api", 6.0),
    ]
    summary = summarize(samples)
    assert list(summary) == ["web", "api"]
    web, api = summary["web"], summary["api"]
    assert (web.samples, web.failures) == (7, 4)
    assert web.unavailable_seconds == pytest.approx(1.0 + 3.0)
    assert web.longest == Outage("web", 3.0, 6.0, "HTTP 503")
    assert web.longest_seconds == pytest.approx(3.0)
    assert (api.samples, api.failures, api.unavailable_seconds, api.longest) == (7, 0, 0.0, None)


def test_empty_samples() -> None:
    assert outages([]) == []
    assert summarize([]) == {}


def test_a_sample_says_why_it_failed() -> None:
    assert bad("web", 0.0, 0, "ConnectTimeout: timed out").reason == "ConnectTimeout: timed out"
    assert bad("web", 0.0, 500).reason == "HTTP 500"
    assert ok("web", 0.0).reason == ""
