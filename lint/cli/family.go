package cli

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"

	"github.com/dfw-project/dfw/lint/facts"
	"github.com/dfw-project/dfw/parser"
)

// A host's IPv4 and IPv6 rules are two rulesets. dfwlint check takes them
// together — "--ipv4 FILE" and "--ipv6 FILE", or both dumps among the
// FILEs — checks each, and compares them (DFW305 ipv6-gap).

// familyFiles are check's --ipv4 FILE and --ipv6 FILE.
type familyFiles struct {
	v4, v6 []string
}

func (f *familyFiles) register(fs *pflag.FlagSet) {
	fs.StringArrayVar(&f.v4, "ipv4", nil, "check FILE as the host's IPv4 (iptables) rules (repeatable)")
	fs.StringArrayVar(&f.v6, "ipv6", nil, "check FILE as the host's IPv6 (ip6tables) rules, and compare it with the IPv4 rules (repeatable)")
}

// plan says, for each FILE check takes, the family it is read as (0: as
// detected) and the FILE of the other family that may be the same host's
// (a candidate: the two are paired only when their rulesets are indeed
// of different families and load without error).
type plan struct {
	family []parser.Family
	peer   []int // index into the files, -1 for none
	// named is the family a FILE's name tells beside its peer's (rules.v6
	// beside rules.v4), or on its own (ip6tables.rules): what it is read
	// as when neither a flag nor its text tells (0: the name does not
	// tell).
	named []parser.Family
}

// familyOf is the family FILE i, of text data, is read as: the forced
// one, else the one its text tells, else the one its name tells beside
// its peer's or on its own (0 when nothing does).
func (p *plan) familyOf(i int, data []byte) parser.Family {
	if f := familyOf(p.family[i], data); f != 0 {
		return f
	}
	return p.named[i]
}

// newPlan lists the FILEs: the arguments, then the --ipv4 and the --ipv6
// ones. Two FILEs are candidates for each other when they are the only two,
// or when their names differ only by the family (rules.v4 and rules.v6,
// iptables.save and ip6tables.save, host-ipv4.save and host-ipv6.save) and
// no other FILE's name pairs with either.
func newPlan(args []string, ff familyFiles) (files []string, p *plan) {
	files = append(append(append([]string{}, args...), ff.v4...), ff.v6...)
	p = &plan{family: make([]parser.Family, len(files)), peer: make([]int, len(files)), named: make([]parser.Family, len(files))}
	defer p.nameFamilies(files)
	for i := range files {
		p.peer[i] = -1
		switch {
		case i >= len(args)+len(ff.v4):
			p.family[i] = parser.IPv6
		case i >= len(args):
			p.family[i] = parser.IPv4
		}
	}
	if len(files) == 2 {
		if files[0] != files[1] {
			p.peer[0], p.peer[1] = 1, 0
		}
		return files, p
	}
	// Each file's best matches: those whose names differ from its own by
	// the longest family token ("web6.v6" is "web6.v4"'s by "v6", and
	// "web4.v6"'s only by a "6"). A pair is made when each is the other's
	// only best match.
	best := make([][]int, len(files))
	for i := range files {
		top := 0
		for j := range files {
			if i == j {
				continue
			}
			switch sc := hostScore(files[i], files[j]); {
			case sc > top:
				top, best[i] = sc, []int{j}
			case sc == top && sc > 0:
				best[i] = append(best[i], j)
			}
		}
	}
	for i, m := range best {
		if len(m) == 1 && len(best[m[0]]) == 1 && best[m[0]][0] == i {
			p.peer[i] = m[0]
		}
	}
	return files, p
}

// nameFamilies sets named for the FILEs paired with a peer whose names
// differ by a family token that says IP version (v6 or longer: a bare "6"
// in host-006.rules beside host-004.rules says nothing): the one with the
// IPv6 token is IPv6, the other IPv4. A FILE its peer does not name is
// named by its own name when it holds such a token of one family only
// (nameFamily).
func (p *plan) nameFamilies(files []string) {
	for i, j := range p.peer {
		if j < 0 || hostScore(files[i], files[j]) < len("v6") {
			p.named[i] = nameFamily(files[i])
			continue
		}
		if rewriteScore(filepath.Base(files[i]), filepath.Base(files[j])) > 0 {
			p.named[i] = parser.IPv6
		} else {
			p.named[i] = parser.IPv4
		}
	}
}

