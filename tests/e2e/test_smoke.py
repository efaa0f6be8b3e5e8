"""Smoke tests of a real kind cluster: workloads, DNS, storage, jobs, and a Helm lifecycle."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path

import pytest

from pytest_jitera.cluster.kind import KindCluster
from pytest_jitera.cluster.kubectl import Kubectl
from pytest_jitera.runner import RunError

CHARTS = Path(__file__).parent / "charts"

WEB = """
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: {ns}}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers:
        - name: web
          image: {image}
          imagePullPolicy: Never
          command:
            - sh
            - -c
            - mkdir -p /www && echo hello-from-web > /www/index.html
              && exec busybox httpd -f -p 8080 -h /www
          ports: [{{containerPort: 8080}}]
          readinessProbe: {{tcpSocket: {{port: 8080}}, periodSeconds: 2}}
---
apiVersion: v1
kind: Service
metadata: {{name: web, namespace: {ns}}}
spec:
  selector: {{app: web}}
  ports: [{{port: 80, targetPort: 8080}}]
"""

JOB = """
apiVersion: batch/v1
kind: Job
metadata: {{name: {name}, namespace: {ns}}}
spec:
  backoffLimit: 2
  activeDeadlineSeconds: 180
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: main
          image: {image}
          imagePullPolicy: Never
          command: ["sh", "-c", {script}]
"""

PVC = """
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {{name: data, namespace: {ns}}}
spec:
  accessModes: [ReadWriteOnce]
  resources: {{requests: {{storage: 16Mi}}}}
"""

POD_WITH_PVC = """
apiVersion: v1
kind: Pod
metadata: {{name: {name}, namespace: {ns}}}
spec:
  restartPolicy: Never
  containers:
    - name: main
      image: {image}
      imagePullPolicy: Never
      command: ["sh", "-c", {script}]
      volumeMounts: [{{name: data, mountPath: /data}}]
  volumes: [{{name: data, persistentVolumeClaim: {{claimName: data}}}}]
