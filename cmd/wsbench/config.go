package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// scenarios lists the sub-commands with a one-line description for usage.
var scenarios = []struct{ name, desc string }{
	{"connect", "open --conns connections at --rate/s, report handshakes/s and latency, close them"},
	{"idle", "open and hold --conns connections for --hold, report target RSS per connection (--pid)"},
	{"echo", "each connection sends --size byte messages at --rate/s (0 = ping-pong) for --duration"},
	{"rest-send", "drive the admin REST send endpoint and count arrivals at --conns WebSocket clients"},
	{"fanout", "--conns members of one group, one publisher sending --rate publishes/s for --duration; deliveries/s, latency, loss"},
	{"baseline", "serve a bare gws echo and fan-out server on --listen to compare against"},
}

// childFlag is the hidden flag that marks a re-executed child process; its
// value is the child's index.
const childFlag = "wsbench-child"

// Config holds every flag; each scenario reads the ones it documents and the
// whole struct is echoed as "params" in the JSON summary.
type Config struct {
	Scenario        string   `json:"scenario"`
	URL             urlList  `json:"url"`
	Conns           int      `json:"conns"`
	Rate            float64  `json:"rate"`
	Concurrency     int      `json:"concurrency"`
	Duration        duration `json:"duration"`
	Hold            duration `json:"hold"`
	Settle          duration `json:"settle"`
	Warm            bool     `json:"warm"`
	PIDs            pidList  `json:"pids,omitempty"`
	Size            int      `json:"size"`
	Drain           duration `json:"drain"`
	Admin           string   `json:"admin"`
	Token           string   `json:"-"`
	RESTConcurrency int      `json:"rest_concurrency"`
	Batch           int      `json:"batch,omitempty"`
	RESTClient      string   `json:"rest_client,omitempty"`
	CPUProfile      string   `json:"cpu_profile,omitempty"`
	Listen          string   `json:"listen"`
	Welcome         bool     `json:"welcome"`
	Procs           int      `json:"procs"`
	SrcAddrs        int      `json:"src_addrs"`
	DialTimeout     duration `json:"dial_timeout"`
	Attackers       int      `json:"attackers,omitempty"`
	AttackURL       string   `json:"attack_url,omitempty"`
	AttackRate      float64  `json:"attack_rate,omitempty"`
	PubURL          string   `json:"pub_url,omitempty"`
	Publisher       string   `json:"publisher,omitempty"`
	Group           string   `json:"group,omitempty"`
	STOMP           bool     `json:"stomp,omitempty"`
	JSON            bool     `json:"json"`
	Verbose         bool     `json:"-"`

	// Child is the index of this child process, or -1 in a parent or a
	// single-process run.
	Child int `json:"-"`
}

// errUsage signals that usage was printed and the exit code should be 2.
var errUsage = errors.New("usage")

// parseArgs parses "<scenario> [flags]".
func parseArgs(args []string, stderr io.Writer) (*Config, error) {
	if len(args) == 0 || !isScenario(args[0]) {
		printUsage(stderr, newFlagSet(&Config{}, stderr))
		if len(args) > 0 && args[0] != "-h" && args[0] != "--help" && args[0] != "help" {
			return nil, fmt.Errorf("unknown scenario %q", args[0])
		}
		return nil, errUsage
	}
	cfg := &Config{Scenario: args[0]}
	fs := newFlagSet(cfg, stderr)
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, errUsage
		}
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if cfg.Scenario == "baseline" && !set["duration"] {
		cfg.Duration = 0 // a server runs until it is stopped unless told otherwise
	}
	if len(cfg.URL) == 0 {
		cfg.URL = urlList{defaultURL}
	}
	if cfg.Scenario == "fanout" {
		cfg.setFanoutDefaults(set)
	}
	return cfg, cfg.validate()
}

func isScenario(s string) bool {
	for _, sc := range scenarios {
		if sc.name == s {
			return true
		}
	}
	return false
}