// nameFamily is the family a FILE's name tells on its own: IPv6 for
// ip6tables, ipv6 or inet6 in its base name, or v6 standing apart from
// letters and digits (rules.v6, web1-v6.save, iptables-ipv6.rules); IPv4
// for ipv4, a v4 standing apart, or iptables without an IPv6 token; 0 when
// it holds tokens of neither family, or IPv6 and IPv4 ones.
func nameFamily(name string) parser.Family {
	if name == "-" {
		return 0
	}
	n := strings.ToLower(filepath.Base(name))
	has := func(long []string, short string) bool {
		for _, t := range long {
			if strings.Contains(n, t) {
				return true
			}
		}
		for k := 0; ; {
			i := strings.Index(n[k:], short)
			if i < 0 {
				return false
			}
			i += k
			if (i == 0 || !isAlnum(n[i-1])) && (i+len(short) == len(n) || !isAlnum(n[i+len(short)])) {
				return true
			}
			k = i + 1
		}
	}
	v6 := has([]string{"ip6tables", "ipv6", "inet6"}, "v6")
	v4 := has([]string{"ipv4"}, "v4")
	switch {
	case v6 && !v4:
		return parser.IPv6 // iptables-ipv6.rules too: "iptables" names the tool
	case !v6 && (v4 || strings.Contains(n, "iptables")):
		return parser.IPv4
	}
	return 0
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// familyTokens are the ways a file name says its family, IPv6 first.
var familyTokens = [][2]string{{"ip6tables", "iptables"}, {"ipv6", "ipv4"}, {"inet6", "inet"}, {"v6", "v4"}, {"6", "4"}}

// sameHost reports whether a and b may name the two families' rules of
// one host: the same directory, and one base name turned into the other
// by writing one of its family tokens for the other family.
func sameHost(a, b string) bool { return hostScore(a, b) > 0 }

// hostScore is the length of the longest family token whose rewriting
// turns one of a and b into the other (0: none, or not the same
// directory).
func hostScore(a, b string) int {
	if a == "-" || b == "-" || filepath.Dir(a) != filepath.Dir(b) {
		return 0
	}
	na, nb := filepath.Base(a), filepath.Base(b)
	return max(rewriteScore(na, nb), rewriteScore(nb, na))
}

// rewriteScore is the length of the longest IPv6 token of v6 whose
// replacement by its IPv4 counterpart gives v4, 0 for none.
func rewriteScore(v6, v4 string) int {
	for _, t := range familyTokens { // longest first
		for k := 0; ; {
			i := strings.Index(v6[k:], t[0])
			if i < 0 {
				break
			}
			i += k
			if v6[:i]+t[1]+v6[i+len(t[0]):] == v4 {
				return len(t[0])
			}
			k = i + 1
		}
	}
	return 0
}

// familyOf is the family a FILE is read as: the forced one, else the one
// its text tells (0 when nothing does).
func familyOf(forced parser.Family, data []byte) parser.Family {
	if forced != 0 {
		return forced
	}
	return parser.DetectFamily(data)
}

// base is a ruleset the FILEs are applied on: a --base file, or one of
// --docker's baselines (docker set). fam is its family: the one its text
// tells for a --base file (0 when it tells none), the one it was made for
// for a baseline. Docker 20.10's ip6tables baseline is empty: an IPv6
// FILE is applied on nothing of Docker's, as on a 20.10 host.
type base struct {
	parser.Source
	fam    parser.Family
	docker bool
	// none, for an empty baseline, says why Docker makes no chain in
	// that family.
	none string
}

// readBases reads the --base files and puts --docker's baselines first.
func readBases(c *common, rd *reader) ([]base, error) {
	var bases []base
	for _, b := range c.bases {
		s, err := rd.read(b)
		if err != nil {
			return nil, err
		}
		bases = append(bases, base{Source: s, fam: parser.DetectFamily(s.Data)})
	}
	return withDocker(c, bases), nil
}

// sources are the bases' texts, in order.
func sources(bases []base) []parser.Source {
	out := make([]parser.Source, len(bases))
	for i, b := range bases {
		out[i] = b.Source
	}
	return out
}

// basesFor keeps the --base files (and the Docker baselines) that can be
// applied under a FILE of family fam: those of the same family or of none
// that their text tells. An IPv4 live dump is not the base of the host's
// IPv6 rules. An empty Docker baseline (20.10's ip6tables rules: none)
// is no file to apply.
func basesFor(bases []base, fam parser.Family) []base {
	var out []base
	for _, b := range bases {
		if (fam == 0 || b.fam == 0 || b.fam == fam) && !(b.docker && len(b.Data) == 0) {
			out = append(out, b)
		}
	}
	return out
}

// resolveFamily is the family a FILE of family fam (0: nothing tells) is
// read as beneath bases: fam when told; when --docker gives its baselines
// of both families, the family the --base files tell (when they tell one),
// else IPv4, as iptables-restore reads a file; 0 otherwise (the FILE takes
// every base).
func resolveFamily(fam parser.Family, bases []base) parser.Family {
	if fam != 0 {
		return fam
	}
	docker := false
	told := map[parser.Family]bool{}
	for _, b := range bases {
		docker = docker || b.docker
		if !b.docker && b.fam != 0 {
			told[b.fam] = true
		}
	}
	switch {
	case !docker:
		return 0
	case len(told) == 1 && told[parser.IPv6]:
		return parser.IPv6
	}
	return parser.IPv4
}

// checkBases reports --base files that apply under no FILE when some FILE
// takes none of them: each FILE takes the bases of its family (basesFor),
// so an IPv6 live dump given as the base of IPv4 rules would otherwise be
// dropped silently and the rules judged without it. A base of a family no
// FILE has is fine when every FILE has a base of its own (a pre-commit hook
// given a host's two live dumps and the one file that changed), and so is a
// FILE with no base of its family when the bases serve the other FILEs (an
// IPv4 live dump, the host's IPv4 and IPv6 rules). --docker's baselines
// take no part: there is one of each family, so every FILE has one, and
// the --base files are judged as without --docker. fams are the FILEs'
// families, 0 where their text does not tell (such a FILE takes every
// --base file).
func checkBases(all []base, fams []parser.Family) error {
	var bases []base
	for _, b := range all {
		if !b.docker {
			bases = append(bases, b)
		}
	}
	applies := func(bf, ff parser.Family) bool { return bf == 0 || ff == 0 || bf == ff }
	baseless := false
	for _, f := range fams {
		has := false
		for _, b := range bases {
			has = has || applies(b.fam, f)
		}
		baseless = baseless || !has
	}
	if !baseless {
		return nil
	}
	var errs []string
	for _, b := range bases {
		used := false
		for _, f := range fams {
			used = used || applies(b.fam, f)
		}
		if !used {
			errs = append(errs, fmt.Sprintf("--base %s is an %s ruleset and no FILE is (expected a --base of the FILEs' family; a host's IPv4 and IPv6 rules each take their own)", displayName(b.Name), famName(b.fam)))
		}
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "\n"))
	}
	return nil
}

