package mapfile

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"testing"
)

func TestRead(t *testing.T) {
	dir := t.TempDir()
	small := bytes.Repeat([]byte("-A INPUT -j ACCEPT\n"), 10)
	large := bytes.Repeat([]byte("-A INPUT -s 10.0.0.1 -j ACCEPT\n"), Min/16)
	for _, tc := range []struct {
		name   string
		data   []byte
		mapped bool
	}{
		{"small", small, false},
		{"large", large, runtime.GOOS != "windows" && runtime.GOOS != "plan9" && runtime.GOOS != "js" && runtime.GOOS != "wasip1"},
		{"empty", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := filepath.Join(dir, tc.name)
			if err := os.WriteFile(name, tc.data, 0o644); err != nil {
				t.Fatal(err)
			}
			data, release, mapped, err := Read(name)
			if err != nil {
				t.Fatal(err)
			}
			defer release()
			if mapped != tc.mapped {
				t.Errorf("mapped = %v, want %v", mapped, tc.mapped)
			}
			if !bytes.Equal(data, tc.data) {
				t.Errorf("data differs from the file's (%d bytes, want %d)", len(data), len(tc.data))
			}
			release() // twice is harmless
		})
	}
	t.Run("missing", func(t *testing.T) {
		_, release, _, err := Read(filepath.Join(dir, "missing"))
		release()
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("err = %v, want one that is fs.ErrNotExist", err)
		}
	})
	t.Run("directory", func(t *testing.T) {
		if _, _, _, err := Read(dir); err == nil {
			t.Error("reading a directory gave no error")
		}
	})
}

// TestShrunk truncates a mapped file and reads past its new end: the
// fault is a panic that IsFault recognises, not a crash.
func TestShrunk(t *testing.T) {
	name := filepath.Join(t.TempDir(), "rules")
	if err := os.WriteFile(name, bytes.Repeat([]byte("x"), 4*Min), 0o644); err != nil {
		t.Fatal(err)
	}
	data, release, mapped, err := Read(name)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	if !mapped {
		t.Skipf("files are not mapped on %s", runtime.GOOS)
	}
	if err := os.Truncate(name, 0); err != nil {
		t.Fatal(err)
	}
	var got any
	func() {
		defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
		defer func() { got = recover() }()
		sink = data[len(data)-1]
	}()
	if !IsFault(got) {
		t.Fatalf("reading the lost page gave %v (%T), want a fault", got, got)
	}
	for _, v := range []any{nil, "x", errors.New("x")} {
		if IsFault(v) {
			t.Errorf("IsFault(%#v) = true", v)
		}
	}
}

var sink byte
