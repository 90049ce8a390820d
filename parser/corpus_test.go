package parser

import (
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// inCI reports whether the tests run in CI, where missing prerequisites
// fail instead of skipping.
func inCI() bool { return os.Getenv("CI") == "true" }

// corpusFiles returns the corpus files (*.save) sorted by name: from
// $DFW_CORPUS, else ../shared/corpus beside the repository root. It skips
// the test when there is no corpus, unless CI=true, where it fails.
func corpusFiles(t testing.TB) []string {
	t.Helper()
	dir := corpusPath()
	files, _ := filepath.Glob(filepath.Join(dir, "*.save"))
	if len(files) == 0 {
		if inCI() {
			t.Fatalf("no corpus files in %s (CI=true: the corpus must be there; set DFW_CORPUS)", dir)
		}
		t.Skipf("no corpus files in %s (set DFW_CORPUS to run)", dir)
	}
	sort.Strings(files)
	return files
}

// loadOne loads one file as its own ruleset.
func loadOne(name string, data []byte, opts Options) *Loaded {
	return Load([]Source{{Name: name, Data: data}}, opts)
}

func saveText(t testing.TB, rs *Ruleset) string {
	t.Helper()
	var b bytes.Buffer
	if err := rs.WriteSave(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestCorpusRoundTrip checks, for every corpus file that loads without
// error, that its canonical text loads without error to the same canonical
// text (printing is idempotent).
func TestCorpusRoundTrip(t *testing.T) {
	files := corpusFiles(t)
	ok := 0
	for _, path := range files {
		name := filepath.Base(path)
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		l := loadOne(name, data, Options{})
		if l.Diags.Err() != nil {
			continue
		}
		ok++
		roundTrip(t, name, l.Ruleset)
	}
	t.Logf("round trip: %d of %d corpus files load without error and round-trip", ok, len(files))
}

// roundTrip checks print(parse(print(rs))) == print(rs).
func roundTrip(t *testing.T, name string, rs *Ruleset) {
	t.Helper()
	text1 := saveText(t, rs)
	l2 := loadOne(name+".canonical", []byte(text1), Options{Family: rs.Family})
	if err := l2.Diags.Err(); err != nil {
		t.Errorf("%s: canonical text does not reparse: %v", name, err)
		return
	}
	text2 := saveText(t, l2.Ruleset)
	if text1 != text2 {
		t.Errorf("%s: printing is not idempotent:\n%s", name, firstDiff(text1, text2))
	}
}

// firstDiff shows the first differing line of two texts.
func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(al) || i < len(bl); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			return "line " + strconv.Itoa(i+1) + ":\n  first:  " + x + "\n  second: " + y
		}
	}
	return "(no difference)"
}
