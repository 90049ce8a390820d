package dfw.docker.flushes_docker_chains_test

import data.dfw.docker.flushes_docker_chains

cmd(op, table, chain, noflush) := {
	"file": "f.conf", "line": 3, "column": 1, "file_index": 1,
	"op": op, "table": table, "chain": chain, "noflush": noflush, "text": "",
}

test_flush_docker_chain if {
	fs := flushes_docker_chains.findings with input as {"commands": [cmd("flush", "filter", "DOCKER", false)], "docker": {"chains": []}}
	count(fs) == 1
	some f in fs
	f.line == 3
	contains(f.msg, "DOCKER")
}

test_declare_under_noflush if {
	fs := flushes_docker_chains.findings with input as {"commands": [cmd("chain", "nat", "DOCKER", true)], "docker": {"chains": []}}
	count(fs) == 1
}

test_declare_in_first_file_is_a_dump if {
	fs := flushes_docker_chains.findings with input as {"commands": [cmd("chain", "filter", "DOCKER", false)], "docker": {"chains": ["filter/DOCKER"]}}
	count(fs) == 0
}

test_docker_user_is_the_users if {
	fs := flushes_docker_chains.findings with input as {"commands": [cmd("chain", "filter", "DOCKER-USER", true), cmd("flush", "filter", "DOCKER-USER", true)], "docker": {"chains": []}}
	count(fs) == 0
}

test_whole_table_flush_with_docker if {
	fs := flushes_docker_chains.findings with input as {"commands": [cmd("flush", "filter", "", false)], "docker": {"chains": ["filter/DOCKER"]}}
	count(fs) == 1
}

test_whole_table_flush_without_docker if {
	fs := flushes_docker_chains.findings with input as {"commands": [cmd("flush", "filter", "", false)], "docker": {"chains": []}}
	count(fs) == 0
}

test_nat_only_chain_names if {
	fs := flushes_docker_chains.findings with input as {"commands": [cmd("flush", "nat", "DOCKER-ISOLATION-STAGE-1", true)], "docker": {"chains": []}}
	count(fs) == 0
}
