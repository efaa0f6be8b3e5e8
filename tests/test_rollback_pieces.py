"""Pure pieces of the rollback rehearsal: the new server's manifests, endpoint values, partial schemas."""

from __future__ import annotations

from typing import Any

from pytest_jitera.cluster.instances import COPIED_FROM, INSTANCE_LABEL, instance_manifests
from pytest_jitera.datastores import MongoTarget
from pytest_jitera.decision.classify import Scenario
from pytest_jitera.decision.partial_schema import classify_partial_schema
from pytest_jitera.profile import REFERENCE_PROFILE, load_profile
from pytest_jitera.release.versions import Version
from pytest_jitera.runbook.after_rollback import rendered
from pytest_jitera.runbook.stage import endpoint_values


def _live_statefulset() -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {
            "name": "jitera-postgresql", "namespace": "ns", "uid": "u-1", "resourceVersion": "7",
            "labels": {"app.kubernetes.io/instance": "jitera", "app.kubernetes.io/managed-by": "Helm"},
            "annotations": {"meta.helm.sh/release-name": "jitera"},
            "managedFields": [{}],
        },
        "spec": {
            "serviceName": "jitera-postgresql",
            "replicas": 1,
            "selector": {"matchLabels": {"app.kubernetes.io/instance": "jitera"}},
            "template": {
                "metadata": {"labels": {"app.kubernetes.io/instance": "jitera"}},
                "spec": {
                    "containers": [{
                        "name": "postgresql", "image": "postgres:15",
                        "env": [{"name": "POSTGRES_PASSWORD",
                                 "valueFrom": {"secretKeyRef": {"name": "jitera-credentials", "key": "pw"}}}],
                        "volumeMounts": [{"name": "data", "mountPath": "/var/lib/postgresql/data"}],
                    }],
                    "volumes": [{"name": "data", "emptyDir": {}}],
                },
            },
            "volumeClaimTemplates": [{"metadata": {"name": "extra", "labels": {"x": "y"}},
                                      "spec": {"resources": {"requests": {"storage": "1Gi"}}},
                                      "status": {"phase": "Bound"}}],
        },
        "status": {"readyReplicas": 1},
    }


def _live_service() -> dict[str, Any]:
    return {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "jitera-postgresql", "namespace": "ns",
                     "labels": {"app.kubernetes.io/instance": "jitera"}},
        "spec": {"clusterIP": "10.0.0.9", "clusterIPs": ["10.0.0.9"], "ports": [{"port": 5432}],
                 "selector": {"app.kubernetes.io/instance": "jitera"}},
    }


def test_new_server_keeps_the_pod_but_none_of_the_charts_labels() -> None:
    sts, svc = instance_manifests(_live_statefulset(), _live_service(), "jitera-postgresql-restored-1")
    name = "jitera-postgresql-restored-1"
    assert sts["metadata"] == {"name": name, "namespace": "ns", "labels": {INSTANCE_LABEL: name},
                               "annotations": {COPIED_FROM: "jitera-postgresql"}}
    assert "status" not in sts
    assert sts["spec"]["selector"] == {"matchLabels": {INSTANCE_LABEL: name}}
    assert sts["spec"]["template"]["metadata"] == {"labels": {INSTANCE_LABEL: name}}
    assert sts["spec"]["serviceName"] == name
    container = sts["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "postgres:15"
    assert container["env"][0]["valueFrom"]["secretKeyRef"]["name"] == "jitera-credentials"
    assert sts["spec"]["template"]["spec"]["volumes"] == [{"name": "data", "emptyDir": {}}]
    assert sts["spec"]["volumeClaimTemplates"] == [
        {"metadata": {"name": "extra"}, "spec": {"resources": {"requests": {"storage": "1Gi"}}}}
    ]
    assert svc["metadata"]["name"] == name
    assert svc["spec"] == {"ports": [{"port": 5432}], "selector": {INSTANCE_LABEL: name}}


def test_copy_leaves_the_live_objects_untouched() -> None:
    live = _live_statefulset()
    instance_manifests(live, _live_service(), "copy")
    assert live["metadata"]["uid"] == "u-1"
    assert live["spec"]["selector"]["matchLabels"] == {"app.kubernetes.io/instance": "jitera"}


def test_endpoint_values_follow_each_releases_key_spelling() -> None:
    profile = load_profile(REFERENCE_PROFILE)
    moved = {"jitera-postgresql": ("jitera-postgresql-restored-1", 5432, None),
             "jitera-mongodb": ("jitera-mongodb-restored-1", 27017, "mongodb://jitera-mongodb-restored-1:27017/")}
    old = endpoint_values(profile, Version.parse("v24.05.01"), moved)
    new = endpoint_values(profile, Version.parse("v24.06.01"), moved)
    assert old["postgresql"] == {"enabled": False}
    assert old["externalPostgres"]["host"] == "jitera-postgresql-restored-1"
    assert new["externalPostgres"]["primary"]["host"] == "jitera-postgresql-restored-1"
    assert "host" not in new["externalPostgres"]
    assert new["externalPostgres"]["port"] == 5432
    assert new["mongodb"] == {"enabled": False}
    assert new["externalMongodb"]["uri"] == "mongodb://jitera-mongodb-restored-1:27017/"
    assert "pgvector" not in new  # not moved: the chart keeps its own server


def test_moved_uri_keeps_login_and_options() -> None:
    old = MongoTarget("mongodb://u:p@old-a:27017,old-b:27017/db?replicaSet=rs0", "db")
    moved = old.moved_to("new", 27018)
    assert moved.uri == "mongodb://u:p@new:27018/db?replicaSet=rs0"


def test_partial_schema_is_scenario_three_with_the_versions_named() -> None:
    scenario, reasons = classify_partial_schema(["1", "2", "3"], ["1", "2"])
    assert scenario is Scenario.INTEGRITY_RISK
    assert reasons[0].evidence == ("3",)
    scenario, _ = classify_partial_schema(["1", "2"], ["1", "2", "3"])
    assert scenario is Scenario.PATCH_ROLLBACK


def test_images_and_workloads_of_a_release_manifest() -> None:
    manifest = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: jitera-automation}
spec:
  template:
    spec:
      initContainers: [{name: wait, image: "busybox:1"}]
      containers: [{name: app, image: "jitera/automation:v24.06.01"}]
---
apiVersion: v1
kind: ConfigMap
data: {a: b}
---
"""
    images, workloads = rendered(manifest)
    assert images == {"busybox:1", "jitera/automation:v24.06.01"}
    assert workloads == {"jitera-automation"}


def test_dropped_tables_are_named_as_the_code_names_them() -> None:
    from pytest_jitera.datastores import SchemaSnapshot
    from pytest_jitera.runbook.after_rollback import tables_dropped

    def schema(*tables: str) -> SchemaSnapshot:
        return SchemaSnapshot(engine="postgresql", database="jitera",
                              objects={"tables": {t: {} for t in tables}})

    before = schema("public.users", "public.legacy_reports")
    assert tables_dropped(before, schema("public.users")) == ["legacy_reports"]
    assert tables_dropped(before, before) == []
