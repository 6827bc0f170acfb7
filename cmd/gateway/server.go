package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/wsgw/wsgw/config"
	"github.com/wsgw/wsgw/console"
	"github.com/wsgw/wsgw/deploy"
	"github.com/wsgw/wsgw/gateway"
	"github.com/wsgw/wsgw/handlers"
	"github.com/wsgw/wsgw/internal/gcfloor"
	"github.com/wsgw/wsgw/metrics"
	"github.com/wsgw/wsgw/runtime"
	"github.com/wsgw/wsgw/service"
	"github.com/wsgw/wsgw/store"
	"github.com/wsgw/wsgw/store/memory"
	redisstore "github.com/wsgw/wsgw/store/redis"
)

// loadConfig reads the file, then lets flags override it.
func loadConfig(f cliFlags, environ []string) (*config.Config, error) {
	cfg, err := config.Load(f.config, environ)
	if err != nil {
		return nil, err
	}
	if f.addr != "" {
		cfg.Listen = f.addr
		cfg.SetBy("listen", "--addr")
	}
	if f.adminAddr != "" {
		cfg.Admin.Listen = f.adminAddr
		cfg.SetBy("admin.listen", "--admin-addr")
	}
	if f.redis != "" {
		cfg.Store.Redis = strings.Split(f.redis, ",")
		cfg.SetBy("store.redis", "--redis")
	}
	if f.nodeID != "" {
		cfg.NodeID = f.nodeID
		cfg.SetBy("node_id", "--node-id")
	}
	if err := cfg.Validate(); err != nil { // flags may have changed what was valid
		return nil, err
	}
	return cfg, nil
}

// server is the running gateway: its parts and its two listeners.
type server struct {
	cfg     *config.Config
	log     *slog.Logger
	stores  *stores
	engine  *runtime.Engine
	deploys *deploy.Manager
	gateway *gateway.Gateway
	public  *http.Server
	admin   *http.Server
	// publicTLS and adminTLS are the listeners' certificates, nil for plain TCP.
	publicTLS, adminTLS *certificate
	// publicAddr and adminAddr are the bound addresses once started.
	publicAddr, adminAddr string
}

// newServer compiles the scripts and wires the parts together.
func newServer(cfg *config.Config, logOut io.Writer) (*server, error) {
	logger := newLogger(cfg.Log, logOut)
	publicTLS, err := loadCertificate(cfg, "tls", cfg.TLS)
	if err != nil {
		return nil, err
	}
	adminTLS, err := loadCertificate(cfg, "admin.tls", cfg.Admin.TLS)
	if err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := metrics.New(reg)

	deps, keys := configDeployments(cfg, "config")
	if cfg.Runtime.MemoryLimit > 0 {
		debug.SetMemoryLimit(int64(cfg.Runtime.MemoryLimit)) // GOMEMLIMIT from the configuration
	}
	gcfloor.Set(uint64(cfg.Runtime.GCMinHeap))
	// The parts, each built from those before it: the store, the
	// connection table (the bus's Local), the socket service, the script
	// engine that scripts reach the service through, the deploy manager,
	// and the gateway that serves the deployed endpoints.
	node := nodeID(cfg)
	conns := gateway.NewConns()
	sp, err := openStores(cfg, node, conns, logger, m)
	if err != nil {
		return nil, err
	}
	svc, err := service.New(service.Options{
		Node: node, Local: conns, Registry: sp.registry, Bus: sp.bus,
		MaxMessageBytes: cfg.Limits.MaxMessageBytes, Logger: logger, Metrics: m,
	})
	if err != nil {
		_ = sp.close()
		return nil, err
	}
	engine := runtime.New(runtime.Options{
		PoolSize: cfg.Runtime.PoolSize, Limits: cfg.Limits.Script, Service: svc, Logger: logger, Metrics: m,
	})
	deploys, err := deploy.New(deploy.Options{
		Registry: sp.deploys, Sockets: conns, Env: cfg.LookupEnv, Logger: logger, Metrics: m,
	})
	if err != nil {
		engine.Close()
		_ = sp.close()
		return nil, err
	}
	g, err := gateway.New(gateway.Options{
		NodeID:   node,
		Conns:    conns,
		Limits:   cfg.Limits.Limits,
		Engine:   engine,
		Registry: sp.registry,
		Routes:   deploys,
		Logger:   logger,
		Metrics:  m,
	})
	if err == nil {
		err = deployConfig(context.Background(), deploys, cfg, deps, keys)
	}
	if err != nil {
		if g != nil {
			_ = g.Shutdown(context.Background())
		}
		engine.Close()
		_ = sp.close()
		return nil, err
	}

	health := handlers.Health(g.Health)
	publicMux := http.NewServeMux()
	publicMux.Handle("GET /api/v1/solution/health", health)
	publicMux.Handle("/", g)
	streamsDone := make(chan struct{})
	adminHandler := handlers.Admin(handlers.AdminOptions{
		Service:         svc,
		Deployer:        deploys,
		Health:          g.Health,
		Gatherer:        reg,
		Token:           cfg.Admin.Token,
		MaxMessageBytes: cfg.Limits.MaxMessageBytes,
		Done:            streamsDone,
	})
	errorLog := slog.NewLogLogger(logger.Handler(), slog.LevelDebug)
	srv := &server{
		cfg:       cfg,
		log:       logger,
		stores:    sp,
		engine:    engine,
		deploys:   deploys,
		gateway:   g,
		publicTLS: publicTLS,
		adminTLS:  adminTLS,
		public: &http.Server{
			Handler: publicMux,
			// A client gets handshake_timeout to send its request headers
			// (and finish TLS), and an idle keep-alive connection is dropped
			// after as long: a slowloris holds a socket for that long at most.
			// Upgrade requests have no body, so no ReadTimeout is needed.
			ReadHeaderTimeout: cfg.Limits.HandshakeTimeout,
			IdleTimeout:       cfg.Limits.HandshakeTimeout,
			MaxHeaderBytes:    64 << 10,
			ErrorLog:          errorLog,
		},
		admin: &http.Server{
			Handler:           console.Mount(adminHandler),
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       30 * time.Second,
			WriteTimeout:      30 * time.Second,
			IdleTimeout:       2 * time.Minute,
			MaxHeaderBytes:    64 << 10,
			ErrorLog:          errorLog,
		},
	}
	srv.admin.RegisterOnShutdown(sync.OnceFunc(func() { close(streamsDone) }))
	return srv, nil
}

