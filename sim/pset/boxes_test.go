package pset

import (
	"fmt"
	"sort"
	"time"

	"github.com/dfw-project/dfw/parser"
)

// altBoxes is the alternative representation the benchmarks measure: a set
// is a list of disjoint boxes (one interval per field), difference splits a
// box into at most two pieces per field. Non-interval constraints (masks,
// negations) are expanded into several boxes, converted from the exact BDD
// of each rule so that both representations work on the same sets.
type altBoxes struct {
	dims    []Field
	rules   [][]box // each rule's must set, as disjoint boxes
	starts  []bool  // the rule starts a chain
	skipped int     // rules left out (too many boxes)
	full    box
}

type iv struct{ lo, hi uint64 }

type box []iv

func newAltBoxes(u *Universe, rules []*parser.Rule, maxPerRule int) (*altBoxes, bool) {
	a := &altBoxes{}
	used := map[Field]bool{}
	var conv [][]map[Field][]iv
	for i, r := range rules {
		a.starts = append(a.starts, chainStart(rules, i))
		must, _ := MatchSet(u, r)
		bs, ok := toFieldBoxes(u, must, maxPerRule)
		if !ok {
			// Not representable in few boxes (a mark mask, say): the
			// box fold leaves the rule out, which only helps it.
			a.skipped++
			bs = nil
		}
		for _, b := range bs {
			for f := range b {
				used[f] = true
			}
		}
		conv = append(conv, bs)
	}
	for _, f := range u.order {
		if used[f] {
			a.dims = append(a.dims, f)
		}
	}
	a.full = make(box, len(a.dims))
	for i, f := range a.dims {
		a.full[i] = iv{0, maxOf(u.fields[f].width).lo}
		if n := u.fields[f].nsym; n > 0 {
			a.full[i].hi = uint64(n - 1)
		}
	}
	for _, bs := range conv {
		var out []box
		for _, fb := range bs {
			// expand the per-field interval lists into boxes
			cur := []box{append(box(nil), a.full...)}
			for i, f := range a.dims {
				ivs, ok := fb[f]
				if !ok {
					continue
				}
				var next []box
				for _, c := range cur {
					for _, x := range ivs {
						nb := append(box(nil), c...)
						nb[i] = x
						next = append(next, nb)
					}
				}
				cur = next
			}
			out = append(out, cur...)
		}
		a.rules = append(a.rules, out)
	}
	return a, true
}

// toFieldBoxes splits s field by field (as Cubes does) into products of
// per-field interval lists.
func toFieldBoxes(u *Universe, s Set, max int) ([]map[Field][]iv, bool) {
	if s.IsEmpty() {
		return nil, true
	}
	n := s.n
	for _, f := range u.order {
		fi := u.fields[f]
		if u.d.and(u.d.exists(s.n, fi.off, fi.off+fi.width, uint32(f)), u.valid) == s.n {
			n = u.d.exists(n, fi.off, fi.off+fi.width, uint32(f))
		}
	}
	var out []map[Field][]iv
	ok := true
	var rec func(n uint32, i int, acc map[Field][]iv)
	rec = func(n uint32, i int, acc map[Field][]iv) {
		if !ok || n == bddFalse {
			return
		}
		for ; i < len(u.order); i++ {
			f := u.order[i]
			fi := u.fields[f]
			if u.d.level(n) >= fi.off+fi.width {
				continue
			}
			parts := u.split(n, f, max)
			if parts == nil {
				ok = false
				return
			}
			for _, p := range parts {
				ivs, good := intervals(u, f, p.v, max)
				if !good {
					ok = false
					return
				}
				m := map[Field][]iv{}
				for k, v := range acc {
					m[k] = v
				}
				m[f] = ivs
				rec(p.child, i+1, m)
			}
			return
		}
		out = append(out, acc)
		if len(out) > max {
			ok = false
		}
	}
	rec(n, 0, map[Field][]iv{})
	return out, ok
}

func intervals(u *Universe, f Field, v uint32, max int) ([]iv, bool) {
	ps, ok := u.paths(f, v, max)
	if !ok {
		return nil, false
	}
	fi := u.fields[f]
	var out []iv
	for _, p := range ps {
		// expand free low bits below the lowest fixed bit into a block,
		// and enumerate the free bits above it (non-contiguous masks).
		var low int32
		for low < fi.width && !p.mask.bit(low) {
			low++
		}
		var free []int32
		for k := low; k < fi.width; k++ {
			if !p.mask.bit(k) {
				free = append(free, k)
			}
		}
		if len(free) > 20 || len(out)+1<<len(free) > max {
			return nil, false
		}
		for c := 0; c < 1<<len(free); c++ {
			lo := p.val.lo
			for j, k := range free {
				if c>>j&1 != 0 {
					lo |= 1 << uint(k)
				}
			}
			out = append(out, iv{lo, lo | (1<<uint(low) - 1)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].lo < out[j].lo })
	var merged []iv
	for _, x := range out {
		if k := len(merged) - 1; k >= 0 && merged[k].hi+1 == x.lo {
			merged[k].hi = x.hi
			continue
		}
		merged = append(merged, x)
	}
	return merged, true
}

func overlaps(a, b box) bool {
	for i := range a {
		if a[i].hi < b[i].lo || b[i].hi < a[i].lo {
			return false
		}
	}
	return true
}

// subtract appends a \ b to out, as disjoint boxes.
func subtract(out []box, a, b box) []box {
	if !overlaps(a, b) {
		return append(out, a)
	}
	cur := append(box(nil), a...)
	for i := range cur {
		if cur[i].lo < b[i].lo {
			p := append(box(nil), cur...)
			p[i] = iv{cur[i].lo, b[i].lo - 1}
			out = append(out, p)
			cur[i].lo = b[i].lo
		}
		if cur[i].hi > b[i].hi {
			p := append(box(nil), cur...)
			p[i] = iv{b[i].hi + 1, cur[i].hi}
			out = append(out, p)
			cur[i].hi = b[i].hi
		}
	}
	return out
}

func diffBoxes(a, b []box) []box {
	for _, y := range b {
		var next []box
		for _, x := range a {
			next = subtract(next, x, y)
		}
		a = next
	}
	return a
}

// fold returns the number of boxes of the final set, or -1 past the budget.
func (a *altBoxes) fold(budget time.Duration) int {
	start := time.Now()
	reach := []box{a.full}
	maxLen := 0
	for i, m := range a.rules {
		if a.starts[i] {
			reach = []box{a.full}
		}
		reach = diffBoxes(reach, m)
		maxLen = max(maxLen, len(reach))
		if i%256 == 0 && time.Since(start) > budget {
			return -1
		}
	}
	return maxLen
}

// foldCheck compares emptiness of reach ∩ must along the fold with the BDD.
func (a *altBoxes) foldCheck(u *Universe, rules []*parser.Rule) string {
	reach := []box{a.full}
	set := u.All()
	for i, r := range rules {
		if a.starts[i] {
			reach, set = []box{a.full}, u.All()
		}
		must, _ := MatchSet(u, r)
		hit := false
		for _, x := range reach {
			for _, y := range a.rules[i] {
				if overlaps(x, y) {
					hit = true
				}
			}
		}
		if len(a.rules[i]) == 0 && !must.IsEmpty() {
			continue // skipped rule
		}
		if hit != set.Overlaps(must) {
			return fmt.Sprintf("rule %d (%s): boxes say %v", i, r.Line, hit)
		}
		reach = diffBoxes(reach, a.rules[i])
		set = set.Diff(must)
	}
	return ""
}
