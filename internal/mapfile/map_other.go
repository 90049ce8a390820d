//go:build !unix

package mapfile

import "os"

func mapFile(*os.File, int) ([]byte, func(), bool) { return nil, nil, false }
