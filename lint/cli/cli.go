// Package cli implements the dfwlint command line: flag parsing, loading
// files, output formats and exit codes. cmd/dfwlint only calls Main.
//
// Exit status: 0 clean, 1 findings at or above --fail-on (check only), 2 a
// usage or input error.
package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"sort"
	"strings"
	"unsafe"

	"github.com/spf13/pflag"

	"github.com/dfw-project/dfw/internal/mapfile"
	"github.com/dfw-project/dfw/parser"
)

// Exit codes.
const (
	ExitClean    = 0
	ExitFindings = 1
	ExitError    = 2
)

// StdinName is how standard input ("-") is named in positions.
const StdinName = "<stdin>"

const mainUsage = `dfwlint checks iptables rulesets (iptables-save output and iptables-restore input).

Usage:
  dfwlint COMMAND [flags] FILE...

Commands:
  check     report the problems of each ruleset
  parse     show what each ruleset holds (tables, chains, rules), or print it canonically
  graph     write the chain graph of a ruleset as Graphviz DOT
  input     print the input document the policies see (JSON)
  policies  list the checks, with their documentation
  exposure  list the new connections from outside each ruleset accepts, per interface
  diff      list the packets whose fate changes between two rulesets

Each FILE is its own ruleset, applied on top of the --base files (the first
base as iptables-restore applies it, the others and FILE as
iptables-restore --noflush does). "-" reads standard input.

Examples:
  dfwlint check /etc/iptables/rules.v4
  dfwlint check --base live.save iptables.conf
  dfwlint parse --format json hosts/*.save
  iptables-save | dfwlint parse --format save -
  dfwlint graph --base live.save iptables.conf | dot -Tsvg > rules.svg

Flags:
  -h, --help      show this help
      --version   print the version

Exit status: 0 clean, 1 findings (check) or changes (diff), 2 usage or input error.
Run "dfwlint COMMAND --help" for the flags of a command.
`

// Main runs dfwlint with args (without the program name) and returns the
// exit status.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, mainUsage)
		return ExitError
	}
	switch args[0] {
	case "-h", "--help", "help":
		fmt.Fprint(stdout, mainUsage)
		return ExitClean
	case "--version", "version":
		fmt.Fprintf(stdout, "dfwlint %s\n", Version())
		return ExitClean
	case "parse":
		return runParse(args[1:], stdin, stdout, stderr)
	case "check":
		return runCheck(args[1:], stdin, stdout, stderr)
	case "graph":
		return runGraph(args[1:], stdin, stdout, stderr)
	case "input":
		return runInput(args[1:], stdin, stdout, stderr)
	case "policies":
		return runPolicies(args[1:], stdout, stderr)
	case "exposure":
		return runExposure(args[1:], stdin, stdout, stderr)
	case "diff":
		return runDiff(args[1:], stdin, stdout, stderr)
	}
	fmt.Fprintf(stderr, "dfwlint: unknown command %q (expected check, parse, graph, input, policies, exposure or diff; see dfwlint --help)\n", args[0])
	return ExitError
}

// Version is the module version of the binary, "(devel)" for a local build.
func Version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}

// common holds the flags every ruleset command shares.
type common struct {
	bases  []string
	docker dockerFlags // registered by the commands that take them
	ipv4   bool
	ipv6   bool
	table  string
}

func (c *common) register(fs *pflag.FlagSet) {
	c.registerWith(fs, func(fs *pflag.FlagSet) {
		switchFlag(fs, &c.ipv4, "ipv4", "read the files as IPv4 rules (default: detect from the header and addresses)")
		switchFlag(fs, &c.ipv6, "ipv6", "read the files as IPv6 (ip6tables) rules")
	})
}

// registerWith registers the common flags with family's flags in place of
// the --ipv4 and --ipv6 switches (check takes --ipv4 FILE, --ipv6 FILE).
func (c *common) registerWith(fs *pflag.FlagSet, family func(*pflag.FlagSet)) {
	fs.StringArrayVar(&c.bases, "base", nil, "apply each FILE on top of this ruleset (repeatable, applied in order)")
	family(fs)
	fs.StringVar(&c.table, "table", "", "only this table (and the table of iptables -S input, default filter)")
}

