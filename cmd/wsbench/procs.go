package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"sync"
	"syscall"
	"time"
)

// One process can hold only as many sockets as its open-files hard limit,
// so --procs N re-executes wsbench N times with the hidden --wsbench-child
// flag. A child talks to its parent in JSON lines on stdout (progress every
// second, "held" in the idle scenario, then its result) and treats the end
// of stdin as the parent's signal to release held connections. Its stderr
// (logs) goes straight to the parent's stderr.

// event is one JSON line from a child.
type event struct {
	Type     string        `json:"type"` // progress | held | result
	Progress *progressSnap `json:"progress,omitempty"`
	Held     int64         `json:"held,omitempty"`
	Result   *Results      `json:"result,omitempty"`
}

// childLink is the child's side.
type childLink struct {
	mu  sync.Mutex
	enc *json.Encoder
	in  io.Reader
}

func newChildLink(out io.Writer, in io.Reader) *childLink {
	return &childLink{enc: json.NewEncoder(out), in: in}
}

func (l *childLink) send(e event) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.enc.Encode(e); err != nil {
		return fmt.Errorf("write %s event to parent: %w", e.Type, err)
	}
	return nil
}

// runChild runs this child's share, reporting progress each second, and
// sends the result.
func (l *childLink) runChild(ctx context.Context, r *runner) error {
	pctx, cancel := context.WithCancel(ctx)
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-pctx.Done():
				return
			case <-t.C:
				s := r.ctr.snap()
				_ = l.send(event{Type: "progress", Progress: &s})
			}
		}
	}()
	res, err := runScenario(ctx, r)
	cancel()
	if err != nil {
		return err
	}
	return l.send(event{Type: "result", Result: res})
}

// holdBarrier tells the parent that held connections are up and waits for
// the parent to close stdin (or for ctx to end). It returns what the parent
// wrote before closing: nothing for idle, a releaseMsg for fanout.
func (l *childLink) holdBarrier(ctx context.Context, held int64) ([]byte, error) {
	if err := l.send(event{Type: "held", Held: held}); err != nil {
		return nil, err
	}
	var release []byte
	released := make(chan struct{})
	go func() {
		release, _ = io.ReadAll(io.LimitReader(l.in, 1<<20))
		close(released)
	}()
	select {
	case <-released:
		return release, nil
	case <-ctx.Done():
		return nil, nil
	}
}

// child is the parent's view of one child process.
type child struct {
	idx    int
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	mu     sync.Mutex
	last   progressSnap
	held   int64
	result *Results
	done   chan struct{} // closed when stdout ends
}

// runParent starts --procs children, prints their summed progress, runs
// the phase that needs all of them at once (idle: reading memory; fanout:
// publishing), and merges their results.
func runParent(ctx context.Context, r *runner, args []string, stderr io.Writer) (*Results, error) {
	cfg := r.cfg
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find own executable to re-run as child: %w", err)
	}
	var before memSample
	if cfg.Scenario == "idle" {
		if before, err = sampleMem(cfg.PIDs); err != nil {
			return nil, err
		}
	}
	heldCh := make(chan struct{}, cfg.Procs)
	children := make([]*child, cfg.Procs)
	for i := range children {
		c, err := startChild(ctx, exe, args, i, stderr, heldCh)
		if err != nil {
			for _, started := range children[:i] {
				_ = started.cmd.Process.Signal(syscall.SIGTERM)
				_ = started.cmd.Wait()
			}
			return nil, err
		}
		children[i] = c
	}
	defer startProgress(ctx, stderr, cfg.Scenario, func() progressSnap {
		sum := r.ctr.snap() // the parent's own work: fanout's publisher
		for _, c := range children {
			c.mu.Lock()
			sum.Conns += c.last.Conns
			sum.Sent += c.last.Sent
			sum.Recv += c.last.Recv
			sum.Errors += c.last.Errors
			c.mu.Unlock()
		}
		return sum
	})()

	var mem *MemStats
	var pub *publisher
	if cfg.Scenario == "idle" || cfg.Scenario == "fanout" {
		for range children { // each child reports held, or ends
			<-heldCh
		}
		var held int64
		for _, c := range children {
			c.mu.Lock()
			held += c.held
			c.mu.Unlock()
		}
		var release []byte
		if cfg.Scenario == "idle" {
			mem, err = holdPhase(ctx, cfg, before, held)
		} else {
			pub, release, err = publishPhase(ctx, r, held)
			if pub != nil {
				defer pub.close() // after the children drained
			}
		}
		for _, c := range children {
			_, _ = c.stdin.Write(release)
			_ = c.stdin.Close()
		}
		if err != nil {
			return nil, err
		}
	}

	var errs []error
	results := make([]*Results, 0, len(children))
	for _, c := range children {
		<-c.done
		if err := c.cmd.Wait(); err != nil {
			errs = append(errs, fmt.Errorf("child %d: %w", c.idx, err))
		}
		if c.result == nil {
			errs = append(errs, fmt.Errorf("child %d sent no result", c.idx))
		}
		results = append(results, c.result)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	m := mergeResults(results)
	if mem != nil {
		m.Memory = mem
	}
	if pub != nil {
		m.Fanout = m.Fanout.add(pub.stats())
		m.Fanout.finalize()
	}
	return m, nil
}

