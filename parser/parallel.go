package parser

import (
	"runtime"
	"runtime/debug"
	"sync"

	"github.com/dfw-project/dfw/internal/mapfile"
)

// parallelMin is the file size from which rule lines are parsed by worker
// goroutines. Smaller files are parsed on the calling goroutine (tests send
// any file through the pipe with Options.pipeBatch).
const parallelMin = 256 << 10

// batchLines is how many rule lines a batch holds.
const batchLines = 512

// ruleJob is a rule line waiting to be parsed, with the context the
// reading goroutine saw it in.
type ruleJob struct {
	lineNo  int
	line    string
	rest    string // the text after the line (see fileParser.rulesAhead)
	table   string
	inTable bool
	comment string
	chain   bool // a chain line, not a rule line
}

// batch is a run of consecutive rule lines, parsed together by one worker.
type batch struct {
	jobs []ruleJob
	// cmds are the parsed commands, nil for a line that gave none. When
	// the file is streamed, the commands that add rules live in slots
	// and ruleSlots, which serve again once the batch is applied.
	cmds      []*Command
	slots     []Command
	ruleSlots [][1]*Rule
	diags     ErrorList
	nerr      int
	done      chan struct{}
	// panicked is what a worker recovered while parsing the batch.
	panicked any
	// a, for a lean load, holds the batch's rules while they are parsed
	// and applied; the applier keeps lean copies (applier.detach), and
	// the arena serves the next batch.
	a arena
}

// pipe parses the rule lines of a large file on worker goroutines while
// the reading goroutine goes on: it reads the lines, handles the others
// (tables, chain lines, COMMIT) itself, hands rule lines over in batches,
// and takes the parsed batches back in file order, emitting (and, when
// streaming, applying) their commands. So the commands come out in the
// order of a sequential read, with the same diagnostics; at most a few
// batches are in flight, so memory stays bounded as streaming wants.
//
// A batch's errors are counted only when it is taken back, so the reader
// cannot stop at the line where a sequential read would stop for too many
// errors (MaxErrors): a file that reaches the limit is read again
// sequentially (fileParser.redo), or, when streaming, loaded again without
// streaming (streamApply.failed), which reads it again too.
type pipe struct {
	// work holds up to max batches, so that handing one over never
	// waits for a worker: with an unbuffered channel the reading goroutine
	// waited there for about a quarter of its time on the 80,000-rule
	// kube-proxy ruleset (both workers busy), time it now spends reading.
	work     chan *batch
	inflight []*batch // handed over, in file order
	free     []*batch
	cur      *batch
	max      int // batches in flight at most
	lines    int // rule lines per batch
	lean     bool
	wg       sync.WaitGroup
}

// startPipe starts the workers, each with its own parser state, for
// batches of the given number of lines.
func (p *fileParser) startPipe(lines int) {
	n := runtime.GOMAXPROCS(0)
	stream := p.stream != nil
	pp := &pipe{work: make(chan *batch, 2*n), max: 2 * n, lines: lines, lean: stream && p.stream.lean}
	for range n {
		pp.wg.Add(1)
		go func() {
			defer pp.wg.Done()
			if p.opts.Mapped {
				debug.SetPanicOnFault(true)
			}
			wp := &fileParser{f: &File{Name: p.f.Name, Family: p.f.Family}, opts: p.opts, leanChains: pp.lean}
			w := &worker{pp: pp, p: wp, stream: stream}
			if pp.lean {
				w.lc.rules.populate, w.lc.targets.populate = true, true
				w.chains.populate = true
			}
			for b := range pp.work {
				w.run(b)
			}
		}()
	}
	p.pipe = pp
}

// worker is the state of one of the pipe's worker goroutines.
type worker struct {
	pp     *pipe
	p      *fileParser
	lc     leanCopier
	stream bool
	// chains holds the chains of the chain lines the worker parses
	// (Command.chain). The 80,000-rule kube-proxy ruleset declares 29,791
	// chains: made here, on the workers, they no longer hold back the
	// reading goroutine, which applies them one by one.
	chains slab[Chain]
}