// newFlagSet binds every flag to cfg with its default.
func newFlagSet(cfg *Config, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("wsbench "+cfg.Scenario, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { printUsage(stderr, fs) }
	cfg.Duration, cfg.Hold, cfg.Settle = duration(10*time.Second), duration(30*time.Second), duration(2*time.Second)
	cfg.Drain, cfg.DialTimeout = duration(2*time.Second), duration(5*time.Second)

	fs.Var(&cfg.URL, "url", "WebSocket URL to load (must resolve to loopback); repeat it or give a comma list to spread connections over several")
	fs.Lookup("url").DefValue = defaultURL
	fs.IntVar(&cfg.Conns, "conns", 100, "number of WebSocket connections, over all processes")
	fs.Float64Var(&cfg.Rate, "rate", 0, "connect: handshakes/s; echo: msg/s per connection; rest-send: requests/s (0 = as fast as possible / ping-pong); fanout: publishes/s")
	fs.IntVar(&cfg.Concurrency, "concurrency", 64, "parallel dialers per process")
	fs.Var(&cfg.Duration, "duration", "how long echo and rest-send send, and baseline serves (baseline default 0 = until SIGINT)")
	fs.Var(&cfg.Hold, "hold", "idle: how long connections are held once all are up")
	fs.Var(&cfg.Settle, "settle", "idle: wait after all are up before reading memory")
	fs.BoolVar(&cfg.Warm, "warm", true, "idle: send one message per connection and wait for its echo first")
	fs.Var(&cfg.PIDs, "pid", "idle: target process id(s), comma-separated, whose VmRSS is summed")
	fs.IntVar(&cfg.Size, "size", 64, "message size in bytes (at least the length of the identifying prefix)")
	fs.Var(&cfg.Drain, "drain", "grace after sending stops (or for warm-up and probes) to wait for outstanding messages")
	fs.StringVar(&cfg.Admin, "admin", "http://127.0.0.1:9090", "rest-send: admin REST base URL (must resolve to loopback)")
	fs.StringVar(&cfg.Token, "token", "", "rest-send: bearer token for the admin API")
	fs.IntVar(&cfg.RESTConcurrency, "rest-concurrency", 16, "rest-send: keep-alive HTTP clients, over all processes")
	fs.IntVar(&cfg.Batch, "batch", 0, "rest-send: messages per request through the batch route POST /api/v1/websocket/sockets/send (0 = one per request, to /sockets/{id}/send)")
	fs.StringVar(&cfg.RESTClient, "rest-client", restClientLean, "rest-send: HTTP client of the measured requests: lean (a minimal keep-alive HTTP/1.1 client, so the loader costs little CPU) or net/http")
	fs.StringVar(&cfg.Listen, "listen", "127.0.0.1:8089", "baseline: listen address (loopback only)")
	fs.BoolVar(&cfg.Welcome, "welcome", true, `baseline: send "Welcome" when a socket opens, like wsgw's echo endpoint`)
	fs.IntVar(&cfg.Procs, "procs", 1, "spread connections (or baseline listeners, via SO_REUSEPORT) over this many processes")
	fs.IntVar(&cfg.SrcAddrs, "src-addrs", 0, "dial from 127.0.0.1..127.0.0.N to multiply ephemeral ports (0 = as needed)")
	fs.Var(&cfg.DialTimeout, "dial-timeout", "timeout of one handshake or one REST request")
	fs.IntVar(&cfg.Attackers, "attackers", 0, "echo: connections to --attack-url that send at --attack-rate and reconnect when closed, while the echo clients measure")
	fs.StringVar(&cfg.AttackURL, "attack-url", "ws://127.0.0.1:8080/spin", "echo: WebSocket URL the attackers load (must resolve to loopback)")
	fs.Float64Var(&cfg.AttackRate, "attack-rate", 5, "echo: messages/s each attacker sends")
	fs.StringVar(&cfg.PubURL, "pub-url", "", "fanout: the publisher's WebSocket URL (default: /pub?group=--group on the host of the first --url)")
	fs.StringVar(&cfg.Publisher, "publisher", "ws", "fanout: ws (a WebSocket client on --pub-url) or rest (POST --admin/api/v1/websocket/groups/{group}/send)")
	fs.StringVar(&cfg.Group, "group", "", `fanout: the group published to (default "bench", with --stomp "/topic/bench")`)
	fs.BoolVar(&cfg.STOMP, "stomp", false, "fanout: members speak STOMP 1.2 (subprotocol v12.stomp) and SUBSCRIBE to --group")
	fs.StringVar(&cfg.CPUProfile, "cpuprofile", "", "write this process's CPU profile (pprof) to the file, to see what the load generator itself costs (with --procs 1 only)")
	fs.BoolVar(&cfg.JSON, "json", false, "print the summary as one JSON object")
	fs.BoolVar(&cfg.Verbose, "v", false, "debug logging")
	fs.IntVar(&cfg.Child, childFlag, -1, "internal: index of a child process")
	return fs
}

// printUsage lists scenarios and flags, leaving out the hidden child flag.
func printUsage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintln(w, "usage: wsbench <scenario> [flags]\n\nscenarios:")
	for _, sc := range scenarios {
		fmt.Fprintf(w, "  %-10s %s\n", sc.name, sc.desc)
	}
	fmt.Fprintln(w, "\nflags:")
	fs.VisitAll(func(f *flag.Flag) {
		if f.Name == childFlag {
			return
		}
		fmt.Fprintf(w, "  --%s (default %q)\n    \t%s\n", f.Name, f.DefValue, f.Usage)
	})
}

