# shellcheck shell=bash
# The iptables commands Docker issues, replayed in a network namespace.
#
# Source this file after netns.sh, set NS (namespace) and BACKEND (nft or
# legacy), then call the functions in the order the daemon would. Every
# function issues the same commands, with the same arguments in the same
# order, as the Docker version it is named after; the source each one was
# derived from is named above it (moby/moby tags; paths are relative to the
# repository root). No Docker code is copied: the commands were read off the
# source and written out as iptables calls.
#
# Checks Docker makes before a command ("-C" / "-n -L") are kept where they
# change the outcome (a rule that already exists is not added twice).

ipt() { ip netns exec "$NS" "iptables-$BACKEND" -w "$@"; }
ipt_quiet() { ipt "$@" >/dev/null 2>&1; }

# ---------------------------------------------------------------- Docker 20.10
# v20.10.12: vendor/github.com/docker/libnetwork/
#   drivers/bridge/setup_ip_tables.go  (setupIPChains, setupIPTables,
#                                       setupIPTablesInternal, setIcc, setINC)
#   drivers/bridge/setup_ip_forwarding.go (FORWARD policy DROP)
#   iptables/iptables.go               (NewChain, ProgramChain, Forward,
#                                       AddReturnRule, EnsureJumpRule)
#   firewall_linux.go                  (arrangeUserFilterRule, DOCKER-USER)
#   controller.go                      (NewNetwork calls arrangeUserFilterRule)
# Defaults: userland-proxy on (so no hairpin mode), icc on, ip-masq on.

# Bridge driver start: removeIPChains + setupIPChains + setupIPForwarding.
d2010_driver_start() {
	# removeIPChains (ChainInfo.Remove on each of Docker's chains); errors are
	# ignored by Docker, so they are here.
	ipt_quiet -t nat -D PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
	ipt_quiet -t nat -D OUTPUT -m addrtype --dst-type LOCAL ! --dst 127.0.0.0/8 -j DOCKER
	ipt_quiet -t nat -D OUTPUT -m addrtype --dst-type LOCAL -j DOCKER
	ipt_quiet -t nat -D PREROUTING
	ipt_quiet -t nat -D OUTPUT
	ipt_quiet -t nat -F DOCKER
	ipt_quiet -t nat -X DOCKER
	local c
	for c in DOCKER DOCKER-ISOLATION-STAGE-1 DOCKER-ISOLATION-STAGE-2; do
		ipt_quiet -t filter -F "$c"
		ipt_quiet -t filter -X "$c"
	done
	# setupIPChains
	ipt_quiet -t nat -n -L DOCKER || ipt -t nat -N DOCKER
	ipt_quiet -t filter -n -L DOCKER || ipt -t filter -N DOCKER
	ipt_quiet -t filter -n -L DOCKER-ISOLATION-STAGE-1 || ipt -t filter -N DOCKER-ISOLATION-STAGE-1
	ipt_quiet -t filter -n -L DOCKER-ISOLATION-STAGE-2 || ipt -t filter -N DOCKER-ISOLATION-STAGE-2
	ipt_quiet -t filter -C DOCKER-ISOLATION-STAGE-1 -j RETURN || ipt -A DOCKER-ISOLATION-STAGE-1 -j RETURN
	ipt_quiet -t filter -C DOCKER-ISOLATION-STAGE-2 -j RETURN || ipt -A DOCKER-ISOLATION-STAGE-2 -j RETURN
	# setupIPForwarding: net.ipv4.ip_forward was 0 and Docker turned it on,
	# so it sets the FORWARD policy to DROP (the usual case, and the post's).
	ipt -t filter -P FORWARD DROP
}

# arrangeUserFilterRule, run by controller.NewNetwork after every network.
d2010_user_chain() {
	ipt_quiet -t filter -n -L DOCKER-USER || ipt -t filter -N DOCKER-USER
	ipt_quiet -t filter -C DOCKER-USER -j RETURN || ipt -A DOCKER-USER -j RETURN
	if ipt_quiet -t filter -C FORWARD -j DOCKER-USER; then ipt -D FORWARD -j DOCKER-USER; fi
	ipt -I FORWARD -j DOCKER-USER
}