// publishPhase runs fanout's publisher once every child holds its members
// (held of them in the group) and returns the release message that tells
// the children how many publishes to wait for.
func publishPhase(ctx context.Context, r *runner, held int64) (*publisher, []byte, error) {
	if held == 0 {
		return nil, nil, errNoMemberReady(r.cfg)
	}
	slog.Info("every member is in the group; publishing", "members", held, "rate", r.cfg.Rate, "duration", r.cfg.Duration)
	pub, err := startPublisher(ctx, r)
	if err != nil {
		return nil, nil, err
	}
	pub.run(ctx)
	release, err := json.Marshal(releaseMsg{Accepted: pub.accepted()})
	return pub, release, err
}

// startChild re-executes exe with args plus the child flag and starts
// reading its events.
func startChild(ctx context.Context, exe string, args []string, idx int, stderr io.Writer, heldCh chan<- struct{}) (*child, error) {
	cmd := exec.Command(exe, append(slices.Clone(args), fmt.Sprintf("--%s=%d", childFlag, idx))...)
	cmd.Stderr = stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlive the parent
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("child %d stdin: %w", idx, err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("child %d stdout: %w", idx, err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start child %d: %w", idx, err)
	}
	c := &child{idx: idx, cmd: cmd, stdin: stdin, done: make(chan struct{})}
	go c.read(stdout, heldCh)
	go func() {
		select {
		case <-ctx.Done(): // stop it as a signal stops a single process: it still reports what it has
			_ = cmd.Process.Signal(syscall.SIGTERM)
		case <-c.done:
		}
	}()
	return c, nil
}

// read consumes the child's events until its stdout ends; it signals heldCh
// exactly once, on "held" or at the end, so the parent never waits for a
// child that died.
func (c *child) read(stdout io.Reader, heldCh chan<- struct{}) {
	defer close(c.done)
	var once sync.Once
	defer once.Do(func() { heldCh <- struct{}{} })
	br := bufio.NewReader(stdout)
	for {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			var e event
			if jerr := json.Unmarshal(line, &e); jerr == nil {
				c.mu.Lock()
				switch e.Type {
				case "progress":
					if e.Progress != nil {
						c.last = *e.Progress
					}
				case "held":
					c.held = e.Held
				case "result":
					c.result = e.Result
				}
				c.mu.Unlock()
				if e.Type == "held" {
					once.Do(func() { heldCh <- struct{}{} })
				}
			}
		}
		if err != nil {
			return
		}
	}
}

// progressLoop prints one line per second to w from cumulative counters.
// startProgress writes progress lines to w every second until the
// returned stop is called; stop returns once the last line is written, so
// that nothing writes to w after the scenario has returned.
func startProgress(ctx context.Context, w io.Writer, scenario string, src func() progressSnap) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		progressLoop(ctx, w, scenario, src)
	}()
	return func() { cancel(); <-done }
}

func progressLoop(ctx context.Context, w io.Writer, scenario string, src func() progressSnap) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	start, prevT, prev := time.Now(), time.Now(), src()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			s, dt := src(), now.Sub(prevT).Seconds()
			fmt.Fprintf(w, "%s %5.0fs  conns %7d  out %9.0f/s  in %9.0f/s  errors %d\n", scenario,
				now.Sub(start).Seconds(), s.Conns, float64(s.Sent-prev.Sent)/dt, float64(s.Recv-prev.Recv)/dt, s.Errors)
			prev, prevT = s, now
		}
	}
}