func (c *common) options() (parser.Options, error) {
	var o parser.Options
	switch {
	case c.ipv4 && c.ipv6:
		return o, errors.New("--ipv4 and --ipv6 exclude each other")
	case c.ipv4:
		o.Family = parser.IPv4
	case c.ipv6:
		o.Family = parser.IPv6
	}
	if c.table != "" {
		if _, ok := parser.BuiltinChains[c.table]; !ok {
			return o, fmt.Errorf("--table %s: unknown table (expected filter, nat, mangle, raw or security)", c.table)
		}
		o.Table = c.table
	}
	return o, c.docker.build()
}

// newFlagSet makes a subcommand's flag set; usage is printed by the caller.
func newFlagSet(name, usage string, stdout io.Writer) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.SortFlags = false
	fs.Usage = func() {
		fmt.Fprint(stdout, usage)
		fmt.Fprintf(stdout, "\nFlags:\n%s", fs.FlagUsages())
	}
	return fs
}

// parseFlags parses args; done is set when the command must stop with code.
func parseFlags(fs *pflag.FlagSet, args []string, stderr io.Writer) (code int, done bool) {
	err := fs.Parse(args)
	switch {
	case errors.Is(err, pflag.ErrHelp):
		// pflag has printed the usage already.
		return ExitClean, true
	case err != nil:
		fmt.Fprintf(stderr, "dfwlint %s: %v (see dfwlint %s --help)\n", fs.Name(), err, fs.Name())
		return ExitError, true
	case fs.NArg() == 0 && !fileFlagGiven(fs):
		fmt.Fprintf(stderr, "dfwlint %s: no FILE given (see dfwlint %s --help; use - for standard input)\n", fs.Name(), fs.Name())
		return ExitError, true
	}
	return 0, false
}

// fileFlagGiven reports whether a flag that names a FILE to check (check's
// --ipv4 FILE and --ipv6 FILE) was given.
func fileFlagGiven(fs *pflag.FlagSet) bool {
	for _, n := range []string{"ipv4", "ipv6"} {
		if f := fs.Lookup(n); f != nil && f.Changed && f.Value.Type() == "stringArray" {
			return true
		}
	}
	return false
}

// reader reads input files, standard input at most once.
type reader struct {
	stdin     io.Reader
	stdinData []byte
	stdinRead bool
	// mapFiles maps large files into memory (internal/mapfile) instead of
	// reading them; release unmaps them. Whoever reads their data must
	// recover faults (recoverFault).
	mapFiles bool
	mapped   []mapping
}

type mapping struct {
	name    string
	data    []byte
	release func()
}

func (r *reader) read(name string) (parser.Source, error) {
	if name == "-" {
		if !r.stdinRead {
			r.stdinRead = true
			data, err := io.ReadAll(r.stdin)
			if err != nil {
				return parser.Source{}, fmt.Errorf("%s: %v", StdinName, err)
			}
			r.stdinData = data
		}
		return parser.Source{Name: StdinName, Data: r.stdinData}, nil
	}
	var data []byte
	var err error
	if r.mapFiles {
		var release func()
		var mapped bool
		data, release, mapped, err = mapfile.Read(name)
		if mapped {
			r.mapped = append(r.mapped, mapping{name, data, release})
		}
	} else {
		data, err = os.ReadFile(name)
	}
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return parser.Source{}, fmt.Errorf("%s: %v", name, err)
	}
	return parser.Source{Name: name, Data: data}, nil
}

// testHookRead, when set, is called with the name of each FILE load has
// read, before it parses it.
var testHookRead func(name string)

// release unmaps the mapped files.
func (r *reader) release() {
	for _, m := range r.mapped {
		m.release()
	}
	r.mapped = nil
}

// recoverFault, deferred by a command that reads mapped files with
// debug.SetPanicOnFault(true), turns the fault of reading a file that
// shrank meanwhile into an error message and exit status 2. Other panics
// go on.
func (r *reader) recoverFault(cmd string, stderr io.Writer, code *int) {
	v := recover()
	if v == nil {
		return
	}
	if !mapfile.IsFault(v) {
		panic(v)
	}
	name := "a FILE"
	addr := v.(interface{ Addr() uintptr }).Addr()
	for _, m := range r.mapped {
		if start := uintptr(unsafe.Pointer(unsafe.SliceData(m.data))); addr >= start && addr-start < uintptr(len(m.data)) {
			name = m.name
		}
	}
	fmt.Fprintf(stderr, "dfwlint %s: %s: the file shrank while it was read (expected a file that stays as it is until dfwlint is done)\n", cmd, name)
	*code = ExitError
}

