#!/usr/bin/env bash
# One command from a fresh clone to a finished rehearsal on the embedded reference stack:
#   installs the package into its own virtualenv (a plain, non-editable install, as a user has),
#   provides kind, helm and kubectl (official release binaries, checksum-verified; or built
#   from source with --air-gapped, together with the node and datastore images),
#   then runs the headline command from an empty folder.
#
#   bash examples/rehearse.sh [--air-gapped] [FROM [TO [PYTEST-OPTION ...]]]
#                                                     (default: v24.05.01 v24.06.01)
#   e.g. bash examples/rehearse.sh v24.06.01 v24.07.01 --jitera-rollback-strategy=both
#
# Needs Python 3.11+ and a running Docker daemon. The report lands in ./jitera-rehearsal/.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
air_gapped=()
if [ "${1:-}" = "--air-gapped" ]; then
    air_gapped=(--air-gapped)
    shift
fi
from=${1:-v24.05.01}
to=${2:-v24.06.01}
shift $(( $# < 2 ? $# : 2 ))

if ! docker info >/dev/null 2>&1; then
    echo "rehearse: no Docker daemon answers; start one (kind runs the cluster in containers)" >&2
    exit 2
fi

venv=${JITERA_VENV:-$here/.venv-rehearsal}
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$here"

"$venv/bin/pytest-jitera" bootstrap "${air_gapped[@]}"

work=$(pwd)/jitera-rehearsal
rm -rf "$work"
mkdir -p "$work"
cd "$work"
flags=()
if [ ${#air_gapped[@]} -gt 0 ]; then
    flags=(--jitera-air-gapped)
fi
exec "$venv/bin/pytest" -p no:cacheprovider "--jitera-from=$from" "--jitera-to=$to" "${flags[@]}" \
    --junitxml=junit.xml "$@"
