package main

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/quayside/quayside/internal/agent"
	"github.com/quayside/quayside/internal/agent/runtime"
	"github.com/quayside/quayside/internal/agent/runtime/docker"
	"github.com/quayside/quayside/internal/agent/runtime/fake"
)

// agentFlags are the node settings `agent` takes and `dev` fills in.
type agentFlags struct {
	cluster, dataDir, az, instanceType, runtime, dockerHost, pauseImage, address *string
	cpu, memory, reservedMemory                                                  *int64
	stopTimeout                                                                  *time.Duration
	attrs, ports                                                                 *listFlag
}

// addAgentFlags adds the node flags; dataDirFlag names the agent's data
// directory flag ("data-dir" for `agent`, "agent-data-dir" for `dev`, where
// --data-dir is the control plane's).
func addAgentFlags(fs *flag.FlagSet, dataDirFlag, defaultDataDir string) agentFlags {
	f := agentFlags{
		cluster:        fs.String("cluster", "default", "`NAME` of the cluster to join"),
		dataDir:        fs.String(dataDirFlag, defaultDataDir, "`DIR` where the agent keeps its identity and report journal"),
		az:             fs.String("availability-zone", agent.DefaultAvailabilityZone, "ecs.availability-zone attribute"),
		instanceType:   fs.String("instance-type", agent.DefaultInstanceType, "ecs.instance-type attribute"),
		address:        fs.String("address", "", "`IP` where load balancers reach this node's task ports (default: this node's address towards the server)"),
		runtime:        fs.String("runtime", "docker", "container runtime: docker, or fake (scriptable, for scale tests)"),
		dockerHost:     fs.String("docker-host", "", "Docker engine address (default: DOCKER_HOST or the local socket)"),
		pauseImage:     fs.String("pause-image", "", "image of awsvpc pause containers (empty: awsvpc off)"),
		cpu:            fs.Int64("cpu", 0, "CPU units to offer (default 1024 per core)"),
		memory:         fs.Int64("memory", 0, "memory MiB to offer before the reserve (default: all)"),
		reservedMemory: fs.Int64("reserved-memory", 0, fmt.Sprintf("memory MiB kept from tasks (default %d)", agent.DefaultReservedMemoryMiB)),
		stopTimeout:    fs.Duration("stop-timeout", 30*time.Second, "default grace between SIGTERM and SIGKILL"),
		attrs:          &listFlag{},
		ports:          &listFlag{},
	}
	fs.Var(f.attrs, "attribute", "custom attribute `k=v` (repeatable)")
	fs.Var(f.ports, "reserved-port", "extra reserved TCP `port` (repeatable)")
	return f
}

// config builds the agent configuration for a control plane.
func (f agentFlags) config(serverURL, token, version string) (agent.Config, error) {
	attrs := map[string]string{}
	for _, kv := range *f.attrs {
		k, v, _ := strings.Cut(kv, "=")
		if k == "" {
			return agent.Config{}, fmt.Errorf("bad --attribute %q: want k=v", kv)
		}
		attrs[k] = v
	}
	var ports []int
	for _, p := range *f.ports {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return agent.Config{}, fmt.Errorf("bad --reserved-port %q", p)
		}
		ports = append(ports, n)
	}
	rt, err := f.newRuntime()
	if err != nil {
		return agent.Config{}, err
	}
	return agent.Config{
		Server: serverURL, Token: token, Cluster: *f.cluster, DataDir: *f.dataDir,
		Attributes: attrs, AvailabilityZone: *f.az, InstanceType: *f.instanceType, Address: *f.address,
		CPU: *f.cpu, MemoryMiB: *f.memory, ReservedMemoryMiB: *f.reservedMemory, ReservedPorts: ports,
		Runtime: rt, PauseImage: *f.pauseImage, StopTimeout: *f.stopTimeout, Version: version,
	}, nil
}

func (f agentFlags) newRuntime() (runtime.Runtime, error) {
	switch *f.runtime {
	case "docker":
		return docker.New(docker.Options{Host: *f.dockerHost})
	case "fake":
		return fake.New(fake.Options{}), nil
	}
	return nil, fmt.Errorf("unknown --runtime %q (docker or fake)", *f.runtime)
}

func runAgent(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("agent", flag.ContinueOnError)
	fs.SetOutput(stderr)
	serverURL := fs.String("server", "", "control plane `URL`, e.g. http://10.0.0.1:4566 (required)")
	token := fs.String("token", "", "agent protocol token (env QUAYSIDE_AGENT_TOKEN)")
	tokenFile := fs.String("token-file", "", "read the token from this `file` (the server's DATA_DIR/agent-token)")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	af := addAgentFlags(fs, "data-dir", "./agent-data")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	tok, err := agentToken(*token, *tokenFile)
	if err == nil && *serverURL == "" {
		err = errors.New("--server is required")
	}
	logger, lerr := newLogger(*logLevel, stderr)
	if err == nil {
		err = lerr
	}
	var cfg agent.Config
	if err == nil {
		cfg, err = af.config(*serverURL, tok, version)
	}
	if err != nil {
		fmt.Fprintln(stderr, "quayside agent:", err)
		return 2
	}
	cfg.Logger = logger
	ctx, stop := signalContext()
	defer stop()
	if err := agent.Run(ctx, cfg); err != nil && ctx.Err() == nil {
		logger.Error("agent stopped", "err", err)
		return 1
	}
	return 0
}

func agentToken(flagValue, file string) (string, error) {
	if t := cmp.Or(flagValue, os.Getenv("QUAYSIDE_AGENT_TOKEN")); t != "" {
		return t, nil
	}
	if file == "" {
		return "", errors.New("give the agent token with --token, --token-file or QUAYSIDE_AGENT_TOKEN")
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

// listFlag collects a repeatable flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }
