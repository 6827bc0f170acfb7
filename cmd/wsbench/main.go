// Command wsbench generates WebSocket load against wsgw (or its own bare gws
// baseline server) on this machine only, and reports handshake rates, echo
// round-trip latency, REST send throughput and per-connection memory.
//
// Usage: wsbench <scenario> [flags]; see docs/wsbench.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"os/signal"
	"runtime/pprof"
	"sync"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case errors.Is(err, errUsage):
		os.Exit(2)
	case err != nil:
		slog.Error("wsbench failed", "err", err)
		os.Exit(1)
	}
}

// runner carries what a scenario needs from the process around it.
type runner struct {
	cfg        *Config
	share      share
	targets    []endpoint // every --url, checked to be loopback; connections go to them in turn
	target     endpoint   // the first of them
	pub        endpoint   // fanout: --pub-url
	admin      endpoint   // --admin, for rest-send
	attack     endpoint   // --attack-url, for echo's --attackers
	listen     netip.AddrPort
	srcAddrs   int // loopback source addresses to spread dials over
	maxSockets int // what the open-files limit lets this process hold
	ctr        counters
	link       *childLink // set in a child process
}

// run parses args, runs the scenario in this process, as a child, or as
// the parent of --procs children, and prints the summary.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	stderr = &lockedWriter{w: stderr} // shared by slog, the progress line and children's logs
	cfg, err := parseArgs(args, stderr)
	if err != nil {
		return err
	}
	setupLogging(cfg, stderr)
	if cfg.CPUProfile != "" {
		stop, err := startCPUProfile(cfg.CPUProfile)
		if err != nil {
			return err
		}
		defer stop()
	}
	r, err := newRunner(ctx, cfg)
	if err != nil {
		return err
	}
	need := r.share.Conns // a parent checks for its largest child, share 0
	if cfg.Scenario == "baseline" {
		need = 0
	}
	r.maxSockets = raiseNoFile(need, cfg.Child < 0)

	started := time.Now()
	if cfg.Child >= 0 {
		r.link = newChildLink(stdout, os.Stdin)
		return r.link.runChild(ctx, r)
	}
	var res *Results
	if cfg.Procs > 1 {
		res, err = runParent(ctx, r, args, stderr)
	} else {
		stopProgress := startProgress(ctx, stderr, cfg.Scenario, r.ctr.snap)
		res, err = runScenario(ctx, r)
		stopProgress()
	}
	if err != nil {
		return err
	}
	rep := newReport(cfg, started, res)
	if cfg.JSON {
		return writeJSON(stdout, rep)
	}
	return writeText(stdout, rep)
}

// startCPUProfile profiles this process's CPU into path until stop.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			slog.Error("writing the CPU profile failed", "path", path, "err", err)
		}
	}, nil
}

// newRunner applies the loopback guard to every address the scenario will
// touch and works out this process's share of the load.
func newRunner(ctx context.Context, cfg *Config) (*runner, error) {
	r := &runner{cfg: cfg, share: cfg.shareOf(max(cfg.Child, 0))}
	var err error
	if cfg.Scenario == "baseline" {
		r.listen, err = loopbackAddr(ctx, cfg.Listen)
		if err != nil {
			return nil, fmt.Errorf("--listen: %w", err)
		}
		if cfg.Procs > 1 && r.listen.Port() == 0 {
			return nil, fmt.Errorf("--listen needs a fixed port when --procs > 1 share it")
		}
		return r, nil
	}
	for _, u := range cfg.URL {
		ep, err := loopbackEndpoint(ctx, u, "ws")
		if err != nil {
			return nil, fmt.Errorf("--url: %w", err)
		}
		r.targets = append(r.targets, ep)
	}
	r.target = r.targets[0]
	if cfg.Scenario == "fanout" && cfg.Publisher == "ws" {
		if r.pub, err = loopbackEndpoint(ctx, cfg.PubURL, "ws"); err != nil {
			return nil, fmt.Errorf("--pub-url: %w", err)
		}
	}
	if cfg.Attackers > 0 {
		if r.attack, err = loopbackEndpoint(ctx, cfg.AttackURL, "ws"); err != nil {
			return nil, fmt.Errorf("--attack-url: %w", err)
		}
	}
	if cfg.Scenario == "rest-send" || cfg.Scenario == "fanout" && cfg.Publisher == "rest" {
		if r.admin, err = loopbackEndpoint(ctx, cfg.Admin, "http"); err != nil {
			return nil, fmt.Errorf("--admin: %w", err)
		}
	}
	// Each (source, destination) pair has its own ports, so what counts is
	// the connections to one target.
	perTarget := (cfg.Conns + len(r.targets) - 1) / len(r.targets)
	for _, t := range r.targets {
		n, err := sourceAddrs(cfg.SrcAddrs, perTarget, t.Addr.Addr())
		if err != nil {
			return nil, err
		}
		if r.srcAddrs == 0 || n < r.srcAddrs { // one IPv6 target keeps every dial on one source
			r.srcAddrs = n
		}
	}
	if r.srcAddrs > 1 && cfg.Child < 0 {
		slog.Info("spreading connections over loopback source addresses to avoid ephemeral-port exhaustion",
			"from", "127.0.0.1", "to", netip.AddrFrom4([4]byte{127, 0, 0, byte(r.srcAddrs)}))
	}
	for _, pid := range cfg.PIDs {
		if pid == os.Getpid() {
			return nil, fmt.Errorf("--pid %d is wsbench itself: its RSS would include the clients", pid)
		}
	}
	return r, nil
}

// runScenario runs this process's share of the scenario.
func runScenario(ctx context.Context, r *runner) (*Results, error) {
	switch r.cfg.Scenario {
	case "connect":
		return runConnect(ctx, r)
	case "idle":
		return runIdle(ctx, r)
	case "echo":
		return runEcho(ctx, r)
	case "rest-send":
		return runRESTSend(ctx, r)
	case "fanout":
		return runFanout(ctx, r)
	case "baseline":
		return runBaseline(ctx, r)
	}
	return nil, fmt.Errorf("unknown scenario %q", r.cfg.Scenario)
}

// setupLogging sends slog text logs to stderr; children tag their lines.
func setupLogging(cfg *Config, stderr io.Writer) {
	level := slog.LevelInfo
	if cfg.Verbose {
		level = slog.LevelDebug
	}
	l := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	if cfg.Child >= 0 {
		l = l.With("child", cfg.Child)
	}
	slog.SetDefault(l)
}

// lockedWriter serialises writes so that lines from several writers do not
// interleave.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// sleepCtx waits for d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
