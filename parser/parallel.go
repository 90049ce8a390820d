package parser

import (
	"runtime"
	"sync"
)

// parallelMin is the file size from which rule lines are parsed by several
// goroutines. Smaller files are parsed on the calling goroutine.
const parallelMin = 256 << 10

// ruleJob is a rule line waiting to be parsed, with the context the
// sequential pass saw it in.
type ruleJob struct {
	slot    int // index of its placeholder in File.Commands
	lineNo  int
	line    string
	table   string
	inTable bool
	comment string
}

// runJobs parses the collected rule lines on GOMAXPROCS goroutines, each
// with its own parser state, fills the placeholders and merges the
// diagnostics. The result is the same as a sequential parse: commands keep
// their order. A file with MaxErrors errors or more is read again
// sequentially (redo), since the sequential reader stops at the line after
// the error that reaches the limit and what it then reports depends on
// where it stopped.
func (p *fileParser) runJobs() {
	jobs := *p.jobs
	p.jobs = nil
	n := runtime.GOMAXPROCS(0)
	if n > len(jobs) {
		n = len(jobs)
	}
	type part struct {
		diags ErrorList
	}
	parts := make([]part, n)
	var wg sync.WaitGroup
	for w := 0; w < n; w++ {
		lo, hi := w*len(jobs)/n, (w+1)*len(jobs)/n
		wg.Add(1)
		go func(w int, jobs []ruleJob) {
			defer wg.Done()
			wp := &fileParser{f: &File{Name: p.f.Name, Family: p.f.Family}, opts: p.opts}
			for _, j := range jobs {
				wp.table, wp.inTable, wp.comment = j.table, j.inTable, j.comment
				p.f.Commands[j.slot] = wp.parseRuleLine(j.lineNo, j.line)
			}
			parts[w].diags = wp.f.Diags
		}(w, jobs[lo:hi])
	}
	wg.Wait()
	for _, pt := range parts {
		p.f.Diags = append(p.f.Diags, pt.diags...)
	}
	// Drop the placeholders of lines that gave no command.
	kept := p.f.Commands[:0]
	for _, c := range p.f.Commands {
		if c != nil {
			kept = append(kept, c)
		}
	}
	p.f.Commands = kept
	if len(p.f.Diags.Errors()) >= MaxErrors {
		p.redo = true
	}
}
