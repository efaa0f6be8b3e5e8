"""Smoke tests of a real kind cluster: workloads, DNS, storage, jobs, and a Helm lifecycle."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from pytest_jitera.cluster.kind import KindCluster
from pytest_jitera.cluster.tools import Toolset
from pytest_jitera.runner import RunError, Runner

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


def apply(cluster: KindCluster, manifest: str) -> None:
    cluster.kubectl_run("apply", "-f", "-", input=manifest)


def run_job(cluster: KindCluster, ns: str, name: str, image: str, script: str) -> str:
    apply(cluster, JOB.format(name=name, ns=ns, image=image, script=json.dumps(script)))
    cluster.kubectl_run("wait", "-n", ns, "--for=condition=complete", f"job/{name}",
                        "--timeout=180s", timeout=200)
    return cluster.kubectl_run("logs", "-n", ns, f"job/{name}")


def test_deployment_becomes_ready(kind_cluster: KindCluster, kind_toolbox_image: str,
                                  namespace: str) -> None:
    apply(kind_cluster, WEB.format(ns=namespace, image=kind_toolbox_image))
    kind_cluster.kubectl_run("rollout", "status", "-n", namespace, "deployment/web",
                             "--timeout=180s", timeout=200)
    ready = kind_cluster.kubectl_run("get", "deployment", "web", "-n", namespace,
                                     "-o", "jsonpath={.status.readyReplicas}")
    assert ready == "1"


def test_service_answers_by_cluster_dns_name(kind_cluster: KindCluster,
                                             kind_toolbox_image: str, namespace: str) -> None:
    apply(kind_cluster, WEB.format(ns=namespace, image=kind_toolbox_image))
    kind_cluster.kubectl_run("rollout", "status", "-n", namespace, "deployment/web",
                             "--timeout=180s", timeout=200)
    url = f"http://web.{namespace}.svc.cluster.local/"
    out = run_job(kind_cluster, namespace, "client", kind_toolbox_image,
                  f"for i in $(seq 30); do timeout 5 busybox wget -q -O- {url} && exit 0; "
                  "sleep 2; done; exit 1")
    assert "hello-from-web" in out


def test_pvc_binds_and_data_survives_pod_restart(kind_cluster: KindCluster,
                                                 kind_toolbox_image: str,
                                                 namespace: str) -> None:
    apply(kind_cluster, PVC.format(ns=namespace))
    apply(kind_cluster, POD_WITH_PVC.format(
        name="writer", ns=namespace, image=kind_toolbox_image,
        script=json.dumps("echo persisted-$(date +%s) > /data/proof && cat /data/proof")))
    kind_cluster.kubectl_run("wait", "-n", namespace, "--for=jsonpath={.status.phase}=Succeeded",
                             "pod/writer", "--timeout=180s", timeout=200)
    written = kind_cluster.kubectl_run("logs", "-n", namespace, "pod/writer").strip()
    phase = kind_cluster.kubectl_run("get", "pvc", "data", "-n", namespace,
                                     "-o", "jsonpath={.status.phase}")
    assert phase == "Bound"
    kind_cluster.kubectl_run("delete", "pod", "writer", "-n", namespace, "--wait=true")
    apply(kind_cluster, POD_WITH_PVC.format(
        name="reader", ns=namespace, image=kind_toolbox_image,
        script=json.dumps("cat /data/proof")))
    kind_cluster.kubectl_run("wait", "-n", namespace, "--for=jsonpath={.status.phase}=Succeeded",
                             "pod/reader", "--timeout=180s", timeout=200)
    read = kind_cluster.kubectl_run("logs", "-n", namespace, "pod/reader").strip()
    assert written.startswith("persisted-")
    assert read == written


def test_job_completes(kind_cluster: KindCluster, kind_toolbox_image: str,
                       namespace: str) -> None:
    out = run_job(kind_cluster, namespace, "once", kind_toolbox_image, "echo job-finished")
    assert out.strip() == "job-finished"


class Helm:
    """helm against the test cluster only (explicit kubeconfig and namespace)."""

    def __init__(self, tools: Toolset, cluster: KindCluster, namespace: str) -> None:
        self.argv = [tools["helm"], "--kubeconfig", str(cluster.kubeconfig), "-n", namespace]
        self.env = tools.env()
        self.runner = Runner()

    def __call__(self, *args: str, check: bool = True) -> str:
        got = self.runner.run([*self.argv, *args], env=self.env, check=check, timeout=600)
        return got.stdout + got.stderr

    def history(self, release: str) -> list[dict[str, object]]:
        data: list[dict[str, object]] = json.loads(self("history", release, "-o", "json"))
        return data


def test_helm_install_upgrade_rollback_and_failed_hook(
    kind_cluster: KindCluster, kind_toolbox_image: str, jitera_tools: Toolset, namespace: str
) -> None:
    helm = Helm(jitera_tools, kind_cluster, namespace)
    chart = str(CHARTS / "smoke")
    image = f"image={kind_toolbox_image}"
    rel = "smoke"

    def message() -> str:
        return kind_cluster.kubectl_run("get", "configmap", f"{rel}-message", "-n", namespace,
                                        "-o", "jsonpath={.data.message}")

    helm("install", rel, chart, "--set", image, "--set", "message=one", "--wait",
         "--timeout", "3m")
    assert message() == "one"
    hook_logs = kind_cluster.kubectl_run("logs", "-n", namespace, f"job/{rel}-hook-1")
    assert "hook for revision 1" in hook_logs

    helm("upgrade", rel, chart, "--set", image, "--set", "message=two", "--wait",
         "--timeout", "3m")
    assert message() == "two"
    assert "hook for revision 2" in kind_cluster.kubectl_run("logs", "-n", namespace,
                                                             f"job/{rel}-hook-2")

    helm("rollback", rel, "1", "--wait", "--timeout", "3m")
    assert message() == "one"
    history = helm.history(rel)
    assert [h["revision"] for h in history] == [1, 2, 3]
    assert history[-1]["status"] == "deployed"
    assert "Rollback to 1" in str(history[-1]["description"])

    # A failing post-upgrade hook: --atomic (helm 3's --rollback-on-failure) must roll back.
    started = time.monotonic()
    with pytest.raises(RunError) as failed:
        helm("upgrade", rel, chart, "--set", image, "--set", "message=three",
             "--set", "hook.exitCode=3", "--atomic", "--wait", "--timeout", "2m")
    assert "hook" in failed.value.output.lower() or "failed" in failed.value.output.lower()
    history = helm.history(rel)
    statuses = [(h["revision"], h["status"]) for h in history]
    assert statuses[-2:] == [(4, "failed"), (5, "deployed")], statuses
    assert "Rollback to 3" in str(history[-1]["description"])
    assert message() == "one"
    print(f"atomic upgrade with failing hook rolled back in {time.monotonic() - started:.0f}s")
