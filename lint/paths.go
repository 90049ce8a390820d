package lint

import (
	"net/url"
	"path/filepath"
	"strings"
)

// Paths say where the files a report names are, for the outputs that
// machines read: a SARIF artifact location and a GitHub annotation's file
// name a file relative to the root of the repository (code scanning and
// the Actions runner resolve them from there), whatever directory dfwlint
// ran in. A finding names its file as it was given on the command line,
// relative to the working directory or absolute.
type Paths struct {
	// Dir is the directory relative file names are relative to (the
	// working directory). "": relative names are taken as relative to
	// the root.
	Dir string
	// Root is the root of the repository the files are in (Dir or one of
	// its ancestors). "": Dir.
	Root string
}

// pathKind is how Paths.locate found a file name.
type pathKind int

const (
	pathUnderRoot pathKind = iota // relative to the root
	pathAbsolute                  // absolute: the file is outside the root
	pathNoFile                    // <stdin>, <docker 28>: no file at all
)

// noFile reports whether name stands for something other than a file:
// standard input (<stdin>) or Docker's modelled rules (<docker 28>).
func noFile(name string) bool {
	return len(name) > 2 && strings.HasPrefix(name, "<") && strings.HasSuffix(name, ">")
}

// locate returns the name of file relative to the root, with slashes; or,
// for a file outside the root, its absolute path with slashes; or, for no
// file, name as it is.
func (p Paths) locate(name string) (string, pathKind) {
	if noFile(name) || name == "" {
		return name, pathNoFile
	}
	abs := name
	if !filepath.IsAbs(abs) {
		if p.Dir == "" {
			return filepath.ToSlash(filepath.Clean(name)), pathUnderRoot
		}
		abs = filepath.Join(p.Dir, name)
	}
	root := p.Root
	if root == "" {
		root = p.Dir
	}
	if root != "" {
		if rel, err := filepath.Rel(root, abs); err == nil && filepath.IsLocal(rel) {
			return filepath.ToSlash(rel), pathUnderRoot
		}
	}
	return filepath.ToSlash(filepath.Clean(abs)), pathAbsolute
}

// uriBase is the uriBaseId of the artifact locations relative to the root.
const uriBase = "%SRCROOT%"

// artifact is the SARIF artifact location of a file: a relative reference
// against %SRCROOT% for a file under the root, a file URI for one outside
// it (SARIF allows a uriBaseId only with a relative reference), and for
// standard input or Docker's modelled rules their name alone.
func (p Paths) artifact(name string) sarifArtifact {
	loc, kind := p.locate(name)
	switch kind {
	case pathUnderRoot:
		return sarifArtifact{URI: escapePath(loc), URIBaseID: uriBase}
	case pathAbsolute:
		return sarifArtifact{URI: fileURI(loc)}
	}
	return sarifArtifact{URI: escapePath(loc)}
}

// rootURI is the file URI of the root directory, ending in a slash, for
// the run's originalUriBaseIds; "" when the root is not known.
func (p Paths) rootURI() string {
	root := p.Root
	if root == "" {
		root = p.Dir
	}
	if root == "" {
		return ""
	}
	u := fileURI(filepath.ToSlash(filepath.Clean(root)))
	if !strings.HasSuffix(u, "/") {
		u += "/"
	}
	return u
}

// escapePath percent-encodes a slash-separated path as a relative
// reference: each segment escaped, and a colon too, which in a first
// segment would read as a URI scheme ("a:b.save").
func escapePath(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = strings.ReplaceAll(url.PathEscape(s), ":", "%3A")
	}
	return strings.Join(segs, "/")
}

// fileURI is the file URI of an absolute slash-separated path
// (file:///etc/iptables/rules.v4; a Windows drive, C:/x, as file:///C:/x).
func fileURI(abs string) string {
	if !strings.HasPrefix(abs, "/") {
		abs = "/" + abs
	}
	segs := strings.Split(abs, "/")
	for i, s := range segs {
		if i == 1 && len(s) == 2 && s[1] == ':' {
			continue // a drive letter
		}
		segs[i] = strings.ReplaceAll(url.PathEscape(s), ":", "%3A")
	}
	return "file://" + strings.Join(segs, "/")
}
