package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/quayside/quayside/internal/arn"
	"github.com/quayside/quayside/internal/server"
)

// serverFlags are the flags `server` and `dev` share.
type serverFlags struct {
	listen, dataDir, region, account, keyID, secret, agentToken, logLevel *string
	lbBind, lbDNSSuffix                                                   *string
	lostNodeGrace, taskSuccessAfter                                       *time.Duration
}

func addServerFlags(fs *flag.FlagSet, defaultDataDir string) serverFlags {
	return serverFlags{
		listen:     fs.String("listen", "127.0.0.1:4566", "`HOST:PORT` to serve the AWS APIs on"),
		dataDir:    fs.String("data-dir", defaultDataDir, "`DIR` for the store and the credentials file"),
		region:     fs.String("region", envOr("QUAYSIDE_REGION", "us-east-1"), "region in every ARN"),
		account:    fs.String("account-id", envOr("QUAYSIDE_ACCOUNT_ID", arn.DefaultAccount), "12-digit account id in every ARN"),
		keyID:      fs.String("access-key-id", os.Getenv("QUAYSIDE_ACCESS_KEY_ID"), "root access key id (default: from DIR/credentials, or generated)"),
		secret:     fs.String("secret-access-key", "", "root secret access key (prefer the QUAYSIDE_SECRET_ACCESS_KEY environment variable)"),
		agentToken: fs.String("agent-token", "", "agent protocol token (default: from DIR/agent-token, or generated; env QUAYSIDE_AGENT_TOKEN)"),
		logLevel:   fs.String("log-level", "info", "debug, info, warn or error"),
		lbBind:     fs.String("lb-bind-address", "127.0.0.1", "`HOST` the load balancers' listeners listen on"),
		lbDNSSuffix: fs.String("lb-dns-suffix", "", "`DOMAIN` of load balancers' DNS names, <name>-<id>.DOMAIN; it should resolve to the bind address "+
			"(default lb.localhost, which resolves to loopback)"),
		lostNodeGrace: fs.Duration("lost-node-grace", 0,
			"how long a node's agent may stay disconnected before its service tasks are replaced elsewhere (default 500ms)"),
		taskSuccessAfter: fs.Duration("task-success-after", 0,
			"how long a service task must run to count as a successful run; a deployment completes once its tasks have (default 10s)"),
	}
}

func (f serverFlags) config(stderr io.Writer) (server.Config, error) {
	logger, err := newLogger(*f.logLevel, stderr)
	if err != nil {
		return server.Config{}, err
	}
	return server.Config{
		Listen: *f.listen, DataDir: *f.dataDir, Region: *f.region, Account: *f.account,
		Root:             server.Credentials{AccessKeyID: *f.keyID, SecretAccessKey: cmp.Or(*f.secret, os.Getenv("QUAYSIDE_SECRET_ACCESS_KEY"))},
		AgentToken:       cmp.Or(*f.agentToken, os.Getenv("QUAYSIDE_AGENT_TOKEN")),
		Logger:           logger,
		LostNodeGrace:    *f.lostNodeGrace,
		TaskSuccessAfter: *f.taskSuccessAfter,
		LBBindAddress:    *f.lbBind,
		LBDNSSuffix:      *f.lbDNSSuffix,
	}, nil
}

func runServer(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sf := addServerFlags(fs, "./data")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, err := sf.config(stderr)
	if err != nil {
		fmt.Fprintln(stderr, "quayside:", err)
		return 2
	}
	s, err := server.Start(cfg)
	if err != nil {
		cfg.Logger.Error("cannot start", "err", err)
		return 1
	}
	ctx, stop := signalContext()
	defer stop()
	<-ctx.Done()
	cfg.Logger.Info("shutting down")
	return closeServer(s, cfg)
}

func closeServer(s *server.Server, cfg server.Config) int {
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Close(shutdown); err != nil && !errors.Is(err, context.Canceled) {
		cfg.Logger.Error("shutdown", "err", err)
		return 1
	}
	return 0
}
