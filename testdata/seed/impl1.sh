#!/usr/bin/env bash
# Regenerate impl1.save: the state "实现1" (implementation 1) of the seed post
# leaves behind, produced by running its commands with iptables in a fresh
# network namespace (each backend in its own namespace; both must agree).
#
#   0. Docker 20.10 is running: docker-20.10.save is loaded.
#   1. the post's "系统的规则" commands (filter table only: -F/-X/-Z remove
#      Docker's filter chains; nat is untouched).
#   2. `systemctl restart docker`: the containers stop (their port rules are
#      deleted), the daemon starts again and re-creates its chains, the default
#      bridge network and the containers' port rules, with the iptables
#      commands Docker 20.10 issues (scripts/lib/docker-iptables.sh).
#   3. the post's DOCKER-USER commands, in the post's order.
# `service iptables save` only writes /etc/sysconfig/iptables and does not
# change the running rules; it is left out. Needs root. See README.md.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../../scripts/lib/netns.sh"
. "$here/../../scripts/lib/docker-iptables.sh"
dfw_require_root_tools

impl1() {
	# 0. Docker's rules as they are before the user starts
	ip netns exec "$NS" "iptables-$BACKEND-restore" <"$here/docker-20.10.save"

	# 1. 系统的规则
	ipt -P INPUT ACCEPT
	ipt -F
	ipt -X
	ipt -Z
	ipt -A INPUT -p tcp -m multiport --dport 22 -j ACCEPT
	ipt -A INPUT -p icmp -j ACCEPT
	ipt -A INPUT -m state --state ESTABLISHED,RELATED -j ACCEPT
	ipt -P INPUT DROP
	ipt -P OUTPUT ACCEPT

	# 2. systemctl restart docker
	#    stop: each container's port mappings are removed
	d2010_unpublish docker0 172.17.0.2 tcp 8080 8080
	d2010_unpublish docker0 172.17.0.2 tcp 80 80
	d2010_unpublish docker0 172.17.0.3 tcp 8000 80
	#    start: driver init, stale default bridge deleted and re-created,
	#    containers started again (restart policy)
	d2010_driver_start
	d2010_network_cleanup docker0 172.17.0.0/16
	d2010_network docker0 172.17.0.0/16
	d2010_publish docker0 172.17.0.2 tcp 8080 8080
	d2010_publish docker0 172.17.0.2 tcp 80 80
	d2010_publish docker0 172.17.0.3 tcp 8000 80

	# 3. DOCKER-USER 链的规则 (verbatim, in the post's order)
	ipt -I DOCKER-USER -i ens33 ! -s 127.0.0.1 -j DROP
	ipt -I DOCKER-USER -m state --state established,related -j ACCEPT
	ipt -A DOCKER-USER -m conntrack --ctstate established,related -j ACCEPT
	ipt -I DOCKER-USER -p tcp -m conntrack --ctorigdstport 80 -j ACCEPT
	ipt -I DOCKER-USER -p tcp -m conntrack --ctorigdstport 443 -j ACCEPT
}

dfw_build "$here/impl1.save" impl1
