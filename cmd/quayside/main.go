// Command quayside is the single Quayside binary. Subcommands:
//
//	quayside server   the control plane (ECS API on one listener)
//	quayside version  print the version
//
// This file holds flags and wiring only.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/quayside/quayside/internal/arn"
	"github.com/quayside/quayside/internal/server"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	switch args[0] {
	case "server":
		return runServer(args[1:], stderr)
	case "version", "--version", "-v":
		fmt.Fprintf(stdout, "quayside %s\n", version)
		return 0
	case "help", "-h", "--help":
		usage(stdout)
		return 0
	}
	fmt.Fprintf(stderr, "quayside: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprint(w, `Usage: quayside <command> [flags]

Commands:
  server    run the control plane (the ECS API, SigV4, embedded store)
  version   print the version

Run 'quayside <command> -h' for the flags of a command.
`)
}

func runServer(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:4566", "`HOST:PORT` to serve the AWS APIs on")
	dataDir := fs.String("data-dir", "./data", "`DIR` for the store and the credentials file")
	region := fs.String("region", envOr("QUAYSIDE_REGION", "us-east-1"), "region in every ARN")
	account := fs.String("account-id", envOr("QUAYSIDE_ACCOUNT_ID", arn.DefaultAccount), "12-digit account id in every ARN")
	keyID := fs.String("access-key-id", os.Getenv("QUAYSIDE_ACCESS_KEY_ID"), "root access key id (default: from DIR/credentials, or generated)")
	secret := fs.String("secret-access-key", "", "root secret access key (prefer the QUAYSIDE_SECRET_ACCESS_KEY environment variable)")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *secret == "" {
		*secret = os.Getenv("QUAYSIDE_SECRET_ACCESS_KEY")
	}
	logger, err := newLogger(*logLevel, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "quayside:", err)
		return 2
	}
	s, err := server.Start(server.Config{
		Listen: *listen, DataDir: *dataDir, Region: *region, Account: *account,
		Root:   server.Credentials{AccessKeyID: *keyID, SecretAccessKey: *secret},
		Logger: logger,
	})
	if err != nil {
		logger.Error("cannot start", "err", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	logger.Info("shutting down")
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Close(shutdown); err != nil && !errors.Is(err, context.Canceled) {
		logger.Error("shutdown", "err", err)
		return 1
	}
	return 0
}

func newLogger(level string, w io.Writer) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("bad --log-level %q", level)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l})), nil
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
