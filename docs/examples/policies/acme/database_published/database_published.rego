# METADATA
# title: Docker publishes a database port on every address
# description: |
#   A database port (PostgreSQL 5432, MySQL 3306, Redis 6379, MongoDB
#   27017) published by Docker on every address of the host is reachable
#   from outside: Docker's DNAT sends it to FORWARD, around INPUT. Publish
#   it on 127.0.0.1 (-p 127.0.0.1:5432:5432), or not at all (a network
#   shared with the application's container).
#
#   Reported at the DNAT rule of the mapping.
# related_resources:
#   - ref: https://docs.docker.com/engine/network/#published-ports
# custom:
#   id: ACME001
#   name: database-published
#   severity: error
package acme.database_published

import data.dfw.lib

databases := {5432: "PostgreSQL", 3306: "MySQL", 6379: "Redis", 27017: "MongoDB"}

findings contains f if {
	some p in input.docker.published
	not loopback(p.host_addr)
	some port, name in databases
	p.container_port <= port
	port <= p.container_port_hi
	f := {
		"msg": sprintf("Docker publishes %s (%s/%d) on every address as %s/%d: publish it on 127.0.0.1 or not at all", [name, p.proto, port, p.proto, p.host_port]),
		"file": p.dnat.file,
		"line": p.dnat.line,
		"column": p.dnat.column,
		"related": [lib.at(p.dnat, "the DNAT rule of the mapping")],
	}
}

loopback(addr) if startswith(addr, "127.")
