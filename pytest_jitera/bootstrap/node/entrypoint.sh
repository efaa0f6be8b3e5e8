#!/usr/bin/env bash
# Entrypoint of pytest-jitera's offline kind node image. Written for this project; it prepares a
# privileged container so that systemd, containerd and the kubelet behave as on a real node,
# then hands PID 1 to the command (systemd).
#
# kind waits for the line "detected cgroup v1" or systemd's "Reached target Multi-User System"
# in the container log before it goes on, so the cgroup step always reports which one it saw.
set -o errexit -o nounset -o pipefail

note() { echo "INFO: $*" >&2; }
warn() { echo "WARN: $*" >&2; }

# Docker mounts some paths read-only or private; systemd and kubelet need shared mounts.
prepare_mounts() {
    mount --make-rshared / || warn "could not make / shared"
    # /sys is read-only in some runtimes even for privileged containers.
    if ! touch /sys/.jitera-rw 2>/dev/null; then
        mount -o remount,rw /sys || warn "could not remount /sys read-write"
    fi
    rm -f /sys/.jitera-rw 2>/dev/null || true
    # Kind nodes run on a docker volume at /var; make sure containerd's state lives there.
    mkdir -p /var/lib/containerd /var/lib/kubelet /lib/modules
}

# containerd's overlayfs snapshotter needs /var/lib/containerd on a filesystem that can be an
# overlay lower/upper (not overlay itself); otherwise fall back to the native snapshotter.
choose_snapshotter() {
    local fstype snapshotter=overlayfs
    fstype=$(stat -f -c %T /var/lib/containerd 2>/dev/null || echo unknown)
    if [ "$fstype" = overlayfs ] || [ "$fstype" = "overlay" ]; then
        snapshotter=native
    fi
    if [ -n "${KIND_EXPERIMENTAL_CONTAINERD_SNAPSHOTTER:-}" ]; then
        snapshotter=$KIND_EXPERIMENTAL_CONTAINERD_SNAPSHOTTER
    fi
    note "containerd snapshotter: $snapshotter (/var/lib/containerd is $fstype)"
    sed -i "s/^\(\s*snapshotter\s*=\s*\).*/\1\"$snapshotter\"/" /etc/containerd/config.toml
}

