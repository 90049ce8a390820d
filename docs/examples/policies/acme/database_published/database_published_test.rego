package acme.database_published_test

import data.acme.database_published

mapping(host_addr, port) := {
	"proto": "tcp", "host_port": port, "host_port_hi": port, "host_addr": host_addr,
	"container_addr": "172.18.0.2", "container_port": port, "container_port_hi": port,
	"bridge": "br-app",
	"dnat": {"file": "live.save", "line": 52, "column": 1, "table": "nat", "chain": "DOCKER", "rule": 4, "id": "nat/DOCKER/4", "goto": false},
}

test_postgres_on_every_address if {
	fs := database_published.findings with input as {"docker": {"published": [mapping("", 5432)]}}
	count(fs) == 1
	some f in fs
	f.line == 52
	contains(f.msg, "PostgreSQL")
}

test_postgres_on_loopback_is_fine if {
	fs := database_published.findings with input as {"docker": {"published": [mapping("127.0.0.1", 5432)]}}
	count(fs) == 0
}

test_web_port_is_fine if {
	fs := database_published.findings with input as {"docker": {"published": [mapping("", 8080)]}}
	count(fs) == 0
}
