package sim

// Test hooks for the external tests of the fast path (fast_test.go).

// SetIndexAll makes Compile index every chain it can, even short ones.
func SetIndexAll(on bool) (restore func()) {
	old, oldMin := indexAll, MinIndexedRules
	indexAll = on
	if on {
		MinIndexedRules = 1
	}
	return func() { indexAll, MinIndexedRules = old, oldMin }
}

// SetForceIntervals makes Compile build the sorted-array form of the
// index even where the hash form applies.
func SetForceIntervals(on bool) (restore func()) {
	old := forceIntervals
	forceIntervals = on
	return func() { forceIntervals = old }
}