// run parses a batch. With Options.Mapped, a fault (reading a mapped
// file that shrank) is handed to the reading goroutine with the
// batch, which panics with it (takeOldest), and the worker goes on with
// the next batch, so that the pipe can stop.
func (w *worker) run(b *batch) {
	pp, wp := w.pp, w.p
	defer func() {
		if !wp.opts.Mapped {
			return // a panic is a bug: it crashes with its stack
		}
		if r := recover(); r != nil {
			if !mapfile.IsFault(r) {
				panic(r)
			}
			b.panicked = r
			wp.a, wp.f.Diags, wp.nerr = arena{}, nil, 0
			close(b.done)
		}
	}()
	if pp.lean {
		wp.a = b.a
	}
	for i, j := range b.jobs {
		wp.table, wp.inTable, wp.comment = j.table, j.inTable, j.comment
		if w.stream {
			wp.cmdSlot, wp.ruleSlot = &b.slots[i], &b.ruleSlots[i]
		}
		if j.chain {
			c := wp.parseChainLine(j.lineNo, j.line)
			if c != nil && w.stream && !IsBuiltin(c.Table, c.Chain) {
				c.chain = w.chains.put(Chain{Table: c.Table, Name: c.Chain, Pos: c.Pos, Comment: c.Comment})
			}
			b.cmds[i] = c
			continue
		}
		if pp.lean {
			if c := wp.fastRule(j.lineNo, j.line, &w.lc, &b.slots[i], &b.ruleSlots[i]); c != nil {
				b.cmds[i] = c
				continue
			}
		}
		c := wp.parseRuleLine(j.lineNo, j.line)
		if pp.lean && c != nil {
			switch c.Op {
			case OpAppend, OpInsert, OpReplace:
				// The lean copies are made here rather than by the
				// applier, on the reading goroutine that waits for
				// every batch.
				for k, r := range c.Rules {
					c.Rules[k] = w.lc.detach(r)
				}
				c.detached = true
			}
		}
		b.cmds[i] = c
	}
	if pp.lean {
		b.a, wp.a = wp.a, arena{}
	}
	b.diags, wp.f.Diags = wp.f.Diags, nil
	b.nerr, wp.nerr = wp.nerr, 0
	close(b.done)
}

// add hands a rule line over.
func (pp *pipe) add(p *fileParser, j ruleJob) {
	b := pp.cur
	if b == nil {
		if k := len(pp.free); k > 0 {
			b, pp.free = pp.free[k-1], pp.free[:k-1]
			b.jobs = b.jobs[:0]
		} else {
			b = &batch{jobs: make([]ruleJob, 0, pp.lines)}
			if pp.lean {
				b.a.recycle()
			}
		}
		pp.cur = b
	}
	b.jobs = append(b.jobs, j)
	if len(b.jobs) >= pp.lines {
		pp.send(p)
	}
}

// send hands the current batch to the workers, first taking back the
// oldest batch when as many as allowed are in flight.
func (pp *pipe) send(p *fileParser) {
	b := pp.cur
	if b == nil {
		return
	}
	pp.cur = nil
	if len(pp.inflight) >= pp.max {
		pp.takeOldest(p)
	}
	n := len(b.jobs)
	b.cmds = grow(b.cmds, n)
	if p.stream != nil {
		b.slots = grow(b.slots, n)
		b.ruleSlots = grow(b.ruleSlots, n)
	}
	b.done = make(chan struct{})
	pp.inflight = append(pp.inflight, b)
	pp.work <- b
}

// grow returns s with length n, its old elements cleared.
func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	s = s[:n]
	clear(s)
	return s
}

// takeOldest waits for the oldest batch in flight and emits its commands.
func (pp *pipe) takeOldest(p *fileParser) {
	b := pp.inflight[0]
	pp.inflight = pp.inflight[1:]
	<-b.done
	if r := b.panicked; r != nil {
		panic(r)
	}
	p.f.Diags = append(p.f.Diags, b.diags...)
	p.nerr += b.nerr
	if p.nerr >= MaxErrors {
		// See pipe: read again without the pipe.
		if p.stream != nil {
			p.stream.failed = true
		}
		p.redo, p.stopped = true, true
	}
	if !p.stopped {
		for i, c := range b.cmds {
			if c != nil {
				p.rest = b.jobs[i].rest
				p.emitNow(c)
			}
		}
	}
	b.diags = nil
	clear(b.cmds)
	if pp.lean {
		// Nothing refers to the batch's rules any more.
		clear(b.slots)
		clear(b.ruleSlots)
		b.a.reset()
	}
	pp.free = append(pp.free, b)
}

// drain takes back every batch, the current one included, in order.
func (pp *pipe) drain(p *fileParser) {
	pp.send(p)
	for len(pp.inflight) > 0 {
		pp.takeOldest(p)
	}
}

// stop drains the pipe and ends its workers. It is deferred: when the
// reading goroutine panics (with a worker's fault, handed over by
// takeOldest, or its own), or panics while draining, stop ends the workers
// without taking back what is in flight, and the panic goes on.
func (pp *pipe) stop(p *fileParser) {
	r := recover()
	defer func() {
		close(pp.work)
		pp.wg.Wait()
	}()
	if r != nil {
		panic(r)
	}
	pp.drain(p)
}
