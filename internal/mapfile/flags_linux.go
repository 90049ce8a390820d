package mapfile

import "syscall"

// mapFlags populates the mapping at once: one system call instead of a
// fault per 64 KiB of file.
const mapFlags = syscall.MAP_POPULATE
