#!/bin/bash
# pytest-jitera's node network daemon: the job kind's kindnetd does, in a shell loop, because
# kindnetd cannot be built from the Go module proxy. For its own node it writes a CNI config
# (ptp + host-local over the node's podCIDR, portmap for hostPorts); it routes other nodes'
# pod ranges through their InternalIP, and masquerades pod traffic leaving the pod network.
set -euo pipefail

: "${NODE_NAME:?NODE_NAME must come from the downward API}"
: "${POD_SUBNET:?POD_SUBNET must be set by the CNI manifest}"
CONF=/etc/cni/net.d/10-jitera.conflist
SA=/var/run/secrets/kubernetes.io/serviceaccount
KUBECONFIG=/tmp/netd.kubeconfig
export KUBECONFIG

if [ -n "${CONTROL_PLANE_ENDPOINT:-}" ]; then
    server="https://$CONTROL_PLANE_ENDPOINT"
else
    server="https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT"
fi
# The token goes into a file, never onto a command line where `ps` would show it.
umask 077
cat >"$KUBECONFIG" <<KC
apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "$server", certificate-authority: $SA/ca.crt}}]
users: [{name: u, user: {tokenFile: $SA/token}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
KC

log() { echo "$(date -u +%H:%M:%S) $*"; }

ensure_masquerade() {
    iptables -t nat -N JITERA-MASQ 2>/dev/null || true
    iptables -t nat -C POSTROUTING -m comment --comment "jitera pod masquerade" -j JITERA-MASQ 2>/dev/null \
        || iptables -t nat -A POSTROUTING -m comment --comment "jitera pod masquerade" -j JITERA-MASQ
    iptables -t nat -C JITERA-MASQ -d "$POD_SUBNET" -j RETURN 2>/dev/null \
        || iptables -t nat -A JITERA-MASQ -d "$POD_SUBNET" -j RETURN
    iptables -t nat -C JITERA-MASQ -s "$POD_SUBNET" -j MASQUERADE 2>/dev/null \
        || iptables -t nat -A JITERA-MASQ -s "$POD_SUBNET" -j MASQUERADE
}

write_conf() {
    local cidr=$1 tmp
    tmp=$(mktemp /etc/cni/net.d/.jitera.XXXXXX)
    cat >"$tmp" <<JSON
{
  "cniVersion": "0.4.0",
  "name": "jitera",
  "plugins": [
    {
      "type": "ptp",
      "ipMasq": false,
      "mtu": 1500,
      "ipam": {
        "type": "host-local",
        "dataDir": "/run/cni-ipam-state",
        "routes": [{"dst": "0.0.0.0/0"}],
        "ranges": [[{"subnet": "$cidr"}]]
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
JSON
    chmod 0644 "$tmp"
    if cmp -s "$tmp" "$CONF"; then rm -f "$tmp"; else mv -f "$tmp" "$CONF"; log "wrote $CONF for $cidr"; fi
}

sync_once() {
    local name cidr ip own=""
    while read -r name cidr ip; do
        [ -n "$cidr" ] || continue
        if [ "$name" = "$NODE_NAME" ]; then
            own=$cidr
        elif [ -n "$ip" ]; then
            ip route replace "$cidr" via "$ip" 2>/dev/null || log "route to $cidr via $ip failed"
        fi
    done < <(kubectl get nodes -o jsonpath='{range .items[*]}{.metadata.name}{" "}{.spec.podCIDR}{" "}{.status.addresses[?(@.type=="InternalIP")].address}{"\n"}{end}')
    if [ -n "$own" ]; then
        write_conf "$own"
    else
        log "node $NODE_NAME has no podCIDR yet"
    fi
}

log "jitera-netd on $NODE_NAME, pod subnet $POD_SUBNET, API $server"
ensure_masquerade
while true; do
    sync_once || log "sync failed; retrying"
    sleep "${SYNC_SECONDS:-10}"
done
