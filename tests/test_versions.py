from __future__ import annotations

import pytest

from pytest_jitera.errors import VersionError
from pytest_jitera.release.versions import EXPECTED_FORM, StepKind, Version, step_kind


@pytest.mark.parametrize(
    ("text", "expected"),
    [("v24.05.01", (24, 5, 1, None)), ("v24.05.01.1", (24, 5, 1, 1)), (" v25.12.31.12 ", (25, 12, 31, 12))],
)
def test_parse(text: str, expected: tuple[int, int, int, int | None]) -> None:
    v = Version.parse(text)
    assert (v.year, v.month, v.day, v.patch) == expected


@pytest.mark.parametrize(
    "text",
    ["v24.5.1", "24.05.01", "v24.05", "v24.13.01", "v24.02.30", "v24.05.01.0", "latest", "", "v24.05.01.x"],
)
def test_malformed_versions_show_expected_form_and_offending_text(text: str) -> None:
    with pytest.raises(VersionError) as info:
        Version.parse(text)
    assert repr(text) in str(info.value)
    assert EXPECTED_FORM in str(info.value)


def test_near_miss_gets_a_suggestion() -> None:
    with pytest.raises(VersionError, match=r"did you mean v24\.05\.01\?"):
        Version.parse("v24.5.1")


def test_total_order_puts_patches_after_their_minor() -> None:
    texts = ["v24.06.01", "v24.05.01.2", "v23.12.31", "v24.05.01", "v24.05.01.10", "v24.05.01.1"]
    ordered = [str(v) for v in sorted(Version.parse(t) for t in texts)]
    assert ordered == ["v23.12.31", "v24.05.01", "v24.05.01.1", "v24.05.01.2", "v24.05.01.10", "v24.06.01"]


def test_minor_and_step_kinds() -> None:
    base = Version.parse("v24.05.01")
    assert Version.parse("v24.05.01.3").minor == base
    assert step_kind(base, Version.parse("v24.05.01.1")) is StepKind.PATCH
    assert step_kind(base, Version.parse("v24.06.01")) is StepKind.MINOR
    assert step_kind(base, Version.parse("v24.05.15")) is StepKind.MINOR
    assert step_kind(Version.parse("v24.12.01"), Version.parse("v25.01.01")) is StepKind.MAJOR


@pytest.mark.parametrize("text", ["v24.05.01", "v24.05.01.3", "v24.12.31.1"])
def test_semver_round_trip_keeps_helm_order(text: str) -> None:
    v = Version.parse(text)
    assert Version.from_semver(v.semver()) == v
    assert Version.coerce(v.semver()) == v


def test_semver_order_matches_release_order() -> None:
    versions = sorted(Version.parse(t) for t in ["v24.05.01", "v24.05.01.1", "v24.06.01", "v24.10.02"])
    semvers = [tuple(int(p) for p in v.semver().split(".")) for v in versions]
    assert semvers == sorted(semvers)


@pytest.mark.parametrize(
    "text",
    [
        "v\u0662\u0664.\u0660\u0665.\u0660\u0661",  # Arabic-Indic digits
        "v\uff12\uff14.\uff10\uff15.\uff10\uff11",  # full-width digits
        "v\u0968\u096a.\u0966\u096b.\u0966\u0967",  # Devanagari digits
        "v24.05.0\u0661",  # one non-ASCII digit is enough to refuse
        "v24.05.01.\u0661",  # in the patch number too
    ],
)
def test_only_ascii_digits_make_a_version(text: str) -> None:
    with pytest.raises(VersionError) as info:
        Version.parse(text)
    assert repr(text) in str(info.value)
    assert "did you mean" not in str(info.value)


@pytest.mark.parametrize("text", ["\u0662\u0664.\u0665\u0660\u0661.0", "24.501.\u0661", "\uff12\uff14.501.0"])
def test_only_ascii_digits_make_a_chart_version(text: str) -> None:
    with pytest.raises(VersionError):
        Version.from_semver(text)
    with pytest.raises(VersionError):
        Version.coerce(text)


def test_near_miss_suggestion_is_only_made_for_ascii_digits() -> None:
    with pytest.raises(VersionError) as info:
        Version.parse("v\u0662\u0664.\u0665.\u0661")  # "v24.5.1" in Arabic-Indic digits
    assert "did you mean" not in str(info.value)
