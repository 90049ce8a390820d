package parser

import (
	"testing"
)

// FuzzValueReaders feeds one text to the readers of values that xtables
// reads its own way (inet_aton addresses, lengths that may be masks,
// NETMAP networks, -m string patterns): none panics, and what each
// gives back keeps its bounds.
func FuzzValueReaders(f *testing.F) {
	for _, s := range []string{"16909060", "1.2.300", "0x01020304", "255.255.255.0", "33", "0x10", "010",
		"10.1.2.3/255.0.255.0", "2001:db8::5/ffff::ffff", "|41 42|c", "| 41 |", "a\\|b", "|41||42|", "\\", "|", "||",
		"", " 8", "8 ", "1.2.3.4.5", "ffff:ffff::", "4294967296"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if a, ok := inetAton(s); ok && !a.Is4() {
			t.Fatalf("inetAton(%q) = %v, not IPv4", s, a)
		}
		for _, bits := range []int{32, 128} {
			if n, _, err := plenMask(s, bits); err == nil && (n < 0 || n > bits) {
				t.Fatalf("plenMask(%q, %d) = %d", s, bits, n)
			}
		}
		for _, fam := range []Family{IPv4, IPv6} {
			if p, err := parseNetmapTo(s, fam); err == nil && (!p.IsValid() || p != p.Masked() || p.Addr().Is6() != (fam == IPv6)) {
				t.Fatalf("parseNetmapTo(%q, %v) = %v", s, fam, p)
			}
		}
		if p, err := stringPattern(s); err == nil {
			if len(p) == 0 || len(p) > 128 {
				t.Fatalf("stringPattern(%q): %d bytes", s, len(p))
			}
		}
	})
}