// validate rejects values that would make a run unbounded or meaningless.
func (c *Config) validate() error {
	switch {
	case c.Conns < 1 || c.Conns > 1_000_000:
		return fmt.Errorf("--conns must be in 1..1000000, got %d", c.Conns)
	case c.Rate < 0:
		return fmt.Errorf("--rate must not be negative")
	case c.Concurrency < 1:
		return fmt.Errorf("--concurrency must be at least 1")
	case c.Procs < 1 || c.Procs > 64:
		return fmt.Errorf("--procs must be in 1..64, got %d", c.Procs)
	case c.Procs > c.Conns && c.Scenario != "baseline":
		return fmt.Errorf("--procs %d exceeds --conns %d", c.Procs, c.Conns)
	case c.Size < 1 || c.Size > 16<<20:
		return fmt.Errorf("--size must be in 1..16MiB")
	case c.RESTConcurrency < 1:
		return fmt.Errorf("--rest-concurrency must be at least 1")
	case c.Batch < 0 || c.Batch > 1000:
		return fmt.Errorf("--batch must be in 0..1000")
	case c.CPUProfile != "" && c.Procs > 1:
		return fmt.Errorf("--cpuprofile needs --procs 1")
	case c.RESTClient != restClientLean && c.RESTClient != restClientNetHTTP:
		return fmt.Errorf("--rest-client must be %s or %s, got %q", restClientLean, restClientNetHTTP, c.RESTClient)
	case c.SrcAddrs < 0 || c.SrcAddrs > 250:
		return fmt.Errorf("--src-addrs must be in 0..250")
	case c.DialTimeout <= 0 || c.Drain < 0 || c.Settle < 0 || c.Hold < 0 || c.Duration < 0:
		return fmt.Errorf("durations must not be negative and --dial-timeout must be positive")
	case (c.Scenario == "echo" || c.Scenario == "rest-send" || c.Scenario == "fanout") && c.Duration == 0:
		return fmt.Errorf("--duration must be positive for %s", c.Scenario)
	case c.Scenario == "fanout" && (c.Rate <= 0 || c.Rate > 100_000):
		return fmt.Errorf("--rate must be in (0, 100000] publishes/s for fanout")
	case c.Scenario == "fanout" && c.Publisher != "ws" && c.Publisher != "rest":
		return fmt.Errorf("--publisher must be ws or rest, got %q", c.Publisher)
	case c.Scenario == "fanout" && (c.Group == "" || len(c.Group) > 256):
		return fmt.Errorf("--group must be 1..256 characters")
	case c.Attackers < 0 || c.Attackers > 1000:
		return fmt.Errorf("--attackers must be in 0..1000")
	case c.Attackers > 0 && (c.Scenario != "echo" || c.Procs > 1):
		return fmt.Errorf("--attackers needs the echo scenario in one process (--procs 1)")
	case c.Attackers > 0 && (c.AttackRate <= 0 || c.AttackRate > 1000):
		return fmt.Errorf("--attack-rate must be in (0, 1000]")
	case c.STOMP && c.Scenario != "fanout":
		return fmt.Errorf("--stomp is a fanout flag")
	case c.Child >= c.Procs:
		return fmt.Errorf("child index %d out of range", c.Child)
	}
	return nil
}

