package lint

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode"

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
// Unknown keys are errors, and so are bad values and a check named in
// disabled or severity that does not exist (found by the linter, which
// knows the user's policies too).
type Config struct {
	ExternalInterfaces []string          `yaml:"external_interfaces"`
	AllowedExposed     []AllowedExposure `yaml:"allowed_exposed"`
	Disabled           []string          `yaml:"disabled"`
	Severity           map[string]string `yaml:"severity"`

	// name is the file's name; disLines and sevLines are the positions
	// of the entries of disabled and of the keys of severity, for the
	// errors only the linter can find (a check that does not exist).
	name     string
	disLines []yamlPos
	sevLines map[string]yamlPos
}

// yamlPos is a line and column in the configuration file.
type yamlPos struct{ line, col int }

func posOf(n *yaml.Node) yamlPos { return yamlPos{n.Line, n.Column} }

// at is "name:line:col", or name alone for no position.
func at(name string, p yamlPos) string {
	if p.line == 0 {
		return name
	}
	return name + ":" + strconv.Itoa(p.line) + ":" + strconv.Itoa(p.col)
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
		return fmt.Errorf("line %d: column %d: a port is a number or a range \"lo-hi\"", n.Line, n.Column)
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
		return fmt.Errorf("line %d: column %d: %q is not a port or a port range (expected 443 or \"8000-8100\")", n.Line, n.Column, s)
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
// severities, bad ports and bad prefixes are errors naming the file, the
// line and the column.
func ParseConfig(name string, data []byte) (*Config, error) {
	c := Config{name: name, sevLines: map[string]yamlPos{}}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return nil, yamlError(name, err)
	}
	// The same text as a tree, for the lines of the values checked here.
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, yamlError(name, err)
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		root = root.Content[0]
	}
	where := func(n *yaml.Node) string {
		if n == nil {
			return name
		}
		return at(name, posOf(n))
	}
	var ifaces []*yaml.Node
	if n := mapValue(root, "external_interfaces"); n != nil && n.Kind == yaml.SequenceNode {
		ifaces = n.Content
	}
	for i, name := range c.ExternalInterfaces {
		if err := CheckIfaceName(name); err != nil {
			var n *yaml.Node
			if i < len(ifaces) {
				n = ifaces[i]
			}
			return nil, fmt.Errorf("%s: external_interfaces: %v", where(n), err)
		}
	}
	if sev := mapValue(root, "severity"); sev != nil && sev.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(sev.Content); i += 2 {
			k, v := sev.Content[i], sev.Content[i+1]
			c.sevLines[k.Value] = posOf(k)
			if s := v.Value; s != "error" && s != "warning" && s != "info" {
				return nil, fmt.Errorf("%s: severity of %s: %q (expected error, warning or info)", where(v), k.Value, s)
			}
		}
	}
	if dis := mapValue(root, "disabled"); dis != nil && dis.Kind == yaml.SequenceNode {
		for _, n := range dis.Content {
			c.disLines = append(c.disLines, posOf(n))
		}
	}
	var allowed []*yaml.Node
	if al := mapValue(root, "allowed_exposed"); al != nil && al.Kind == yaml.SequenceNode {
		allowed = al.Content
	}
	for i, a := range c.AllowedExposed {
		var entry *yaml.Node
		if i < len(allowed) {
			entry = allowed[i]
		}
		switch a.Proto {
		case "", "tcp", "udp", "sctp", "icmp":
		default:
			return nil, fmt.Errorf("%s: allowed_exposed[%d]: proto %q (expected tcp, udp, sctp or icmp)", where(mapValue(entry, "proto")), i, a.Proto)
		}
		var srcs []*yaml.Node
		if n := mapValue(entry, "sources"); n != nil && n.Kind == yaml.SequenceNode {
			srcs = n.Content
		}
		for j, s := range a.Sources {
			if _, err := netip.ParsePrefix(s); err != nil {
				if _, err := netip.ParseAddr(s); err != nil {
					var n *yaml.Node
					if j < len(srcs) {
						n = srcs[j]
					}
					return nil, fmt.Errorf("%s: allowed_exposed[%d]: source %q is not an address or a prefix (expected 203.0.113.7 or 203.0.113.0/24)", where(n), i, s)
				}
			}
		}
	}
	return &c, nil
}

