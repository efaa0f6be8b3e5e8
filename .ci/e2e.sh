#!/usr/bin/env bash
# CI helper: the complete e2e path on a host without registry access, then a leftover check.
#   1. Docker daemon able to start privileged containers (CI environment setup)
#   2. kind, helm, kubectl and the kind node image (cached; seconds when warm)
#   3. the e2e smoke suite on a real kind cluster
#   4. no kind container or network may remain
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)
bash .ci/docker-env.sh
python -m pytest_jitera.cli bootstrap --air-gapped
python -m pytest -m e2e tests/e2e -p no:cacheprovider -rs "$@"
left=$(docker ps -aq --filter label=io.x-k8s.kind.cluster)
if [ -n "$left" ] || docker network ls --format '{{.Name}}' | grep -qx kind; then
    echo "e2e: kind leftovers remain:" >&2
    docker ps -a --filter label=io.x-k8s.kind.cluster >&2
    docker network ls >&2
    exit 1
fi
echo "e2e: done in $(( $(date +%s) - started ))s, no kind containers or networks left"
