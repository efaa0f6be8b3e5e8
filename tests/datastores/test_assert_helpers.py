"""The pytest layer turns findings and diffs into one failure that lists everything."""

from __future__ import annotations

import pytest

from pytest_jitera.datastores import CheckFinding, SchemaSnapshot, Status, Verification
from pytest_jitera.fixtures.datastores import (
    assert_no_findings,
    assert_schema_equal,
    assert_verified,
)

FINDINGS = [
    CheckFinding("leftover-type", "public.tier", "type exists", "DROP TYPE public.tier;"),
    CheckFinding("leftover-table", "public.audit", "table exists", "DROP TABLE public.audit;"),
    CheckFinding("missing-table", "reports", "old code needs it", "restore the snapshot"),
]


def test_one_failure_lists_every_finding_and_fix() -> None:
    assert_no_findings([])
    with pytest.raises(pytest.fail.Exception) as failed:
        assert_no_findings(FINDINGS, "after rollback")
    text = str(failed.value)
    assert text.startswith("after rollback found problems (3):")
    for f in FINDINGS:
        assert f.object in text
        assert f.fix in text


def test_schema_and_verification_helpers() -> None:
    a = SchemaSnapshot("postgresql", "db", {"tables": {"public.a": {}}})
    b = SchemaSnapshot("postgresql", "db", {"tables": {"public.b": {}}})
    assert_schema_equal(a, a)
    with pytest.raises(pytest.fail.Exception, match=r"(?s)- table public.a.*\+ table public.b"):
        assert_schema_equal(a, b)
    assert_verified(Verification(Status.VERIFIED, "x.dump"))
    with pytest.raises(pytest.fail.Exception, match="unverifiable"):
        assert_verified(Verification(Status.UNVERIFIABLE, "x.dump", ["truncated"]))


def test_helpers_hide_their_frames() -> None:
    import pytest_jitera.fixtures.datastores as mod

    for helper in (mod.assert_no_findings, mod.assert_schema_equal, mod.assert_verified):
        assert "__tracebackhide__" in helper.__code__.co_varnames