// result is one FILE loaded on top of the bases.
type result struct {
	name   string // as given ("-" is StdinName)
	loaded *parser.Loaded
	// diags are the diagnostics not already reported for an earlier FILE
	// (a base file's problems are reported once).
	diags parser.ErrorList
	// readErr is set when the file could not be read.
	readErr error
}

// load loads every FILE on top of the bases.
func load(files []string, c *common, opts parser.Options, rd *reader) ([]*result, error) {
	opts.Mapped = rd.mapFiles
	bases, err := readBases(c, rd)
	if err != nil {
		return nil, err
	}
	// A FILE's family: the --ipv4 or --ipv6 switch, else its text, else
	// its name (rules.v6, ip6tables.rules).
	famOf := func(f string, data []byte) parser.Family {
		if fam := familyOf(opts.Family, data); fam != 0 {
			return fam
		}
		return nameFamily(f)
	}
	if len(c.bases) > 0 {
		fams := make([]parser.Family, len(files))
		for i, f := range files {
			if s, err := rd.read(f); err == nil { // a read error is the FILE's, reported below
				fams[i] = famOf(f, s.Data)
			}
		}
		if err := checkBases(bases, fams); err != nil {
			return nil, err
		}
	}
	seen := map[string]bool{}
	var out []*result
	for _, f := range files {
		res := &result{name: f}
		if f == "-" {
			res.name = StdinName
		}
		s, err := rd.read(f)
		if err != nil {
			res.readErr = err
			out = append(out, res)
			continue
		}
		if testHookRead != nil {
			testHookRead(f)
		}
		fam := famOf(f, s.Data)
		if err := untold(f, fam, bases); err != nil {
			res.readErr = err
			out = append(out, res)
			continue
		}
		fopts := opts
		if fam = resolveFamily(fam, bases); fam != 0 {
			fopts.Family = fam
		}
		srcs := append(sources(basesFor(bases, fam)), s)
		res.loaded = parser.Load(srcs, fopts)
		explainNoDocker(res.loaded, bases, fam)
		for _, d := range res.loaded.Diags {
			key := d.Error()
			if seen[key] {
				continue
			}
			seen[key] = true
			res.diags = append(res.diags, d)
		}
		out = append(out, res)
	}
	return out, nil
}

// tableNames returns the tables of rs to show, in canonical order.
func tables(rs *parser.Ruleset, only string) []*parser.Table {
	var out []*parser.Table
	for _, t := range rs.SortedTables() {
		if only == "" || t.Name == only {
			out = append(out, t)
		}
	}
	return out
}

// severityText is how a diagnostic's severity is written in text output.
func formatDiag(d *parser.Error) string {
	return fmt.Sprintf("%s: %s: %s", d.Pos, d.Severity, d.Msg)
}

// position is a diagnostic in JSON output.
type position struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Column  int    `json:"column"`
	Message string `json:"message"`
}

func positions(l parser.ErrorList) []position {
	out := []position{}
	for _, d := range l {
		out = append(out, position{File: d.Pos.File, Line: d.Pos.Line, Column: d.Pos.Col, Message: d.Msg})
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func plural(n int, one string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	if strings.HasSuffix(one, "y") {
		return fmt.Sprintf("%d %sies", n, one[:len(one)-1])
	}
	return fmt.Sprintf("%d %ss", n, one)
}

// switchValue is a boolean flag shown in help as "--name" alone (pflag
// shows its own bool flags as "--name[=true|false]").
type switchValue bool

func (v *switchValue) String() string { return fmt.Sprint(bool(*v)) }
func (v *switchValue) Type() string   { return "bool" }
func (v *switchValue) Set(s string) error {
	switch s {
	case "true":
		*v = true
	case "false":
		*v = false
	default:
		return fmt.Errorf("invalid value %q (expected true or false)", s)
	}
	return nil
}

func switchFlag(fs *pflag.FlagSet, p *bool, name, usage string) {
	fs.VarPF((*switchValue)(p), name, "", usage).NoOptDefVal = "true"
}
