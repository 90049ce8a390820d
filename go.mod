module github.com/dfw-project/dfw

go 1.26.0

require (
	github.com/gopacket/gopacket v1.7.7 // indirect
	github.com/rogpeppe/go-internal v1.16.0 // indirect
	github.com/spf13/pflag v1.1.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
)

require golang.org/x/tools v0.26.0 // indirect
