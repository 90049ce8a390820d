//go:build unix && !linux

package mapfile

const mapFlags = 0
