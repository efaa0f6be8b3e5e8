#!/bin/bash
# Installed in the kube-proxy and network-daemon images as iptables, iptables-save, ... so that
# they use the same backend (legacy or nft) as the node, whichever already holds rules.
set -euo pipefail
name=$(basename "$0")
mode_file=/run/jitera-iptables-mode
if [ -s "$mode_file" ]; then
    mode=$(cat "$mode_file")
else
    legacy=$( (/usr/sbin/iptables-legacy-save; /usr/sbin/ip6tables-legacy-save) 2>/dev/null | grep -c '^-' || true)
    nft=$( (timeout 5 /usr/sbin/iptables-nft-save; timeout 5 /usr/sbin/ip6tables-nft-save) 2>/dev/null | grep -c '^-' || true)
    if [ "${legacy:-0}" -gt "${nft:-0}" ]; then mode=legacy; else mode=nft; fi
    echo "$mode" >"$mode_file" 2>/dev/null || true
fi
case "$name" in
    iptables|ip6tables) exec "/usr/sbin/$name-$mode" "$@" ;;
    *) exec "/usr/sbin/${name%%-*}-$mode-${name#*-}" "$@" ;;
esac
