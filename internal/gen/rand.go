package gen

// rng is a small deterministic pseudo-random generator (SplitMix64). It is
// used instead of math/rand so that generated files never change with the
// Go version.
type rng struct{ s uint64 }

func newRNG(seed int64) *rng { return &rng{s: uint64(seed) ^ 0x9e3779b97f4a7c15} }

func (r *rng) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	z := r.s
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// intn returns a value in [0, n); n must be > 0.
func (r *rng) intn(n int) int {
	if n <= 0 {
		panic("gen: intn with n <= 0")
	}
	return int(r.next() % uint64(n))
}

// between returns a value in [lo, hi].
func (r *rng) between(lo, hi int) int { return lo + r.intn(hi-lo+1) }

// chance reports true with probability pct/100.
func (r *rng) chance(pct int) bool { return r.intn(100) < pct }

// pick returns one element of s.
func pick[T any](r *rng, s []T) T { return s[r.intn(len(s))] }

// fork derives an independent generator, so that adding draws to one part
// of a generator does not change the output of the others.
func (r *rng) fork(salt uint64) *rng { return &rng{s: r.next() ^ salt*0xd1b54a32d192ed03} }
