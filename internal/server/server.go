package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/quayside/quayside/internal/agentproto"
	"github.com/quayside/quayside/internal/api/agentapi"
	"github.com/quayside/quayside/internal/api/awsproto"
	"github.com/quayside/quayside/internal/api/ecs"
	"github.com/quayside/quayside/internal/api/elbv2"
	"github.com/quayside/quayside/internal/arn"
	"github.com/quayside/quayside/internal/ctrl/instancehealth"
	"github.com/quayside/quayside/internal/lb"
	"github.com/quayside/quayside/internal/store"
	"github.com/quayside/quayside/internal/store/bolt"
)

// Config configures a control plane.
type Config struct {
	Listen  string // HOST:PORT; port 0 picks a free one
	DataDir string
	Region  string // default us-east-1
	Account string // 12 digits; default arn.DefaultAccount
	Root    Credentials
	Logger  *slog.Logger
	Now     func() time.Time

	// AgentToken is the bearer token of the agent protocol; empty: the one
	// in DATA_DIR/agent-token, created on first start.
	AgentToken string
	// HeartbeatPeriod is how often agents heartbeat (default 2s); PollWait
	// how long an assignments poll is held open (default 20s);
	// MissedHeartbeats how many silent periods disconnect a node (default
	// 3).
	HeartbeatPeriod  time.Duration
	PollWait         time.Duration
	MissedHeartbeats int

	// Retention is how long stopped tasks and INACTIVE services stay
	// describable before they are removed (default 1 h, as ECS keeps
	// stopped tasks "at least 1 hour").
	Retention time.Duration

	// LostNodeGrace is how long a container instance's agent may stay
	// disconnected before the services replace its tasks elsewhere
	// (default 500ms: with the default heartbeat, detection plus
	// replacement stays within 10 s).
	LostNodeGrace time.Duration
	// TaskSuccessAfter is how long a service task must run to count as a
	// successful run (default 10s): one resets its deployment's failed
	// task count, and a deployment completes once its tasks have run
	// this long.
	TaskSuccessAfter time.Duration

	// LBBindAddress is the host the load balancers' listeners listen on
	// (default 127.0.0.1).
	LBBindAddress string
	// LBDNSSuffix is the domain of load balancers' DNSNames
	// ("<name>-<id>.<suffix>"); it should resolve to LBBindAddress (a
	// wildcard record). Default elbv2.DefaultDNSSuffix, lb.localhost, which
	// resolves to the loopback address.
	LBDNSSuffix string
}

// Server is a running control plane.
type Server struct {
	cfg   Config
	store *bolt.Store
	creds Credentials
	ln    net.Listener
	http  *http.Server
	done  chan error

	agentToken string
	agent      *agentapi.Handler
	stopCtrl   func()
	lb         *lb.LB
	stopLB     func()
}

var accountRE = regexp.MustCompile(`^[0-9]{12}$`)

func (c *Config) defaults() error {
	if c.Region == "" {
		c.Region = "us-east-1"
	}
	if c.Account == "" {
		c.Account = arn.DefaultAccount
	}
	if !accountRE.MatchString(c.Account) {
		return fmt.Errorf("server: account id %q is not 12 digits", c.Account)
	}
	if c.DataDir == "" {
		return errors.New("server: a data directory is required")
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.HeartbeatPeriod <= 0 {
		c.HeartbeatPeriod = agentapi.DefaultHeartbeatPeriod
	}
	if c.PollWait <= 0 {
		c.PollWait = agentapi.DefaultPollWait
	}
	if c.LBBindAddress == "" {
		c.LBBindAddress = "127.0.0.1"
	}
	if c.MissedHeartbeats <= 0 {
		c.MissedHeartbeats = instancehealth.DefaultMissedHeartbeats
	}
	return nil
}

// Start opens the store under cfg.DataDir, writes the credentials file and
// starts serving on cfg.Listen.
func Start(cfg Config) (*Server, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("server: data dir: %w", err)
	}
	creds, err := rootCredentials(cfg.DataDir, cfg.Root)
	if err != nil {
		return nil, err
	}
	token, err := agentToken(cfg.DataDir, cfg.AgentToken)
	if err != nil {
		return nil, err
	}
	st, err := bolt.Open(filepath.Join(cfg.DataDir, "state.db"), bolt.Options{})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("server: listen: %w", err)
	}
	s := &Server{cfg: cfg, store: st, creds: creds, ln: ln, done: make(chan error, 1), agentToken: token}
	s.startAgentSide()
	s.startControllers()
	s.startLB()
	s.http = &http.Server{Handler: s.handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { s.done <- s.http.Serve(ln) }()
	tokenFrom := AgentTokenFile(cfg.DataDir)
	if cfg.AgentToken != "" {
		tokenFrom = "configuration"
	}
	cfg.Logger.Info("quayside server listening", "endpoint", s.URL(), "region", cfg.Region, "account", cfg.Account, "credentials", CredentialsFile(cfg.DataDir), "agentToken", tokenFrom)
	return s, nil
}

func (s *Server) handler() http.Handler {
	keys := &keyring{account: s.cfg.Account, keys: map[string]string{s.creds.AccessKeyID: s.creds.SecretAccessKey}}
	router := awsproto.NewRouter(awsproto.Config{
		Auth:    awsproto.NewSigV4(keys, s.cfg.Now),
		Account: s.cfg.Account,
		Logger:  s.cfg.Logger,
	})
	router.AddJSON(ecs.New(ecs.Deps{Store: s.store, Scope: s.Scope(), Now: s.cfg.Now, Logger: s.cfg.Logger}).Service())
	router.AddQuery(elbv2.New(elbv2.Deps{Store: s.store, Scope: s.Scope(), Now: s.cfg.Now, Logger: s.cfg.Logger, DNSSuffix: s.cfg.LBDNSSuffix}).Service())
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	mux.Handle(agentproto.PathPrefix, s.agent) // its own token, not SigV4
	mux.Handle("/", router)
	return mux
}

// URL is the endpoint clients use (http://HOST:PORT).
func (s *Server) URL() string { return "http://" + s.ln.Addr().String() }

// Store is the server's store, for tests that play a part (an agent, a
// controller) that writes state directly.
func (s *Server) Store() store.Store { return s.store }

// Scope is the partition, region and account of the server's ARNs.
func (s *Server) Scope() arn.Scope {
	return arn.Scope{Partition: "aws", Region: s.cfg.Region, Account: s.cfg.Account}
}

// Credentials returns the root key pair.
func (s *Server) Credentials() Credentials { return s.creds }

// Close stops serving, waiting up to the context's deadline for requests in
// flight, then closes the store.
func (s *Server) Close(ctx context.Context) error {
	s.stopAgentSide()
	err := s.http.Shutdown(ctx)
	if serr := <-s.done; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	s.stopControllers()
	s.stopLB()
	if cerr := s.store.Close(); err == nil {
		err = cerr
	}
	return err
}
