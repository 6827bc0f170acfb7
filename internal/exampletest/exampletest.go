// Package exampletest runs the examples under examples/ as a user runs them:
// the real gateway binary, built once per test process, started on an
// example's own configuration with loopback ports, its JSON log lines kept
// for tests to wait on and shown when a test fails, and stopped with SIGTERM,
// which must end it cleanly. Clients are internal/gwtest's; the admin REST
// API is called over HTTP.
//
// An example's test package hands its TestMain to Main, then starts the
// gateway from the example's folder:
//
//	func TestMain(m *testing.M) { exampletest.Main(m) }
//
//	gw := exampletest.Start(t, "gateway.yaml", exampletest.Options{})
//	c := gw.Dial(t, "/echo", nil)
package exampletest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wsgw/wsgw/internal/gwtest"
)

// WaitFor bounds every wait on the gateway (its start, a log line, an HTTP
// call), so a broken example fails its test instead of hanging it.
const WaitFor = gwtest.WaitFor

// stopWait bounds a stop: the gateway's own shutdown_timeout (10s by
// default) and then some.
const stopWait = 30 * time.Second

// build is the gateway binary of this test process.
var build struct {
	dir  string // made by Main, removed when the tests end
	once sync.Once
	bin  string
	err  error
}

// Main runs the package's tests and removes the gateway binary they built.
// Call it from TestMain: Start needs it.
func Main(m *testing.M) {
	dir, err := os.MkdirTemp("", "wsgw-exampletest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "exampletest:", err)
		os.Exit(1)
	}
	build.dir = dir
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// binary builds cmd/gateway once for the whole test process, with the race
// detector when the tests have it, so that the example runs instrumented too.
func binary() (string, error) {
	build.once.Do(func() {
		if build.dir == "" {
			build.err = errors.New("exampletest: call exampletest.Main(m) from the package's TestMain")
			return
		}
		bin := filepath.Join(build.dir, "gateway")
		args := []string{"build", "-o", bin}
		if raceEnabled {
			args = append(args, "-race")
		}
		out, err := exec.Command("go", append(args, "github.com/wsgw/wsgw/cmd/gateway")...).CombinedOutput()
		if err != nil {
			build.err = fmt.Errorf("go build ./cmd/gateway: %v\n%s", err, out)
			return
		}
		build.bin = bin
	})
	return build.bin, build.err
}

// Options are what a test changes of an example's run; the zero value runs
// the configuration as it is.
type Options struct {
	// Env adds environment variables, such as WSGW_* overrides of the
	// configuration (WSGW_LIMITS_ON_EXCEED=delay). The test process's own
	// WSGW_* variables are not passed on, so a developer's shell cannot
	// change what an example does.
	Env []string
	// Args adds flags, such as --redis.
	Args []string
	// AdminToken is set as admin.token, and sent by Call.
	AdminToken string
}

// Gateway is a running gateway process.
type Gateway struct {
	// Public and Admin are the bound listeners, host:port on loopback.
	Public, Admin string
	// Logs are the process's log lines.
	Logs *Logs

	token  string
	cmd    *exec.Cmd
	exited chan struct{} // closed when the process has ended
	err    error         // what Wait said, once exited is closed
	stop   sync.Once
	client *http.Client
}

// Start builds the gateway (once), runs it on config, a path relative to the
// test's working directory (the example's folder), on loopback ports of the
// system's choosing, and returns once both listeners answer the health
// probe. When the test ends it stops the gateway with SIGTERM and fails the
// test unless the process exits 0; when the test has failed, the gateway's
// output is logged. Start skips the test in -short mode.
func Start(t testing.TB, config string, o Options) *Gateway {
	t.Helper()
	if testing.Short() {
		t.Skip("exampletest: builds and runs the gateway binary")
	}
	bin, err := binary()
	if err != nil {
		t.Fatal(err)
	}
	g, err := start(bin, config, o)
	if g != nil {
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("gateway output (%s):\n%s", config, g.Logs)
			}
		})
		t.Cleanup(func() { g.Stop(t) })
	}
	if err != nil {
		t.Fatalf("start %s: %v", config, err)
	}
	return g
}

