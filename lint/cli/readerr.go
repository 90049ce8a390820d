package cli

import "strings"

// readErrMessage is the message of a FILE that could not be read, without
// the file name that its position already gives ("no such file or
// directory", not "x.rules: no such file or directory").
func readErrMessage(name string, err error) string {
	return strings.TrimPrefix(err.Error(), name+": ")
}