// share is the part of the load one process generates.
type share struct {
	Index, Procs int
	Offset       int     // global index of this process's first connection
	Conns        int     // connections this process opens
	Rate         float64 // this process's part of a total --rate
	RESTConc     int     // this process's part of --rest-concurrency
}

// shareOf splits --conns, a total --rate and --rest-concurrency evenly over
// the processes so that connection IDs stay globally unique and totals match
// what the user asked for.
func (c *Config) shareOf(i int) share {
	base, rem := c.Conns/c.Procs, c.Conns%c.Procs
	s := share{Index: i, Procs: c.Procs, Offset: i*base + min(i, rem), Conns: base}
	if i < rem {
		s.Conns++
	}
	s.Rate = c.Rate
	if c.Scenario != "echo" && c.Scenario != "fanout" { // echo's rate is per connection, fanout's is the one publisher's
		s.Rate = c.Rate / float64(c.Procs)
	}
	s.RESTConc = max(1, (c.RESTConcurrency+c.Procs-1-i)/c.Procs)
	return s
}

// defaultURL is --url when none is given: the baseline's echo.
const defaultURL = "ws://127.0.0.1:8089/echo"

// setFanoutDefaults fills the fan-out flags left unset: the group, and the
// publisher's URL next to the first member URL.
func (c *Config) setFanoutDefaults(set map[string]bool) {
	if !set["group"] {
		c.Group = "bench"
		if c.STOMP {
			c.Group = "/topic/bench"
		}
	}
	if !set["pub-url"] && c.Publisher == "ws" {
		if u, err := url.Parse(c.URL[0]); err == nil {
			u.Path, u.RawPath, u.RawQuery = "/pub", "", url.Values{"group": {c.Group}}.Encode()
			c.PubURL = u.String()
		}
	}
}

// urlList is --url: given several times or as a comma list, connections are
// spread over the URLs in turn. It prints (also in JSON) as a comma list.
type urlList []string

func (u *urlList) Set(s string) error {
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			*u = append(*u, f)
		}
	}
	if len(*u) == 0 {
		return errors.New("empty URL")
	}
	return nil
}

func (u urlList) String() string { return strings.Join(u, ",") }

func (u urlList) MarshalText() ([]byte, error) { return []byte(u.String()), nil }

func (u *urlList) UnmarshalText(b []byte) error {
	*u = nil
	return u.Set(string(b))
}

// duration is a time.Duration that reads and prints as "10s" both as a flag
// and in JSON.
type duration time.Duration

func (d *duration) Set(s string) error {
	v, err := time.ParseDuration(s)
	*d = duration(v)
	return err
}
func (d duration) String() string                { return time.Duration(d).String() }
func (d duration) MarshalText() ([]byte, error)  { return []byte(d.String()), nil }
func (d *duration) UnmarshalText(b []byte) error { return d.Set(string(b)) }

// pidList is a comma-separated list of process ids.
type pidList []int

func (p *pidList) Set(s string) error {
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return fmt.Errorf("bad pid %q", f)
		}
		*p = append(*p, n)
	}
	return nil
}

func (p *pidList) String() string {
	if p == nil {
		return ""
	}
	s := make([]string, len(*p))
	for i, n := range *p {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}
