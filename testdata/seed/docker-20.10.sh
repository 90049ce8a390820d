#!/usr/bin/env bash
# Regenerate docker-20.10.save: the rules Docker 20.10 installs on a host
# with the containers the post's DOCKER chain listing implies:
#   c1 172.17.0.2  docker run -p 8080:8080 -p 80:80 ...
#   c2 172.17.0.3  docker run -p 8000:80 ...
# The commands are replayed (scripts/lib/docker-iptables.sh) in a fresh
# network namespace with each backend; the saved result must be the same for
# both and must load back to itself. Needs root. See README.md.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../../scripts/lib/netns.sh"
. "$here/../../scripts/lib/docker-iptables.sh"
dfw_require_root_tools

docker2010_seed() {
	d2010_driver_start
	d2010_user_chain # "none" and "host" networks: controller.NewNetwork
	d2010_network docker0 172.17.0.0/16
	# c1: nat.SortPortMap orders the bindings by host port, highest first
	d2010_publish docker0 172.17.0.2 tcp 8080 8080
	d2010_publish docker0 172.17.0.2 tcp 80 80
	# c2
	d2010_publish docker0 172.17.0.3 tcp 8000 80
}

# impl1.sh calls it too
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	dfw_build "$here/docker-20.10.save" docker2010_seed
fi
