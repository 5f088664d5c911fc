// Command quayside is the single Quayside binary. Subcommands:
//
//	quayside server   the control plane (ECS API on one listener)
//	quayside agent    the node agent: runs the node's tasks on Docker
//	quayside dev      server + agent + embedded store on the local Docker
//	quayside version  print the version
//
// This file holds flags and wiring only.
package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
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
	case "agent":
		return runAgent(args[1:], stderr)
	case "dev":
		return runDev(args[1:], stdout, stderr)
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
  dev       run everything on this machine: control plane, agent, local Docker
  server    run the control plane (the ECS API, SigV4, embedded store)
  agent     run the node agent, joining this machine to a cluster
  version   print the version

Run 'quayside <command> -h' for the flags of a command.
`)
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
