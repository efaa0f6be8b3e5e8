"""The reference stack: a miniature Jitera Self-Hosted product released as a chart series.

Everything the harness rehearses against is built from this one source tree: the Rails
"automation" app, the "ultron" and "studio" services, the Helm chart and the datastore images.
:mod:`pytest_jitera.reference.series` knows how each release's trees are assembled from the
base trees plus per-release overlays, :mod:`pytest_jitera.reference.build` turns them into
``jitera-helm-<VERSION>.zip`` files and images, and ``expected.yaml`` states what each release
pair is supposed to be (scenario, risks, values-key hazards, migration versions) so analysis
code can be checked against ground truth. None of these modules import pytest.
"""

from __future__ import annotations

from pathlib import Path

REFERENCE_ROOT = Path(__file__).resolve().parent
EXPECTED_MANIFEST = REFERENCE_ROOT / "expected.yaml"