// CheckIfaceName reports a name Linux would not give an interface (the
// kernel's dev_valid_name: 1 to 15 bytes, not "." or "..", no '/', ':' or
// white space), with what was expected; a trailing '+' (a wildcard, as in
// -i eth+) is allowed.
func CheckIfaceName(name string) error {
	base := strings.TrimSuffix(name, "+")
	bad := base == "" && name == "" || len(name) > 15 || base == "." || base == ".." ||
		strings.ContainsAny(name, "/:") || strings.IndexFunc(name, unicode.IsSpace) >= 0
	if bad {
		return fmt.Errorf("%q is not an interface name (expected 1 to 15 characters without '/', ':' or spaces, such as ens33 or eth+; give several interfaces as several entries)", name)
	}
	return nil
}

// mapValue is the value of key in the mapping n, nil when there is none.
func mapValue(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// checkNames reports the entries of disabled and the keys of severity
// that name no check (by ID or name) of ps, nor DFW001 parse-warning: a
// typo there would silently disable or re-rank nothing.
func (c *Config) checkNames(ps []Policy) error {
	known := map[string]bool{"DFW001": true, "parse-warning": true}
	for _, p := range ps {
		known[p.ID], known[p.Name] = true, true
	}
	var errs []string
	for i, d := range c.Disabled {
		if !known[d] {
			var p yamlPos
			if i < len(c.disLines) {
				p = c.disLines[i]
			}
			errs = append(errs, fmt.Sprintf("%s: disabled: no check %q (expected a check's ID or name: dfwlint policies lists them)", at(c.name, p), d))
		}
	}
	keys := make([]string, 0, len(c.Severity))
	for k := range c.Severity {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := c.sevLines[keys[i]], c.sevLines[keys[j]]
		if a != b {
			return a.line < b.line || a.line == b.line && a.col < b.col
		}
		return keys[i] < keys[j]
	})
	for _, k := range keys {
		if !known[k] {
			errs = append(errs, fmt.Sprintf("%s: severity: no check %q (expected a check's ID or name: dfwlint policies lists them)", at(c.name, c.sevLines[k]), k))
		}
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "\n"))
	}
	return nil
}

// yamlError writes the decoder's errors as name:line[:col]: message, one a
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
		if m := yamlLine.FindStringSubmatch(l); m != nil && m[2] != "" {
			l = name + ":" + m[1] + ":" + m[2] + ": " + m[3]
		} else if m != nil {
			l = name + ":" + m[1] + ": " + m[3]
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
	yamlLine    = regexp.MustCompile(`^line (\d+): (?:column (\d+): )?(.*)$`)
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
		al := facts.Allowed{Proto: a.Proto, Ports: [][2]int{}, Sources: []string{}, Interface: a.Interface}
		for _, s := range a.Sources {
			al.Sources = append(al.Sources, sourcePrefix(s))
		}
		for _, p := range a.Ports {
			al.Ports = append(al.Ports, [2]int{p.Lo, p.Hi})
		}
		out.AllowedExposed = append(out.AllowedExposed, al)
	}
	return out
}

// sourcePrefix writes a source of allowed_exposed, an address or a prefix
// (ParseConfig checked it), as the prefix the checks compare with: an
// address as its /32 or /128, a prefix with its host bits cleared
// (203.0.113.7 is 203.0.113.7/32, 10.1.0.0/8 is 10.0.0.0/8, 0/0 of either
// family 0.0.0.0/0 or ::/0).
func sourcePrefix(s string) string {
	if a, err := netip.ParseAddr(s); err == nil {
		a = a.Unmap().WithZone("")
		return netip.PrefixFrom(a, a.BitLen()).String()
	}
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked().String()
	}
	return s
}
