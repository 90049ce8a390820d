package lint_test

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"testing"

	"github.com/dfw-project/dfw/lint"
	"github.com/dfw-project/dfw/lint/analysis"
	"github.com/dfw-project/dfw/parser"
)

// streamInput is one FILE of a fleet: its name and, unless unreadable,
// its rules (applied on top of base when base is set).
type streamInput struct {
	name, path string
	base       string
	unreadable bool
}

var streamInputs = []streamInput{
	{name: "impl2.save", path: "../testdata/seed/impl2.save"},
	{name: "iptables.conf", path: "../testdata/seed/iptables.conf", base: "../testdata/seed/docker-20.10.save"},
	{name: "b-errors.rules", path: "testdata/stream-errors.rules"},
	{name: "docker-28.save", path: "../testdata/docker/docker-28.save"},
	{name: "gone.save", unreadable: true},
	{name: "impl1.save", path: "../testdata/seed/impl1.save"},
	{name: "iptables.conf", path: "../testdata/seed/iptables.conf", base: "../testdata/seed/docker-20.10.save"},
	{name: "a-errors.rules", path: "testdata/stream-errors.rules"},
	{name: "docker-20.10-two-bridges.save", path: "../testdata/docker/docker-20.10-two-bridges.save"},
}

// streamReports checks every input, as dfwlint check does.
func streamReports(t *testing.T, l *lint.Linter, in []streamInput) []*lint.Report {
	t.Helper()
	var out []*lint.Report
	for _, s := range in {
		if s.unreadable {
			rep := lint.NewReport()
			rep.Summary.Files, rep.Summary.Errors = 1, 1
			rep.Errors = append(rep.Errors, lint.Position{File: s.name, Message: "no such file or directory"})
			out = append(out, rep)
			continue
		}
		var srcs []parser.Source
		if s.base != "" {
			srcs = append(srcs, readSource(t, s.base, "docker-20.10.save"))
		}
		srcs = append(srcs, readSource(t, s.path, s.name))
		loaded := load(t, srcs)
		opts := lint.CheckOptions{Base: len(srcs) - 1}
		if len(loaded.Diags.Errors()) == 0 {
			opts.Analyzer = analysis.New(analysis.Options{})
		}
		rep, err := l.Check(context.Background(), loaded, opts)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, rep)
	}
	return out
}

// merged is what dfwlint check wrote before it streamed: the reports
// merged in the order given, an input error shared by several FILEs once.
func merged(reps []*lint.Report) *lint.Report {
	out := reps[0]
	out.Merge(reps[1:]...)
	seen := map[lint.Position]bool{}
	kept := out.Errors[:0]
	for _, e := range out.Errors {
		if !seen[e] {
			seen[e] = true
			kept = append(kept, e)
		}
	}
	out.Summary.Errors -= len(out.Errors) - len(kept)
	out.Errors = kept
	return out
}

// TestStream: a Stream fed the reports in the order of their names writes,
// in every format, what the merged report writes, and exits as it does;
// also when its findings are spooled to a temporary file.
func TestStream(t *testing.T) {
	l := newLinter(t)
	pathOpts := lint.TextOptions{Paths: lint.Paths{Dir: "/repo/hosts", Root: "/repo"}}
	type output struct {
		name  string
		write func(*lint.Report, *bytes.Buffer) error
		fmt   string
		opts  lint.TextOptions
	}
	outputs := []output{
		{"json", func(r *lint.Report, b *bytes.Buffer) error { return r.WriteJSON(b) }, "json", lint.TextOptions{}},
		{"text", func(r *lint.Report, b *bytes.Buffer) error { return r.WriteText(b) }, "text", lint.TextOptions{}},
		{"text-quiet-colour", func(r *lint.Report, b *bytes.Buffer) error {
			return r.WriteTextOptions(b, lint.TextOptions{Quiet: true, Colour: true})
		}, "text", lint.TextOptions{Quiet: true, Colour: true}},
		{"github", func(r *lint.Report, b *bytes.Buffer) error { return r.WriteGitHub(b) }, "github", lint.TextOptions{}},
		{"sarif", func(r *lint.Report, b *bytes.Buffer) error { return r.WriteSARIF(b) }, "sarif", lint.TextOptions{}},
		{"github-paths", func(r *lint.Report, b *bytes.Buffer) error { return r.WriteGitHubOptions(b, pathOpts) }, "github", pathOpts},
		{"sarif-paths", func(r *lint.Report, b *bytes.Buffer) error { return r.WriteSARIFOptions(b, pathOpts) }, "sarif", pathOpts},
	}
	cases := map[string][]streamInput{
		"fleet":    streamInputs,
		"one":      streamInputs[:1],
		"clean":    {{name: "clean.rules", path: "testdata/stream-clean.rules"}},
		"errors":   {{name: "x.rules", path: "testdata/stream-errors.rules"}, {name: "gone", unreadable: true}},
		"unread-1": append([]streamInput{{name: "zz-gone", unreadable: true}}, streamInputs[:3]...),
	}
	for _, spill := range []bool{false, true} {
		if spill {
			old := lint.SetSpoolMemory(100)
			defer lint.SetSpoolMemory(old)
		}
		for cname, in := range cases {
			for _, o := range outputs {
				t.Run(fmt.Sprintf("%s/%s/spill=%v", cname, o.name, spill), func(t *testing.T) {
					var want, got bytes.Buffer
					m := merged(streamReports(t, l, in))
					if err := o.write(m, &want); err != nil {
						t.Fatal(err)
					}
					reps := streamReports(t, l, in)
					order := make([]int, len(in))
					for i := range order {
						order[i] = i
					}
					sort.SliceStable(order, func(a, b int) bool { return in[order[a]].name < in[order[b]].name })
					s := lint.NewStream(&got, o.fmt, o.opts)
					for _, i := range order {
						if err := s.Add(reps[i], in[i].name, i); err != nil {
							t.Fatal(err)
						}
					}
					if err := s.Close(); err != nil {
						t.Fatal(err)
					}
					if got.String() != want.String() {
						t.Errorf("stream output differs from the merged report's:\n%s", lineDiff(want.String(), got.String()))
					}
					if s.Summary() != m.Summary {
						t.Errorf("summary %+v, merged %+v", s.Summary(), m.Summary)
					}
					for _, f := range []string{"", "info", "warning", "error", "never"} {
						if a, b := s.ExitCode(f), m.ExitCode(f); a != b {
							t.Errorf("--fail-on %q: exit %d, merged %d", f, a, b)
						}
					}
				})
			}
		}
	}
}

// lineDiff shows the first line where a and b differ.
func lineDiff(a, b string) string {
	al, bl := bytes.Split([]byte(a), []byte("\n")), bytes.Split([]byte(b), []byte("\n"))
	for i := 0; i < len(al) && i < len(bl); i++ {
		if !bytes.Equal(al[i], bl[i]) {
			return fmt.Sprintf("line %d:\nwant %s\ngot  %s", i+1, al[i], bl[i])
		}
	}
	return fmt.Sprintf("want %d lines, got %d", len(al), len(bl))
}
