#!/usr/bin/env bash
# Regenerate the Docker layouts in this directory by replaying the iptables
# commands each Docker version issues (scripts/lib/docker-iptables.sh) in a
# fresh network namespace, once per backend (nft, legacy); both must agree,
# and each file must load back to itself with iptables-restore. Needs root.
#
# Host (see README.md):
#   docker0  172.17.0.0/16   c1 172.17.0.2  -p 8080:80
#                            c2 172.17.0.3  (no published port)
#   br-app   172.18.0.0/16   db 172.18.0.2  -p 5432:5432
# docker-20.10.save is a copy of ../seed/docker-20.10.save (the seed host).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../../scripts/lib/netns.sh"
. "$here/../../scripts/lib/docker-iptables.sh"
dfw_require_root_tools

two_bridges_2010() {
	d2010_driver_start
	d2010_user_chain # "none" and "host" networks
	d2010_network docker0 172.17.0.0/16
	d2010_network br-app 172.18.0.0/16 # docker network create -o com.docker.network.bridge.name=br-app
	d2010_publish docker0 172.17.0.2 tcp 8080 80
	d2010_publish br-app 172.18.0.2 tcp 5432 5432
}

two_bridges_28() {
	d28_daemon_start
	d28_network docker0 172.17.0.0/16
	d28_network br-app 172.18.0.0/16
	d28_endpoint docker0 172.17.0.2 # c1
	d28_publish docker0 172.17.0.2 tcp 8080 80
	d28_endpoint docker0 172.17.0.3 # c2
	d28_endpoint br-app 172.18.0.2  # db
	d28_publish br-app 172.18.0.2 tcp 5432 5432
}

cp "$here/../seed/docker-20.10.save" "$here/docker-20.10.save"
dfw_roundtrip "$here/docker-20.10.save"
dfw_build "$here/docker-20.10-two-bridges.save" two_bridges_2010
dfw_build "$here/docker-28.save" two_bridges_28