"""


def run_job(kubectl: Kubectl, name: str, image: str, script: str) -> str:
    kubectl.apply(JOB.format(name=name, ns=kubectl.namespace, image=image, script=json.dumps(script)))
    kubectl.wait_condition(f"job/{name}", "condition=complete", timeout=180)
    return kubectl.logs(f"job/{name}")


def test_deployment_becomes_ready(kind_cluster: KindCluster, kind_toolbox_image: str,
                                  namespace: str) -> None:
    kubectl = kind_cluster.access(namespace).kubectl
    kubectl.apply(WEB.format(ns=namespace, image=kind_toolbox_image))
    kubectl.rollout_status("web", timeout=180)
    assert kubectl.field("deployment/web", "{.status.readyReplicas}") == "1"


def test_service_answers_by_cluster_dns_name(kind_cluster: KindCluster,
                                             kind_toolbox_image: str, namespace: str) -> None:
    kubectl = kind_cluster.access(namespace).kubectl
    kubectl.apply(WEB.format(ns=namespace, image=kind_toolbox_image))
    kubectl.rollout_status("web", timeout=180)
    url = f"http://web.{namespace}.svc.cluster.local/"
    out = run_job(kubectl, "client", kind_toolbox_image,
                  f"for i in $(seq 30); do timeout 5 busybox wget -q -O- {url} && exit 0; "
                  "sleep 2; done; exit 1")
    assert "hello-from-web" in out


def test_pvc_binds_and_data_survives_pod_restart(kind_cluster: KindCluster,
                                                 kind_toolbox_image: str,
                                                 namespace: str) -> None:
    kubectl = kind_cluster.access(namespace).kubectl
    kubectl.apply(PVC.format(ns=namespace))
    kubectl.apply(POD_WITH_PVC.format(
        name="writer", ns=namespace, image=kind_toolbox_image,
        script=json.dumps("echo persisted-$(date +%s) > /data/proof && cat /data/proof")))
    kubectl.wait_condition("pod/writer", "jsonpath={.status.phase}=Succeeded", timeout=180)
    written = kubectl.logs("pod/writer").strip()
    assert kubectl.field("pvc/data", "{.status.phase}") == "Bound"
    kubectl.delete("pod/writer")
    kubectl.apply(POD_WITH_PVC.format(
        name="reader", ns=namespace, image=kind_toolbox_image,
        script=json.dumps("cat /data/proof")))
    kubectl.wait_condition("pod/reader", "jsonpath={.status.phase}=Succeeded", timeout=180)
    read = kubectl.logs("pod/reader").strip()
    assert written.startswith("persisted-")
    assert read == written


def test_job_completes(kind_cluster: KindCluster, kind_toolbox_image: str,
                       namespace: str) -> None:
    out = run_job(kind_cluster.access(namespace).kubectl, "once", kind_toolbox_image, "echo job-finished")
    assert out.strip() == "job-finished"


@pytest.mark.parametrize("major", [3, 4])
def test_helm_install_upgrade_rollback_and_failed_hook(
    kind_cluster: KindCluster, kind_toolbox_image: str, namespace: str, helm_by_major: dict[int, str],
    major: int,
) -> None:
    """The lifecycle a rehearsal relies on, on each Helm major users have today."""
    access = replace(kind_cluster.access(namespace), helm_bin=helm_by_major[major])
    helm, kubectl = access.helm, access.kubectl
    assert helm.major == major
    chart = CHARTS / "smoke"
    rel = "smoke"

    def values(message: str, **more: str) -> dict[str, str]:
        return {"image": kind_toolbox_image, "message": message, **more}

    def message() -> str:
        return kubectl.field(f"configmap/{rel}-message", "{.data.message}")

    helm.install(rel, chart, set_values=values("one"), timeout="3m", wait=True)
    assert message() == "one"
    assert "hook for revision 1" in kubectl.logs(f"job/{rel}-hook-1")

    helm.upgrade(rel, chart, set_values=values("two"), timeout="3m", wait=True)
    assert message() == "two"
    assert "hook for revision 2" in kubectl.logs(f"job/{rel}-hook-2")

    helm.rollback(rel, 1, timeout="3m", wait=True)
    assert message() == "one"
    history = helm.history(rel)
    assert [h.revision for h in history] == [1, 2, 3]
    assert history[-1].status == "deployed"
    assert "Rollback to 1" in history[-1].description

    # A failing post-upgrade hook: rollback on failure (--atomic on 3, --rollback-on-failure on 4).
    started = time.monotonic()
    with pytest.raises(RunError) as failed:
        helm.upgrade(rel, chart, set_values=values("three", **{"hook.exitCode": "3"}), timeout="2m",
                     atomic=True, wait=True)
    assert "hook" in failed.value.output.lower() or "failed" in failed.value.output.lower()
    history = helm.history(rel)
    statuses = [(h.revision, h.status) for h in history]
    assert statuses[-2:] == [(4, "failed"), (5, "deployed")], statuses
    assert "Rollback to 3" in history[-1].description
    assert message() == "one"
    print(f"helm {major}: upgrade with failing hook rolled back in {time.monotonic() - started:.0f}s")


def test_release_installed_by_helm3_is_upgraded_and_rolled_back_by_helm4(
    kind_cluster: KindCluster, kind_toolbox_image: str, namespace: str, helm_by_major: dict[int, str]
) -> None:
    """The transition every user is about to make: Helm 4 takes over a Helm 3 release."""
    base = kind_cluster.access(namespace)
    helm3 = replace(base, helm_bin=helm_by_major[3]).helm
    helm4 = replace(base, helm_bin=helm_by_major[4]).helm
    kubectl = base.kubectl
    chart = CHARTS / "smoke"
    rel = "handover"

    def values(message: str) -> dict[str, str]:
        return {"image": kind_toolbox_image, "message": message}

    def managers() -> list[str]:
        fields = json.loads(kubectl.field(f"configmap/{rel}-message", "{.metadata.managedFields}") or "[]")
        return sorted(f"{f.get('manager')}:{f.get('operation')}" for f in fields)

    helm3.install(rel, chart, set_values=values("from-helm3"), timeout="3m", wait=True)
    installed_by = managers()
    helm4.upgrade(rel, chart, set_values=values("from-helm4"), timeout="3m", wait=True)
    assert kubectl.field(f"configmap/{rel}-message", "{.data.message}") == "from-helm4"
    assert "hook for revision 2" in kubectl.logs(f"job/{rel}-hook-2")
    upgraded_by = managers()
    helm4.rollback(rel, 1, timeout="3m", wait=True)
    assert kubectl.field(f"configmap/{rel}-message", "{.data.message}") == "from-helm3"
    history = helm4.history(rel)
    statuses = [(h.revision, h.status) for h in history]
    assert statuses == [(1, "superseded"), (2, "superseded"), (3, "deployed")], statuses
    # What changed hands: Helm 4 keeps a Helm 3 release client-side unless told otherwise.
    print(f"field managers after helm 3 install: {installed_by}; after helm 4 upgrade: {upgraded_by}")
    assert upgraded_by, "the object must still have a field manager after the Helm 4 upgrade"
