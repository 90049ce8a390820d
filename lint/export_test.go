package lint

// SetSpoolMemory sets how many bytes of findings a Stream spools in memory
// before it spools them to a temporary file; it returns the previous value.
func SetSpoolMemory(n int) int {
	old := spoolMemory
	spoolMemory = n
	return old
}
