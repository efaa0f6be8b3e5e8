#!/usr/bin/env bash
# Make a Docker image from a fresh `debootstrap --variant=minbase` Debian tree, so no registry
# is needed for base images. Usage: rootfs-image.sh TAG WORKDIR SUITE [PKG,PKG,...]
# The debootstrap package cache lives under WORKDIR/../debootstrap-cache and is reused.
set -euo pipefail
tag=$1 workdir=$2 suite=$3 include=${4:-}
mirror=${JITERA_DEBIAN_MIRROR:-http://deb.debian.org/debian}
root="$workdir/rootfs"
cache="$(dirname "$workdir")/debootstrap-cache"
mkdir -p "$workdir" "$cache"
rm -rf "$root"
args=(--variant=minbase --cache-dir="$cache")
[ -n "$include" ] && args+=(--include="$include")
echo "debootstrap $suite${include:+ with $include}"
debootstrap "${args[@]}" "$suite" "$root" "$mirror" >"$workdir/debootstrap.log" 2>&1 \
    || { tail -30 "$workdir/debootstrap.log" >&2; exit 1; }
# Trim what a slim image leaves out; keep dpkg's database so apt still works inside.
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb \
       "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* \
       "$root"/var/log/*.log "$root"/tmp/* || true
printf 'deb %s %s main\ndeb %s %s-updates main\n' "$mirror" "$suite" "$mirror" "$suite" \
    >"$root/etc/apt/sources.list"
: >"$root/etc/machine-id"
echo "docker import as $tag"
tar --numeric-owner -C "$root" -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["bash"]' \
    --message "pytest-jitera rootfs-image $suite" - "$tag" >/dev/null
rm -rf "$root"
echo "built $tag"