// start runs bin on config and waits until it serves. A gateway that was
// started is returned even with an error, for its output and its stop.
func start(bin, config string, o Options) (*Gateway, error) {
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "WSGW_") })
	env = append(env, o.Env...)
	if o.AdminToken != "" {
		env = append(env, "WSGW_ADMIN_TOKEN="+o.AdminToken)
	}
	env = append(env, "WSGW_LOG_FORMAT=json") // the lines Logs reads
	if raceEnabled {
		// A race-enabled binary sleeps 1s at exit by default, for reports
		// of other goroutines to finish: a second per stop.
		env = append(env, "GORACE="+strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	}
	args := append([]string{"--config", config, "--addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0"}, o.Args...)
	logs := newLogs()
	cmd := exec.Command(bin, args...)
	cmd.Env, cmd.Stdout, cmd.Stderr = env, logs, logs
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	g := &Gateway{
		Logs: logs, token: o.AdminToken, cmd: cmd, exited: make(chan struct{}),
		client: &http.Client{Timeout: WaitFor},
	}
	go func() {
		g.err = cmd.Wait()
		close(g.exited)
	}()
	ready, err := logs.waitUnless(Msg("wsgw listening"), g.exited, WaitFor)
	if err != nil {
		return g, fmt.Errorf("no \"wsgw listening\" line: %w", err)
	}
	if ready["public_tls"] == true || ready["admin_tls"] == true {
		return g, errors.New("the example serves TLS; exampletest speaks plain HTTP and WebSocket")
	}
	g.Public, _ = ready["public"].(string)
	g.Admin, _ = ready["admin"].(string)
	if host, _, err := net.SplitHostPort(g.Admin); err != nil || !net.ParseIP(host).IsLoopback() {
		return g, fmt.Errorf("admin listener on %q, want loopback", g.Admin)
	}
	for _, base := range []string{g.Public, g.Admin} {
		if err := g.healthy("http://" + base + "/api/v1/solution/health"); err != nil {
			return g, err
		}
	}
	return g, nil
}

// healthy polls the health probe at url until it answers 200.
func (g *Gateway) healthy(url string) error {
	deadline := time.Now().Add(WaitFor)
	for {
		status, body, err := g.do(http.MethodGet, url, nil)
		if err == nil && status == http.StatusOK {
			return nil
		}
		select {
		case <-g.exited:
			return fmt.Errorf("gateway exited (%v) before %s answered", g.err, url)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: %d %q, %v; want 200 within %v", url, status, body, err, WaitFor)
		}
		time.Sleep(10 * time.Millisecond) // polled: a listener has no signal of its own
	}
}

// Stop sends SIGTERM and fails the test unless the gateway exits 0 in time;
// once stopped, further calls do nothing. Start calls it when the test ends.
func (g *Gateway) Stop(t testing.TB) {
	t.Helper()
	g.stop.Do(func() {
		select {
		case <-g.exited:
			t.Errorf("the gateway had already exited: %v", g.err)
			return
		default:
		}
		if err := g.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Errorf("SIGTERM: %v", err)
		}
		select {
		case <-g.exited:
		case <-time.After(stopWait):
			_ = g.cmd.Process.Kill()
			<-g.exited
			t.Errorf("the gateway did not exit within %v of SIGTERM; killed", stopWait)
			return
		}
		if g.err != nil {
			t.Errorf("the gateway exited with %v after SIGTERM, want status 0", g.err)
		}
	})
}

// URL is the WebSocket URL of path (with its query) on the public listener.
func (g *Gateway) URL(path string) string { return "ws://" + g.Public + path }

// Dial connects a client to path, failing the test if it cannot; the
// connection closes when the test ends.
func (g *Gateway) Dial(t testing.TB, path string, header http.Header) *gwtest.Client {
	t.Helper()
	return gwtest.Dial(t, g.URL(path), header)
}

// Get fetches path from the public listener, answering status and body.
func (g *Gateway) Get(t testing.TB, path string) (int, []byte) {
	t.Helper()
	status, body, err := g.do(http.MethodGet, "http://"+g.Public+path, nil)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return status, body
}

// Call calls the admin REST API: method on path, with body as JSON (nil for
// none); it answers the status and the body.
func (g *Gateway) Call(t testing.TB, method, path string, body any) (int, []byte) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	status, answer, err := g.do(method, "http://"+g.Admin+path, r)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return status, answer
}

// CallJSON is Call that fails the test unless the status is want, and
// decodes the answer into out (unless out is nil).
func (g *Gateway) CallJSON(t testing.TB, method, path string, body any, want int, out any) {
	t.Helper()
	status, answer := g.Call(t, method, path, body)
	if status != want {
		t.Fatalf("%s %s: %d %s, want %d", method, path, status, answer, want)
	}
	if out != nil {
		if err := json.Unmarshal(answer, out); err != nil {
			t.Fatalf("%s %s: answer %q is not JSON: %v", method, path, answer, err)
		}
	}
}

func (g *Gateway) do(method, url string, body io.Reader) (int, []byte, error) {
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if g.token != "" {
		req.Header.Set("Authorization", "Bearer "+g.token)
	}
	resp, err := g.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(resp.Body)
	return resp.StatusCode, answer, err
}
