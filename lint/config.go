package lint

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/dfw-project/dfw/lint/facts"
)

// Config is .dfwlint.yaml:
//
//	external_interfaces: [ens33, ens34]   # else inferred from the rules
//	allowed_exposed:                      # exposures that are intended
//	  - proto: tcp
//	    ports: [443, "8000-8100"]
//	    sources: [0.0.0.0/0]              # optional: any source
//	    interface: ens33                  # optional: any interface
//	disabled: [DFW303, icmp-any]          # IDs or names
//	severity:                             # overrides: error, warning, info
//	  DFW201: error
//
// Unknown keys are errors.
type Config struct {
	ExternalInterfaces []string          `yaml:"external_interfaces"`
	AllowedExposed     []AllowedExposure `yaml:"allowed_exposed"`
	Disabled           []string          `yaml:"disabled"`
	Severity           map[string]string `yaml:"severity"`
}

// AllowedExposure is one entry of allowed_exposed.
type AllowedExposure struct {
	Proto     string     `yaml:"proto"`
	Ports     []PortSpec `yaml:"ports"`
	Sources   []string   `yaml:"sources"`
	Interface string     `yaml:"interface"`
}

// PortSpec is a port (443) or a range ("8000-8100" or "8000:8100").
type PortSpec struct{ Lo, Hi int }

// UnmarshalYAML reads a port or a range.
func (p *PortSpec) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: a port is a number or a range \"lo-hi\"", n.Line)
	}
	s := n.Value
	lo, hi, isRange := strings.Cut(strings.ReplaceAll(s, ":", "-"), "-")
	a, err1 := strconv.Atoi(strings.TrimSpace(lo))
	b := a
	var err2 error
	if isRange {
		b, err2 = strconv.Atoi(strings.TrimSpace(hi))
	}
	if err1 != nil || err2 != nil || a < 0 || b > 65535 || a > b {
		return fmt.Errorf("line %d: %q is not a port or a port range (expected 443 or \"8000-8100\")", n.Line, s)
	}
	p.Lo, p.Hi = a, b
	return nil
}

// LoadConfig reads a .dfwlint.yaml file.
func LoadConfig(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseConfig(path, b)
}

// ParseConfig parses .dfwlint.yaml text strictly: unknown keys, bad
// severities, bad ports and bad prefixes are errors naming the file.
func ParseConfig(name string, data []byte) (*Config, error) {
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return nil, yamlError(name, err)
	}
	for id, s := range c.Severity {
		if s != "error" && s != "warning" && s != "info" {
			return nil, fmt.Errorf("%s: severity of %s: %q (expected error, warning or info)", name, id, s)
		}
	}
	for i, a := range c.AllowedExposed {
		switch a.Proto {
		case "", "tcp", "udp", "sctp", "icmp":
		default:
			return nil, fmt.Errorf("%s: allowed_exposed[%d]: proto %q (expected tcp, udp, sctp or icmp)", name, i, a.Proto)
		}
		for _, s := range a.Sources {
			if _, err := netip.ParsePrefix(s); err != nil {
				if _, err := netip.ParseAddr(s); err != nil {
					return nil, fmt.Errorf("%s: allowed_exposed[%d]: source %q is not an address or a prefix", name, i, s)
				}
			}
		}
	}
	return &c, nil
}

// yamlError writes the decoder's errors as name:line: message, one a
// line, and an unknown key with the keys expected there.
func yamlError(name string, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	msg = strings.TrimPrefix(msg, "unmarshal errors:\n")
	var out []string
	for _, l := range strings.Split(msg, "\n") {
		l = strings.TrimSpace(l)
		if l == "" {
			continue
		}
		if m := yamlLine.FindStringSubmatch(l); m != nil {
			l = name + ":" + m[1] + ": " + m[2]
		} else {
			l = name + ": " + l
		}
		if m := yamlUnknown.FindStringSubmatch(l); m != nil {
			l = m[1] + "unknown key " + m[2]
			if keys := configKeys[m[3]]; keys != "" {
				l += " (expected " + keys + ")"
			}
		}
		out = append(out, l)
	}
	return errors.New(strings.Join(out, "\n"))
}

var (
	yamlLine    = regexp.MustCompile(`^line (\d+): (.*)$`)
	yamlUnknown = regexp.MustCompile(`^(.*)field (\S+) not found in type lint\.(\w+)$`)
	configKeys  = map[string]string{
		"Config":          "external_interfaces, allowed_exposed, disabled or severity",
		"AllowedExposure": "proto, ports, sources or interface",
	}
)

func (c *Config) disabled(id, name string) bool {
	for _, d := range c.Disabled {
		if d == id || d == name {
			return true
		}
	}
	return false
}

func (c *Config) severity(id, name string) string {
	if s := c.Severity[id]; s != "" {
		return s
	}
	return c.Severity[name]
}

func (c *Config) policyConfig() facts.Config {
	out := facts.Config{AllowedExposed: []facts.Allowed{}}
	for _, a := range c.AllowedExposed {
		al := facts.Allowed{Proto: a.Proto, Ports: [][2]int{}, Sources: a.Sources, Interface: a.Interface}
		if al.Sources == nil {
			al.Sources = []string{}
		}
		for _, p := range a.Ports {
			al.Ports = append(al.Ports, [2]int{p.Lo, p.Hi})
		}
		out.AllowedExposed = append(out.AllowedExposed, al)
	}
	return out
}