# d2010_network BRIDGE SUBNET: a bridge network is created (docker0 at daemon
# start, or `docker network create`).
d2010_network() {
	local br=$1 subnet=$2
	# setupIPTablesInternal(enable): NAT, SKIP DNAT, ICC, ACCEPT NON_ICC OUTGOING
	ipt_quiet -t nat -C POSTROUTING -s "$subnet" ! -o "$br" -j MASQUERADE ||
		ipt -t nat -I POSTROUTING -s "$subnet" ! -o "$br" -j MASQUERADE
	ipt_quiet -t nat -C DOCKER -i "$br" -j RETURN ||
		ipt -t nat -I DOCKER -i "$br" -j RETURN
	ipt_quiet -D FORWARD -i "$br" -o "$br" -j DROP
	ipt_quiet -t filter -C FORWARD -i "$br" -o "$br" -j ACCEPT ||
		ipt -I FORWARD -i "$br" -o "$br" -j ACCEPT
	ipt_quiet -t filter -C FORWARD -i "$br" ! -o "$br" -j ACCEPT ||
		ipt -I FORWARD -i "$br" ! -o "$br" -j ACCEPT
	# ProgramChain(nat chain)
	ipt_quiet -t nat -C PREROUTING -m addrtype --dst-type LOCAL -j DOCKER ||
		ipt -t nat -A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
	ipt_quiet -t nat -C OUTPUT -m addrtype --dst-type LOCAL -j DOCKER ! --dst 127.0.0.0/8 ||
		ipt -t nat -A OUTPUT -m addrtype --dst-type LOCAL -j DOCKER ! --dst 127.0.0.0/8
	# ProgramChain(filter chain): link and establish rules, both inserted
	ipt_quiet -t filter -C FORWARD -o "$br" -j DOCKER ||
		ipt -I FORWARD -o "$br" -j DOCKER
	ipt_quiet -t filter -C FORWARD -o "$br" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT ||
		ipt -I FORWARD -o "$br" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
	# EnsureJumpRule("FORWARD", DOCKER-ISOLATION-STAGE-1)
	if ipt_quiet -t filter -C FORWARD -j DOCKER-ISOLATION-STAGE-1; then
		ipt -D FORWARD -j DOCKER-ISOLATION-STAGE-1
	fi
	ipt -I FORWARD -j DOCKER-ISOLATION-STAGE-1
	# setupNetworkIsolationRules -> setINC(enable)
	ipt_quiet -t filter -C DOCKER-ISOLATION-STAGE-1 -i "$br" ! -o "$br" -j DOCKER-ISOLATION-STAGE-2 ||
		ipt -t filter -I DOCKER-ISOLATION-STAGE-1 -i "$br" ! -o "$br" -j DOCKER-ISOLATION-STAGE-2
	ipt_quiet -t filter -C DOCKER-ISOLATION-STAGE-2 -o "$br" -j DROP ||
		ipt -t filter -I DOCKER-ISOLATION-STAGE-2 -o "$br" -j DROP
	# controller.NewNetwork -> arrangeUserFilterRule
	d2010_user_chain
}

# d2010_network_cleanup BRIDGE SUBNET: the network's registered clean-up
# functions (used when the daemon deletes the stale default bridge on start).
d2010_network_cleanup() {
	local br=$1 subnet=$2
	ipt_quiet -t nat -D POSTROUTING -s "$subnet" ! -o "$br" -j MASQUERADE
	ipt_quiet -t nat -D DOCKER -i "$br" -j RETURN
	ipt_quiet -D FORWARD -i "$br" -o "$br" -j ACCEPT
	ipt_quiet -D FORWARD -i "$br" ! -o "$br" -j ACCEPT
	ipt_quiet -D FORWARD -o "$br" -j DOCKER
	ipt_quiet -D FORWARD -o "$br" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
	ipt_quiet -t filter -D DOCKER-ISOLATION-STAGE-1 -i "$br" ! -o "$br" -j DOCKER-ISOLATION-STAGE-2
	ipt_quiet -t filter -D DOCKER-ISOLATION-STAGE-2 -o "$br" -j DROP
}

# d2010_publish BRIDGE CONTAINER_IP PROTO HOST_PORT CONTAINER_PORT:
# portmapper.AppendForwardingTableEntry -> ChainInfo.Forward(Append, 0.0.0.0, ...)
d2010_publish() {
	local br=$1 cip=$2 proto=$3 hport=$4 cport=$5
	ipt_quiet -t nat -C DOCKER -p "$proto" -d 0/0 --dport "$hport" -j DNAT --to-destination "$cip:$cport" ! -i "$br" ||
		ipt -t nat -A DOCKER -p "$proto" -d 0/0 --dport "$hport" -j DNAT --to-destination "$cip:$cport" ! -i "$br"
	ipt_quiet -t filter -C DOCKER ! -i "$br" -o "$br" -p "$proto" -d "$cip" --dport "$cport" -j ACCEPT ||
		ipt -t filter -A DOCKER ! -i "$br" -o "$br" -p "$proto" -d "$cip" --dport "$cport" -j ACCEPT
	ipt_quiet -t nat -C POSTROUTING -p "$proto" -s "$cip" -d "$cip" --dport "$cport" -j MASQUERADE ||
		ipt -t nat -A POSTROUTING -p "$proto" -s "$cip" -d "$cip" --dport "$cport" -j MASQUERADE
}

