"""Each planned hop's rollback verdict, and the rollback cases a rehearsal collects from them.

The rehearsal classifies every hop of the path the way ``pytest-jitera classify`` classifies
one release pair, so the rollback it rehearses on a hop is the one the runbook prescribes for
that hop, not one the operator has to work out by hand. Where the charts and the Rails trees
come from (an extracted zip, the reference build, a Docker image) depends on the run, so this
module takes them as callables and stays free of pytest, Docker and the cluster: the loop,
the values merge and the test ids are checked without any of them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from pytest_jitera.charts.diff import ChartDiff
from pytest_jitera.decision.classify import Classification, Scenario, classify_release
from pytest_jitera.decision.procedures import HopClassification, RollbackCase, procedures_for
from pytest_jitera.errors import JiteraError, option
from pytest_jitera.profile.model import MigrationImage
from pytest_jitera.release.catalog import Release
from pytest_jitera.release.planner import Hop
from pytest_jitera.release.versions import Version

Classifier = Callable[..., Classification]


def hop_label(hop: Hop) -> str:
    """The hop as test ids, the report and the classification table spell it: ``A->B``."""
    return f"{hop.old.version}->{hop.new.version}"


def forced_scenario(choice: str) -> Scenario | None:
    """``--jitera-scenario``: None for ``auto`` (the verdict decides), else the forced scenario."""
    return None if choice == "auto" else Scenario(int(choice))


def merge_values(base: Mapping[str, Any], overrides: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The values Helm renders with: the chart's defaults, then each override file in order.

    Maps merge key by key and anything else replaces, as Helm coalesces them; a ``null`` in an
    override removes the key, which is how an operator unsets a chart default. The inputs are
    not changed: the chart's values are read again by other checks.
    """
    merged: dict[str, Any] = dict(base)
    for override in overrides:
        merged = _coalesce(merged, override)
    return merged


def _coalesce(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _coalesce(out[key], value)
        else:
            out[key] = value
    return out


def migration_image_reference(
    image: MigrationImage,
    chart_values: Mapping[str, Any],
    overrides: Sequence[Mapping[str, Any]],
    release: Version,
) -> str:
    """The image the release's chart deploys for ``image``'s component, with the operator's values.

    The operator's values count because an installation that mirrors images into its own
    registry overrides the repository; the image read must be the one that would run. Keys
    are spelled as the profile says ``release`` spells them.
    """
    try:
        return image.image.reference(merge_values(chart_values, overrides), release)
    except JiteraError as exc:
        raise JiteraError(
            f"{release}: cannot tell which {image.component} image to read the migrations "
            f"from: {exc.message}",
            hint=f"set it in a {option('values')} file, or fix the profile's migration_images "
            f"keys; {option('rollback')}=none rehearses the upgrade without the rollback",
        ) from exc


def classify_hops(
    hops: Sequence[Hop],
    *,
    app_tree: Callable[[Release], Path],
    chart_diff: Callable[[Hop], ChartDiff | None],
    writes_during_rollback: bool = False,
    full_consistency: bool = False,
    forced: Scenario | None = None,
    strategy: str = "new-instance",
    classify: Classifier = classify_release,
) -> dict[str, HopClassification]:
    """Classify every hop, in plan order, keyed by :func:`hop_label`.

    ``app_tree`` gives a release's Rails root; it is asked once per hop side, so a caller that
    extracts images should cache (a middle release is the new side of one hop and the old
    side of the next).
    """
    table: dict[str, HopClassification] = {}
    for hop in hops:
        verdict = classify(
            app_tree(hop.old),
            app_tree(hop.new),
            chart=chart_diff(hop),
            writes_during_rollback=writes_during_rollback,
            full_consistency=full_consistency,
        )
        label = hop_label(hop)
        table[label] = HopClassification(
            hop=label,
            classification=verdict,
            procedures=procedures_for(verdict.scenario, forced=forced, strategy=strategy),
            forced=forced,
        )
    return table


def rollback_cases(hops: Sequence[Hop], table: Mapping[str, HopClassification]) -> list[RollbackCase]:
    """One case per (hop, procedure), hops in plan order and each hop's procedures in run order.

    That is the order the rehearsal runs them in: every procedure of a hop ends re-upgraded to
    the hop's new release, so the next hop starts from where the upgrade alone would have.
    """
    cases: list[RollbackCase] = []
    for hop in hops:
        classified = table[hop_label(hop)]
        cases.extend(RollbackCase(hop, procedure, classified) for procedure in classified.procedures)
    return cases


def demo_applies(
    classified: Callable[[], HopClassification | None],
    *,
    rollback: str,
    strategy: str,
    reference_stack: bool,
) -> bool:
    """Whether the Risk A/B/C demonstrations run on this hop.

    They stage what goes wrong on the reference stack's Scenario 3 hop and read what both
    Scenario 3 procedures observed, so they need that stack, that scenario and ``both``; on
    any other hop they would show nothing the runbook warns about. ``classified`` is asked
    last, so a run the settings already rule out classifies nothing for it.
    """
    if rollback == "none" or strategy != "both" or not reference_stack:
        return False
    verdict = classified()
    # The classified scenario, not a forced one: a patch hop rehearsed as Scenario 3 has no
    # dropped column, no backfill and no new type to show.
    return verdict is not None and verdict.classification.scenario is Scenario.INTEGRITY_RISK
