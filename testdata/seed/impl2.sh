#!/usr/bin/env bash
# Regenerate impl2.save: the state after "实现2" (implementation 2) of the
# seed post: `iptables-restore -n /etc/iptables.conf` (iptables.conf here) on
# top of Docker 20.10's rules (docker-20.10.save), run in a fresh network
# namespace with each backend (both must agree). Needs root. See README.md.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../../scripts/lib/netns.sh"
. "$here/../../scripts/lib/docker-iptables.sh"
dfw_require_root_tools

impl2() {
	ip netns exec "$NS" "iptables-$BACKEND-restore" <"$here/docker-20.10.save"
	ip netns exec "$NS" "iptables-$BACKEND-restore" -n "$here/iptables.conf"
}

dfw_build "$here/impl2.save" impl2
