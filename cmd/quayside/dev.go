package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/quayside/quayside/internal/agent"
	"github.com/quayside/quayside/internal/server"
	"github.com/quayside/quayside/internal/testimages"
)

// runDev runs the control plane and one agent on the local Docker in one
// process, joined to the default cluster.
func runDev(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sf := addServerFlags(fs, "./data")
	af := addAgentFlags(fs, "agent-data-dir", "")
	images := fs.Bool("build-images", true, "build the small local images (echo server, awsvpc pause) on first start")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, err := sf.config(stderr)
	if err != nil {
		fmt.Fprintln(stderr, "quayside dev:", err)
		return 2
	}
	ctx, stop := signalContext()
	defer stop()
	echo := ""
	if *images && *af.runtime == "docker" {
		imgs, err := buildImages(ctx, *af.dockerHost)
		if err != nil {
			cfg.Logger.Error("cannot build the local images; is Docker running? (scripts/install-deps.sh installs and starts it)", "err", err)
			return 1
		}
		echo = imgs.Echo
		if *af.pauseImage == "" {
			*af.pauseImage = imgs.Pause
		}
	}
	s, err := server.Start(cfg)
	if err != nil {
		cfg.Logger.Error("cannot start", "err", err)
		return 1
	}
	defer closeServer(s, cfg)
	if err := s.EnsureCluster(ctx, *af.cluster); err != nil {
		cfg.Logger.Error("cannot create the cluster", "cluster", *af.cluster, "err", err)
		return 1
	}
	if *af.dataDir == "" {
		*af.dataDir = filepath.Join(cfg.DataDir, "agent")
	}
	acfg, err := af.config(s.URL(), s.AgentToken(), version)
	if err != nil {
		fmt.Fprintln(stderr, "quayside dev:", err)
		return 2
	}
	acfg.Logger = cfg.Logger.With("component", "agent")
	done := make(chan error, 1)
	go func() { done <- agent.Run(ctx, acfg) }()
	printWelcome(stdout, s.URL(), cfg.DataDir, *af.cluster, echo)
	select {
	case <-ctx.Done():
		cfg.Logger.Info("shutting down: task containers keep running and are adopted on the next start")
		<-done
	case err := <-done:
		cfg.Logger.Error("agent stopped", "err", err)
		return 1
	}
	return 0
}

func buildImages(ctx context.Context, host string) (testimages.Images, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	return testimages.Ensure(ctx, host)
}

func printWelcome(w io.Writer, url, dataDir, cluster, echo string) {
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		abs = dataDir
	}
	fmt.Fprintf(w, `
Quayside is running: control plane, agent and embedded store, on the local Docker.

  endpoint  %s
  cluster   %s

In another shell:

  export AWS_SHARED_CREDENTIALS_FILE=%s AWS_DEFAULT_REGION=us-east-1
  alias ecs='aws --endpoint-url %s ecs'
`, url, cluster, filepath.Join(abs, "credentials"), url)
	if echo != "" {
		fmt.Fprintf(w, `
  ecs register-task-definition --family hello \
    --container-definitions '[{"name":"web","image":"%s","memory":64,"portMappings":[{"containerPort":8080}]}]'
  ecs run-task --task-definition hello
  ecs describe-tasks --tasks <taskArn> --query 'tasks[0].containers[0].networkBindings'
  curl http://127.0.0.1:<hostPort>/

`, echo)
	}
	fmt.Fprintln(w, "Ctrl-C stops the control plane and the agent; running task containers keep running and are adopted on the next start.")
}