// stores are the parts of the store a node uses, and what closes them.
type stores struct {
	registry store.Registry
	bus      store.Bus
	deploys  store.DeployRegistry
	close    func() error
}

// openStores builds the store: a single node's in memory, or a cluster
// node's on Redis. The bus delivers other nodes' commands to local.
func openStores(cfg *config.Config, node string, local store.Local, logger *slog.Logger, m *metrics.Metrics) (*stores, error) {
	sc := cfg.Store
	if len(sc.Redis) == 0 {
		bus, deploys := memory.NewBus(node, local), memory.NewDeploys()
		return &stores{memory.NewRegistry(), bus, deploys, func() error {
			return errors.Join(deploys.Close(), bus.Close())
		}}, nil
	}
	redisstore.LogDriverTo(logger)
	sh, err := redisstore.NewShard(redisstore.Options{
		Addrs:             sc.Redis,
		Cluster:           sc.Cluster,
		SentinelMaster:    sc.SentinelMaster,
		Username:          sc.Username,
		Password:          sc.Password,
		NodeID:            node,
		KeyPrefix:         sc.KeyPrefix,
		HeartbeatInterval: sc.HeartbeatInterval,
		Logger:            logger,
		Metrics:           m,
	})
	if err != nil {
		return nil, cfg.Errorf("store.redis", "%v", err)
	}
	registry := redisstore.NewRegistry(sh)
	bus := redisstore.NewBus(sh, local)
	deploys := redisstore.NewDeploys(sh)
	return &stores{registry, bus, deploys, func() error {
		// The roles before the shard they share; the bus first, so that
		// no command arrives while the registry leaves the cluster.
		return errors.Join(bus.Close(), registry.Close(), deploys.Close(), sh.Close())
	}}, nil
}

// nodeID names this node: node_id, or the host name and public port, which
// stays the same across restarts of one deployment.
func nodeID(cfg *config.Config) string {
	if cfg.NodeID != "" {
		return cfg.NodeID
	}
	host, _ := os.Hostname()
	_, port, _ := net.SplitHostPort(cfg.Listen)
	return host + "-" + port
}

func newLogger(c config.Log, out io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: level}
	format := c.Format
	if format == "auto" {
		format = "json"
		if f, ok := out.(*os.File); ok {
			if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
				format = "text"
			}
		}
	}
	if format == "text" {
		return slog.New(slog.NewTextHandler(out, opts))
	}
	return slog.New(slog.NewJSONHandler(out, opts))
}

// start binds both listeners and serves them in the background.
func (s *server) start() error {
	pub, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("public listener: %w", err)
	}
	adm, err := net.Listen("tcp", s.cfg.Admin.Listen)
	if err != nil {
		_ = pub.Close()
		return fmt.Errorf("admin listener: %w", err)
	}
	s.publicAddr, s.adminAddr = pub.Addr().String(), adm.Addr().String()
	if s.publicTLS != nil {
		pub = tls.NewListener(pub, s.publicTLS.serverConfig())
	}
	if s.adminTLS != nil {
		adm = tls.NewListener(adm, s.adminTLS.serverConfig())
	}
	for _, l := range []struct {
		srv *http.Server
		ln  net.Listener
	}{{s.public, pub}, {s.admin, adm}} {
		go func() {
			if err := l.srv.Serve(l.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.log.Error("listener stopped", "addr", l.ln.Addr().String(), "err", err)
			}
		}()
	}
	s.log.Info("wsgw listening", "public", s.publicAddr, "admin", s.adminAddr, "node", s.gateway.NodeID(),
		"endpoints", len(s.cfg.Endpoints), "public_tls", s.publicTLS != nil, "admin_tls", s.adminTLS != nil)
	return nil
}

// reloadTLS reads the listeners' certificate files again (on SIGHUP). Open
// connections are not touched; a file that fails to load leaves the
// certificate in use as it was.
func (s *server) reloadTLS() {
	for _, c := range []struct {
		listener string
		cert     *certificate
	}{{"public", s.publicTLS}, {"admin", s.adminTLS}} {
		if c.cert == nil {
			continue
		}
		if err := c.cert.reload(); err != nil {
			s.log.Error("TLS certificate reload failed; the previous one stays in use", "listener", c.listener, "err", err)
			continue
		}
		s.log.Info("TLS certificate reloaded", "listener", c.listener, "cert_file", c.cert.certFile, "not_after", c.cert.notAfter())
	}
}

// shutdown stops accepting, closes every socket with 1001 and waits for their
// close events, then stops the admin listener, the script engine and the
// store.
func (s *server) shutdown(ctx context.Context) error {
	errs := []error{s.public.Shutdown(ctx), s.gateway.Shutdown(ctx), s.admin.Shutdown(ctx)}
	s.engine.Close()
	s.closeStore()
	return errors.Join(errs...)
}

func (s *server) closeStore() {
	if err := s.stores.close(); err != nil {
		s.log.Error("closing the store", "err", err)
	}
}
