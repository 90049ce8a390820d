package parser

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
)

// ErrLean is WriteSave's error for a ruleset loaded with Options.Lean,
// whose rules lack their matches.
var ErrLean = errors.New("the ruleset was loaded lean (parser.Options.Lean): its rules lack their matches, and cannot be printed")

// Spec prints the rule's match and target part canonically, as
// iptables-save does: -s, -d, -i, -o, -p, -f, then each match with its
// options, then the target with its options, each value as the kernel
// holds it and iptables-save prints it (canonical.go).
func (r *Rule) Spec() string {
	return r.spec(0)
}

// spec is Spec for a rule of family fam, which decides the defaults some
// matches print (recent's --mask, connlimit's --connlimit-mask); 0 takes
// the family of the rule's addresses, else IPv4.
func (r *Rule) spec(fam Family) string {
	if fam == 0 {
		fam = IPv4
		if r.Src != nil && r.Src.Addr.Is6() || r.Dst != nil && r.Dst.Addr.Is6() {
			fam = IPv6
		}
	}
	var b strings.Builder
	w := func(neg bool, s ...string) {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		if neg {
			b.WriteString("! ")
		}
		b.WriteString(strings.Join(s, " "))
	}
	// iptables-save leaves out what matches every packet: an address with
	// a /0 mask and "-p all".
	if r.Src != nil && (r.Src.Neg || MaskLen(r.Src.Mask) != 0) {
		w(r.Src.Neg, "-s", formatAddrMask(r.Src.Addr, r.Src.Mask))
	}
	if r.Dst != nil && (r.Dst.Neg || MaskLen(r.Dst.Mask) != 0) {
		w(r.Dst.Neg, "-d", formatAddrMask(r.Dst.Addr, r.Dst.Mask))
	}
	// "-i +" names every interface: iptables-save leaves it out ("! -i +"
	// it keeps).
	if r.In != nil && (r.In.Neg || r.In.String() != "+") {
		w(r.In.Neg, "-i", quote(r.In.String()))
	}
	if r.Out != nil && (r.Out.Neg || r.Out.String() != "+") {
		w(r.Out.Neg, "-o", quote(r.Out.String()))
	}
	if r.Proto != nil && (r.Proto.Neg || r.Proto.Num != 0) {
		w(r.Proto.Neg, "-p", protoName(r.Proto.Num))
	}
	if r.Fragment != nil {
		w(r.Fragment.Neg, "-f")
	}
	for _, m := range r.Matches {
		w(false, "-m", saveMatchName(m.Name))
		for _, o := range canonicalMatchOptions(m, fam) {
			w(o.Neg, saveOption(m.Name, o))
		}
	}
	if t := r.Target; t != nil {
		if t.Goto {
			w(false, "-g", quote(t.Name))
		} else {
			w(false, "-j", quote(t.Name))
		}
		for _, o := range canonicalTargetOptions(t, fam) {
			w(o.Neg, saveOption(t.Name, o))
		}
	}
	return b.String()
}

// String prints the rule as an iptables-save line ("-A CHAIN spec").
func (r *Rule) String() string {
	return r.line(0)
}

// line is String for a rule of family fam (spec).
func (r *Rule) line(fam Family) string {
	s := r.spec(fam)
	if s == "" {
		return "-A " + r.Chain
	}
	return "-A " + r.Chain + " " + s
}

// String prints an option with its arguments, quoted where needed.
func (o Option) String() string { return o.format(quote) }

// format prints the option with each argument as quoteArg gives it.
func (o Option) format(quoteArg func(string) string) string {
	var b strings.Builder
	b.WriteString("--")
	b.WriteString(o.Name)
	for _, a := range o.Args {
		b.WriteByte(' ')
		b.WriteString(quoteArg(a))
	}
	return b.String()
}

// saveOption prints an option of module (a match or target) as its
// extension's save function does: --comment, --log-prefix and
// --nflog-prefix with xtables_save_string, --string, --u32 and
// connlabel's --label always in double quotes, the others as
// Option.String.
func saveOption(module string, o Option) string {
	var quoteArg func(string) string
	switch {
	case o.Name == "comment" || o.Name == "log-prefix" || o.Name == "nflog-prefix":
		quoteArg = xtablesSaveString
	case module == "string" && o.Name == "hex-string":
		quoteArg = func(s string) string { return `"` + s + `"` }
	case module == "string" && o.Name == "string", module == "u32", module == "connlabel" && o.Name == "label":
		quoteArg = func(s string) string {
			return `"` + strings.NewReplacer(`"`, `\"`, `\`, `\\`).Replace(s) + `"`
		}
	default:
		quoteArg = quote
	}
	return o.format(quoteArg)
}

// xtablesSaveString quotes s as libxtables' xtables_save_string: bare when
// it is only letters, digits, '_' and '-', else in double quotes with a
// backslash before each double quote, single quote and backslash.
func xtablesSaveString(s string) string {
	if s != "" && strings.Trim(s, "_-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") == "" {
		return s
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' || s[i] == '\'' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
	return b.String()
}

// String prints an interface name with its wildcard.
func (m *IfaceMatch) String() string {
	if m.Wildcard {
		return m.Name + "+"
	}
	return m.Name
}

// WriteSave prints the ruleset as canonical iptables-save text: tables in
// the order raw, mangle, nat, filter, security; built-in chains first in hook
// order, then user chains by name; then the rules of each chain in that
// order. It refuses a lean ruleset (ErrLean).
func (rs *Ruleset) WriteSave(w io.Writer) error {
	if rs.Lean {
		return ErrLean
	}
	bw := bufio.NewWriter(w)
	for _, t := range rs.SortedTables() {
		fmt.Fprintf(bw, "*%s\n", t.Name)
		chains := t.SortedChains()
		for _, c := range chains {
			pol := c.Policy
			if !c.Builtin {
				pol = "-"
			}
			// iptables-restore without -c zeroes the counters, and the
			// text is what iptables-save prints after it (the rules'
			// counters are left out too).
			fmt.Fprintf(bw, ":%s %s [0:0]\n", c.Name, pol)
		}
		for _, c := range chains {
			for _, r := range c.Rules {
				bw.WriteString(r.line(rs.Family))
				bw.WriteByte('\n')
			}
		}
		bw.WriteString("COMMIT\n")
	}
	return bw.Flush()
}

// SortedChains returns the built-in chains in hook order, then the user
// chains sorted by name.
func (t *Table) SortedChains() []*Chain {
	var out, user []*Chain
	for _, n := range BuiltinChains[t.Name] {
		if c := t.Chains[n]; c != nil {
			out = append(out, c)
		}
	}
	for _, c := range t.Order {
		if !c.Builtin {
			user = append(user, c)
		}
	}
	sort.Slice(user, func(i, j int) bool { return user[i].Name < user[j].Name })
	return append(out, user...)
}
