package redistest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// startTimeout bounds the wait for a redis-server to answer, and for a
// cluster to agree on its slots.
const startTimeout = 20 * time.Second

// Server is a redis-server process that a test owns: it may stop and restart
// it to cut the gateway off from Redis. It never persists anything, so a
// restarted server is empty, as after a crash without persistence.
type Server struct {
	Addr string

	dir     string
	args    []string
	mu      sync.Mutex
	cmd     *exec.Cmd
	exited  chan struct{}
	stopped bool
}

// StartServer starts a throwaway redis-server on a free loopback port; it is
// killed when the test ends. cluster makes it a cluster-enabled node.
func StartServer(t testing.TB, cluster bool) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		Unavailable(t, "no redis-server binary on PATH: %v", err)
	}
	if _, err := exec.LookPath("redis-cli"); cluster && err != nil {
		Unavailable(t, "no redis-cli binary on PATH: %v", err)
	}
	s := &Server{dir: t.TempDir()}
	for attempt := 0; ; attempt++ {
		port := freePort(t)
		s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		s.args = []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", s.dir,
			"--save", "", "--appendonly", "no", "--protected-mode", "no", "--loglevel", "warning"}
		if cluster {
			s.args = append(s.args, "--cluster-enabled", "yes", "--cluster-config-file", "nodes-"+strconv.Itoa(port)+".conf",
				"--cluster-node-timeout", "2000")
		}
		err := s.start(bin)
		if err == nil {
			break
		}
		if attempt == 5 {
			t.Fatalf("redis-server would not start: %v", err)
		}
	}
	t.Cleanup(s.kill)
	return s
}

// freePort returns a loopback port that is free, and whose cluster bus port
// (port+10000) is free too.
func freePort(t testing.TB) int {
	for range 100 {
		port := 20000 + rand.IntN(30000)
		ok := true
		for _, p := range []int{port, port + 10000} {
			l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
			if err != nil {
				ok = false
				break
			}
			_ = l.Close()
		}
		if ok {
			return port
		}
	}
	t.Fatal("no free loopback port pair for redis-server")
	return 0
}

func (s *Server) start(bin string) error {
	cmd := exec.Command(bin, s.args...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	s.mu.Lock()
	s.cmd, s.exited, s.stopped = cmd, exited, false
	s.mu.Unlock()
	c := goredis.NewClient(&goredis.Options{Addr: s.Addr, MaxRetries: -1, DisableIdentity: true})
	defer c.Close()
	deadline := time.Now().Add(startTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("redis-server exited: %s", out.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.kill()
			return fmt.Errorf("redis-server at %s did not answer within %v: %w", s.Addr, startTimeout, err)
		}
	}
}

// Stop kills the server at once, as a crash would; clients see their
// connections reset and new ones refused.
func (s *Server) Stop() { s.kill() }

// Restart starts the server again on the same port, empty.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	bin, _ := exec.LookPath("redis-server")
	if err := s.start(bin); err != nil {
		t.Fatalf("restarting redis-server: %v", err)
	}
}

func (s *Server) kill() {
	s.mu.Lock()
	cmd, exited, stopped := s.cmd, s.exited, s.stopped
	s.stopped = true
	s.mu.Unlock()
	if cmd == nil || stopped {
		return
	}
	_ = cmd.Process.Kill()
	<-exited
}

// Cluster is a Redis Cluster of three masters and no replicas, made of
// throwaway servers.
type Cluster struct {
	Addrs   []string
	Servers []*Server
}

// StartCluster starts three cluster-enabled servers, joins them with
// redis-cli --cluster create, and waits until every node sees every slot
// served.
func StartCluster(t testing.TB) *Cluster {
	t.Helper()
	cl := &Cluster{}
	for range 3 {
		s := StartServer(t, true)
		cl.Servers = append(cl.Servers, s)
		cl.Addrs = append(cl.Addrs, s.Addr)
	}
	args := append([]string{"--cluster", "create"}, cl.Addrs...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "redis-cli", args...).CombinedOutput(); err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	if err := cl.waitConsistent(ctx); err != nil {
		t.Fatal(err)
	}
	return cl
}

// waitConsistent waits until every node reports cluster_state:ok and knows
// every other node, so that clients see one slot map.
func (cl *Cluster) waitConsistent(ctx context.Context) error {
	for _, addr := range cl.Addrs {
		c := goredis.NewClient(&goredis.Options{Addr: addr, MaxRetries: -1, DisableIdentity: true})
		for {
			info, err := c.ClusterInfo(ctx).Result()
			if err == nil && strings.Contains(info, "cluster_state:ok") &&
				strings.Contains(info, "cluster_known_nodes:"+strconv.Itoa(len(cl.Addrs))) {
				break
			}
			select {
			case <-ctx.Done():
				_ = c.Close()
				return errors.Join(fmt.Errorf("cluster node %s never became consistent", addr), err, ctx.Err())
			case <-time.After(50 * time.Millisecond):
			}
		}
		_ = c.Close()
	}
	return nil
}

// Stop kills every server of the cluster at once.
func (cl *Cluster) Stop() {
	for _, s := range cl.Servers {
		s.Stop()
	}
}

// Restart starts every server again, empty but with its cluster
// configuration, and waits until the cluster serves every slot again.
func (cl *Cluster) Restart(t testing.TB) {
	t.Helper()
	for _, s := range cl.Servers {
		s.Restart(t)
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if err := cl.waitConsistent(ctx); err != nil {
		t.Fatal(err)
	}
}