# Lowering a process's oom_score_adj needs CAP_SYS_RESOURCE. Where the node does not have it
# (a sandbox whose bounding set lacks it), containerd must clamp the kubelet's negative
# oom_score_adj requests to its own value, or runc fails to start every pod sandbox.
fit_oom_score_adj() {
    local bnd
    bnd=$(awk '/^CapBnd:/ {print $2}' /proc/self/status)
    if [ -n "$bnd" ] && (( ((16#$bnd) >> 24) & 1 )); then
        return 0
    fi
    note "CAP_SYS_RESOURCE not available: containerd will restrict oom_score_adj"
    sed -i 's/^\(\s*restrict_oom_score_adj\s*=\s*\).*/\1true/' /etc/containerd/config.toml
}

# On cgroup v1 with a private cgroup namespace the node sees its own cgroup as "/". The kubelet
# runs with cgroupRoot=/kubelet (kubelet.slice with the systemd driver); those cgroups are
# created and bind-mounted onto themselves in every hierarchy so systemd does not remove them.
prepare_cgroups() {
    if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
        note "detected cgroup v2"
        return 0
    fi
    note "detected cgroup v1"
    local own
    own=$(awk -F: '$2 ~ /(^|,)cpu(,|$)/ {print $3; exit}' /proc/self/cgroup)
    if [ "$own" != "/" ]; then
        warn "no private cgroup namespace (cpu cgroup is $own); kind needs --cgroupns=private"
    fi
    # The misc controller is unknown to older runc in nested setups; hide it.
    if [ -d /sys/fs/cgroup/misc ]; then
        umount /sys/fs/cgroup/misc 2>/dev/null && rmdir /sys/fs/cgroup/misc 2>/dev/null || true
        grep -v '^misc' /proc/cgroups >/kind/cgroups-without-misc || true
        mount --bind /kind/cgroups-without-misc /proc/cgroups || true
    fi
    mount --make-rprivate /sys/fs/cgroup || true
    local hierarchy dir
    for hierarchy in $(findmnt -lun -o target -t cgroup); do
        for dir in kubelet kubelet.slice; do
            pin_cgroup "$hierarchy" "$dir" || warn "could not prepare $hierarchy/$dir"
        done
    done
}

pin_cgroup() {
    local hierarchy=$1 dir=$2
    mkdir -p "$hierarchy/$dir"
    if [ "$(basename "$hierarchy")" = cpuset ]; then
        cat "$hierarchy/cpuset.cpus" >"$hierarchy/$dir/cpuset.cpus"
        cat "$hierarchy/cpuset.mems" >"$hierarchy/$dir/cpuset.mems"
    fi
    findmnt "$hierarchy/$dir" >/dev/null || mount --bind "$hierarchy/$dir" "$hierarchy/$dir"
}

# Every node must look like a different machine to the kubelet.
prepare_identity() {
    rm -f /etc/machine-id
    systemd-machine-id-setup >/dev/null 2>&1 || cat /proc/sys/kernel/random/uuid | tr -d - >/etc/machine-id
    [ -f /kind/product_uuid ] || cat /proc/sys/kernel/random/uuid >/kind/product_uuid
    local f
    for f in /sys/class/dmi/id/product_uuid /sys/devices/virtual/dmi/id/product_uuid; do
        [ -f "$f" ] && mount -o ro,bind /kind/product_uuid "$f" || true
    done
    if [ -f /sys/class/dmi/id/product_name ]; then
        echo kind >/kind/product_name
        mount -o ro,bind /kind/product_name /sys/class/dmi/id/product_name || true
    fi
}

# Use whichever iptables backend already holds rules (Docker writes its DNS rules into the
# node's namespace with the host's backend); kube-proxy and the CNI follow the node's choice.
choose_iptables() {
    local legacy nft mode
    legacy=$( (iptables-legacy-save; ip6tables-legacy-save) 2>/dev/null | grep -c '^-' || true)
    nft=$( (timeout 5 iptables-nft-save; timeout 5 ip6tables-nft-save) 2>/dev/null | grep -c '^-' || true)
    if [ "${legacy:-0}" -gt "${nft:-0}" ]; then mode=legacy; else mode=nft; fi
    note "iptables backend: $mode (legacy rules: ${legacy:-0}, nft rules: ${nft:-0})"
    update-alternatives --set iptables "/usr/sbin/iptables-$mode" >/dev/null
    update-alternatives --set ip6tables "/usr/sbin/ip6tables-$mode" >/dev/null
    echo "$mode" >/kind/iptables-mode
}

# Docker's embedded DNS answers only on 127.0.0.11 inside this namespace, which pods cannot
# reach. Redirect DNS sent to the node's gateway address to it, and point resolv.conf there,
# so CoreDNS (dnsPolicy Default) inherits a resolver that works from pod namespaces too.
fix_dns() {
    grep -q '^nameserver 127.0.0.11' /etc/resolv.conf 2>/dev/null || return 0
    local gw
    gw=$(ip -4 route show default | awk '{print $3; exit}')
    [ -n "$gw" ] || return 0
    iptables-save | sed \
        -e "s/-d 127.0.0.11\/32/-d $gw\/32/g" \
        -e 's/^-A OUTPUT \(.*\) -j DOCKER_OUTPUT$/&\n-A PREROUTING \1 -j DOCKER_OUTPUT/' \
        -e "s/--to-source :53/--to-source $gw:53/g" \
        | iptables-restore || { warn "could not rewrite docker DNS rules"; return 0; }
    sed "s/^nameserver 127.0.0.11/nameserver $gw/" /etc/resolv.conf >/kind/resolv.conf
    cat /kind/resolv.conf >/etc/resolv.conf
    note "DNS: docker's resolver reachable via $gw"
}

mkdir -p /kind
prepare_mounts
choose_snapshotter
fit_oom_score_adj
prepare_cgroups
prepare_identity
choose_iptables
fix_dns
note "starting $*"
exec "$@"