# d2010_unpublish: the same with Delete (container stop).
d2010_unpublish() {
	local br=$1 cip=$2 proto=$3 hport=$4 cport=$5
	ipt_quiet -t nat -D DOCKER -p "$proto" -d 0/0 --dport "$hport" -j DNAT --to-destination "$cip:$cport" ! -i "$br"
	ipt_quiet -t filter -D DOCKER ! -i "$br" -o "$br" -p "$proto" -d "$cip" --dport "$cport" -j ACCEPT
	ipt_quiet -t nat -D POSTROUTING -p "$proto" -s "$cip" -d "$cip" --dport "$cport" -j MASQUERADE
}

# ------------------------------------------------------------------ Docker 28
# v28.5.2: libnetwork/drivers/bridge/internal/iptabler/
#   iptabler.go (NewIptabler, setupIPChains, FilterForwardDrop,
#                programChainRule = insert, appendOrDelChainRule = append)
#   network.go  (per-network rules: DOCKER-CT, DOCKER-BRIDGE, DOCKER-FORWARD,
#                isolation, DOCKER default DROP, NAT)
#   port.go     (setPerPortNAT, setPerPortForwarding)
#   endpoint.go (filterDirectAccess: raw PREROUTING DROP per endpoint)
# and the rule listings in integration/network/bridge/iptablesdoc/generated/
# {new-daemon,usernet-portmap}.md at the same tag, which show the resulting
# order. DOCKER-USER has no "-j RETURN" since v28.2.2 (commit "iptables: Drop
# explicit RETURN rule from DOCKER-USER"); the raw-table direct-routing DROP
# rules exist since v28.2.0 (per endpoint, not per port).

d28_daemon_start() {
	# setupIPChains: nat DOCKER first, then the filter chains
	ipt -t nat -N DOCKER
	local c
	for c in DOCKER DOCKER-FORWARD DOCKER-BRIDGE DOCKER-CT DOCKER-ISOLATION-STAGE-1 \
		DOCKER-ISOLATION-STAGE-2 DOCKER-USER; do
		ipt -t filter -N "$c"
	done
	ipt -A DOCKER-FORWARD -j DOCKER-CT
	ipt -A DOCKER-FORWARD -j DOCKER-ISOLATION-STAGE-1
	ipt -A DOCKER-FORWARD -j DOCKER-BRIDGE
	ipt -A FORWARD -j DOCKER-USER
	ipt -A FORWARD -j DOCKER-FORWARD
	ipt -t nat -A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
	ipt -t nat -A OUTPUT -m addrtype --dst-type LOCAL -j DOCKER ! --dst 127.0.0.0/8
	# FilterForwardDrop: Docker enabled ip_forward itself.
	ipt -t filter -P FORWARD DROP
}

# d28_network BRIDGE SUBNET
d28_network() {
	local br=$1 subnet=$2
	ipt -A DOCKER-CT -o "$br" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
	ipt -A DOCKER-BRIDGE -o "$br" -j DOCKER
	ipt -A DOCKER ! -i "$br" -o "$br" -j DROP
	ipt -t nat -I POSTROUTING -s "$subnet" ! -o "$br" -j MASQUERADE
	ipt -t nat -I DOCKER -i "$br" -j RETURN
	ipt -A DOCKER-FORWARD -i "$br" -j ACCEPT
	ipt -A DOCKER-ISOLATION-STAGE-1 -i "$br" ! -o "$br" -j DOCKER-ISOLATION-STAGE-2
	ipt -I DOCKER-ISOLATION-STAGE-2 -o "$br" -j DROP
}

# d28_endpoint BRIDGE CONTAINER_IP: a container joins the network.
d28_endpoint() {
	ipt -t raw -A PREROUTING -d "$2" ! -i "$1" -j DROP
}

# d28_publish BRIDGE CONTAINER_IP PROTO HOST_PORT CONTAINER_PORT
# (userland-proxy on, so no per-port MASQUERADE and "! -i BRIDGE" on DNAT)
d28_publish() {
	local br=$1 cip=$2 proto=$3 hport=$4 cport=$5
	ipt -t nat -A DOCKER -p "$proto" -d 0/0 --dport "$hport" -j DNAT --to-destination "$cip:$cport" ! -i "$br"
	ipt -t filter -I DOCKER ! -i "$br" -o "$br" -p "$proto" -d "$cip" --dport "$cport" -j ACCEPT
}
