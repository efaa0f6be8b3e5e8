"""Field managers read as a release engineer needs them when Helm 4 takes over a Helm 3 release."""

from __future__ import annotations

from typing import Any

from pytest_jitera.cluster.field_managers import (
    apply_method,
    handover_summary,
    managers_by_object,
    other_writers,
)


def _obj(kind: str, name: str, *entries: tuple[str, str], status: bool = False) -> dict[str, Any]:
    fields = [{"manager": m, "operation": op, "fieldsV1": {"f:spec": {}}} for m, op in entries]
    if status:
        fields.append({"manager": "kube-controller-manager", "operation": "Update",
                       "subresource": "status", "fieldsV1": {}})
    return {"kind": kind, "metadata": {"name": name, "managedFields": fields}}


HELM3_INSTALL = [
    _obj("Deployment", "jitera-studio", ("helm", "Update"), status=True),
    _obj("Service", "jitera-studio", ("helm", "Update")),
]


def test_labels_per_object_leave_out_status_writers() -> None:
    managers = managers_by_object(HELM3_INSTALL)
    assert managers == {
        "Deployment/jitera-studio": ("helm:Update",),
        "Service/jitera-studio": ("helm:Update",),
    }
    assert apply_method(managers) == "client-side"


def test_helm4_keeping_a_helm3_release_client_side_is_said_so() -> None:
    before = managers_by_object(HELM3_INSTALL)
    after = managers_by_object(HELM3_INSTALL)
    assert handover_summary(before, after) == "helm kept client-side apply (2 objects)"


def test_a_switch_to_server_side_and_a_second_writer_are_named() -> None:
    before = managers_by_object(HELM3_INSTALL)
    after = managers_by_object([
        _obj("Deployment", "jitera-studio", ("helm", "Apply"), ("kubectl-edit", "Update")),
        _obj("Service", "jitera-studio", ("helm", "Apply")),
    ])
    assert apply_method(after) == "server-side"
    assert other_writers(after) == {"Deployment/jitera-studio": ("kubectl-edit:Update",)}
    text = handover_summary(before, after)
    assert "client-side before and server-side after" in text
    assert "managers changed on Deployment/jitera-studio, Service/jitera-studio" in text
    assert "Deployment/jitera-studio (kubectl-edit:Update)" in text


def test_mixed_and_missing_helm_writes() -> None:
    both = managers_by_object([_obj("ConfigMap", "a", ("helm", "Update"), ("helm", "Apply"))])
    assert apply_method(both) == "both"
    assert apply_method(managers_by_object([_obj("Secret", "s", ("kubectl", "Update"))])) == "none"
    assert apply_method({}) == "none"