// untold reports a FILE whose text does not tell its family (no header,
// no address) among --base files of both families: it would take the
// first base's, and the other base would be read in the wrong family.
// --docker's baselines are of both families by design: a FILE that does
// not tell takes the one resolveFamily picks.
func untold(file string, fam parser.Family, bases []base) error {
	if fam != 0 {
		return nil
	}
	seen := map[parser.Family]bool{}
	for _, b := range bases {
		if b.fam != 0 && !b.docker {
			seen[b.fam] = true
		}
	}
	if len(seen) < 2 {
		return nil
	}
	return fmt.Errorf("%s: its text does not tell IPv4 from IPv6, and the --base files are of both (expected --ipv4 or --ipv6 to say which)", displayName(file))
}

func famName(f parser.Family) string {
	if f == parser.IPv6 {
		return "IPv6"
	}
	return "IPv4"
}

// loadPeer loads the candidate peer of a FILE of family fam, FILE j of
// the plan pl: it is the
// same host's other family when it reads, loads without error and is of
// the other family. nil otherwise.
func loadPeer(pl *plan, j int, name string, fam parser.Family, bases []base, rd *reader, opts parser.Options) *facts.PeerRuleset {
	s, err := rd.read(name)
	if err != nil {
		return nil
	}
	pf := resolveFamily(pl.familyOf(j, s.Data), bases)
	if pf == 0 {
		pf = parser.IPv4
	}
	if pf == fam {
		return nil
	}
	opts.Family = pf
	srcs := append(sources(basesFor(bases, pf)), s)
	l := parser.Load(srcs, opts)
	if len(l.Diags.Errors()) > 0 || l.Ruleset.Family == fam {
		return nil
	}
	return &facts.PeerRuleset{Ruleset: l.Ruleset, Files: []string{displayName(name)}}
}
