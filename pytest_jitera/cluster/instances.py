"""A second datastore server beside the chart's own: the "new instance" of a snapshot restore.

The runbook's recommended Scenario 3 rollback restores each snapshot into a *new* database
server and repoints the chart at it, so no old-version pod ever meets the new-version schema
and the old server is still there to compare with or fall back to. On a cluster whose
databases the chart runs itself, the new server is a copy of the chart's StatefulSet under a
new name, with its own Service and volumes of its own, and without the chart's labels (so neither
the chart's Services nor Helm take it for theirs).

The chart's own server is then no longer rendered (its ``enabled`` value is off). Helm deletes
objects a release stops rendering unless the live object carries
``helm.sh/resource-policy: keep``, so :func:`keep_when_unrendered` marks the old server first:
an operator keeps the old instance until the rollback is known good, and so does a rehearsal.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from typing import Any

from pytest_jitera.cluster.kubectl import Kubectl

#: Label that selects a restored server's pods (and nothing the chart renders).
INSTANCE_LABEL = "jitera.rehearsal/instance"
#: Annotation naming the server a restored one was copied from.
COPIED_FROM = "jitera.rehearsal/copied-from"
KEEP_POLICY = "helm.sh/resource-policy"

# Metadata the API server owns: a copy that keeps them is refused or, worse, taken for the old.
_SERVER_FIELDS = ("uid", "resourceVersion", "creationTimestamp", "managedFields", "generation",
                  "ownerReferences", "selfLink")


def _clean_metadata(meta: dict[str, Any], name: str, source: str) -> dict[str, Any]:
    namespace = meta.get("namespace")
    out: dict[str, Any] = {"name": name, "labels": {INSTANCE_LABEL: name},
                           "annotations": {COPIED_FROM: source}}
    if namespace:
        out["namespace"] = namespace
    return out


def instance_manifests(
    statefulset: dict[str, Any], service: dict[str, Any], name: str
) -> list[dict[str, Any]]:
    """The StatefulSet and Service of a new server copied from a live one, called ``name``.

    Containers, environment (Secret references included) and probes are kept, so the new
    server runs the same image with the same login; every label is replaced by
    :data:`INSTANCE_LABEL`. Its volumes are of the same kind as the source's and its own: a
    claim template gives it new claims (named after the new pods), an ``emptyDir`` a new one.
    """
    source = str(statefulset["metadata"]["name"])
    sts = copy.deepcopy(statefulset)
    sts.pop("status", None)
    sts["metadata"] = _clean_metadata(sts.get("metadata", {}), name, source)
    spec = sts["spec"]
    spec["serviceName"] = name
    spec["replicas"] = 1
    spec["selector"] = {"matchLabels": {INSTANCE_LABEL: name}}
    spec["template"]["metadata"] = {"labels": {INSTANCE_LABEL: name}}
    for claim in spec.get("volumeClaimTemplates") or []:
        claim.pop("status", None)
        claim["metadata"] = {"name": claim["metadata"]["name"]}
    svc = copy.deepcopy(service)
    svc.pop("status", None)
    svc["metadata"] = _clean_metadata(svc.get("metadata", {}), name, str(service["metadata"]["name"]))
    svc_spec = svc["spec"]
    for owned in ("clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy", "internalTrafficPolicy"):
        svc_spec.pop(owned, None)
    svc_spec["selector"] = {INSTANCE_LABEL: name}
    return [sts, svc]


def create_instance(kubectl: Kubectl, source: str, name: str, *, timeout: float = 600) -> None:
    """Start ``name``, a copy of the StatefulSet and Service ``source``, and wait until it is ready."""
    statefulset = kubectl.get_json("statefulset", source)
    service = kubectl.get_json("service", source)
    manifest = "\n".join(json.dumps(doc) for doc in instance_manifests(statefulset, service, name))
    kubectl.apply(manifest)
    kubectl.wait_ready(f"{INSTANCE_LABEL}={name}", timeout=timeout)


def keep_when_unrendered(kubectl: Kubectl, names: Sequence[str]) -> None:
    """Mark the StatefulSets and Services ``names`` so a release that stops rendering them keeps them."""
    for name in names:
        for kind in ("statefulset", "service"):
            kubectl.run("annotate", "--overwrite", f"{kind}/{name}", f"{KEEP_POLICY}=keep")
