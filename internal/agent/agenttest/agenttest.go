package agenttest

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quayside/quayside/internal/agent"
	"github.com/quayside/quayside/internal/agent/runtime"
	"github.com/quayside/quayside/internal/agent/runtime/fake"
)

// Options describe a hollow node.
type Options struct {
	Server, Token string // the control plane's URL and agent token
	Cluster       string // "default" when empty
	// AvailabilityZone and Attributes become the instance's attributes;
	// CPU (units) and MemoryMiB its resources (default 4096 and 8192).
	AvailabilityZone string
	Attributes       map[string]string
	CPU, MemoryMiB   int64
	// Logger defaults to discarding.
	Logger *slog.Logger
	// Config, if set, changes the agent's configuration last.
	Config func(*agent.Config)
	// Runtime shapes the node's fake engine (its dynamic host port
	// range, say).
	Runtime fake.Options
}

// Node is one hollow node: an agent on its own fake engine.
type Node struct {
	// Runtime is the node's fake engine: script containers with it
	// (Exit, SetHealth) and count what runs (Stats, List).
	Runtime *fake.Runtime
	cut     atomic.Bool
	cancel  context.CancelFunc
	done    chan error
}

// Start runs a hollow node until the test ends (or Stop).
func Start(t testing.TB, o Options) *Node {
	t.Helper()
	n := &Node{Runtime: fake.New(o.Runtime), done: make(chan error, 1)}
	cfg := agent.Config{
		Server: o.Server, Token: o.Token, Cluster: o.Cluster, DataDir: t.TempDir(),
		AvailabilityZone: o.AvailabilityZone, Attributes: maps.Clone(o.Attributes),
		CPU: o.CPU, MemoryMiB: o.MemoryMiB, Runtime: n.Runtime,
		Resync: time.Second, Logger: o.Logger,
		HTTPClient: &http.Client{Transport: cutTransport{n}},
	}
	if cfg.CPU == 0 {
		cfg.CPU = 4096
	}
	if cfg.MemoryMiB == 0 {
		cfg.MemoryMiB = 8192
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Config != nil {
		o.Config(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n.cancel = cancel
	go func() { n.done <- agent.Run(ctx, cfg) }()
	t.Cleanup(func() {
		if err := n.Stop(); err != nil {
			t.Errorf("hollow node: %v", err)
		}
	})
	return n
}

// Stop stops the agent (its containers stay on the fake engine) and
// returns what agent.Run returned. It may be called more than once.
func (n *Node) Stop() error {
	n.cancel()
	select {
	case err := <-n.done:
		n.done <- err
		return err
	case <-time.After(30 * time.Second):
		return errors.New("agent did not stop within 30s")
	}
}

// Cut cuts the node off the network: every request to the control plane
// fails, as in a partition. Its containers keep running.
func (n *Node) Cut() { n.cut.Store(true) }

// Heal ends the partition.
func (n *Node) Heal() { n.cut.Store(false) }

// Running counts the node's running containers of the task with ARN arn
// (all of them when arn is empty).
func (n *Node) Running(arn string) int {
	labels := map[string]string{}
	if arn != "" {
		labels[runtime.LabelTask] = arn
	}
	cs, err := n.Runtime.List(context.Background(), labels)
	if err != nil {
		return 0
	}
	k := 0
	for _, c := range cs {
		if c.Running {
			k++
		}
	}
	return k
}

// Kill makes the running containers of the task with ARN arn exit with
// code, as `docker kill` would. It reports how many it killed.
func (n *Node) Kill(arn string, code int) int {
	cs, err := n.Runtime.List(context.Background(), map[string]string{runtime.LabelTask: arn})
	if err != nil {
		return 0
	}
	k := 0
	for _, c := range cs {
		if c.Running && n.Runtime.Exit(c.ID, code) == nil {
			k++
		}
	}
	return k
}

type cutTransport struct{ n *Node }

var errCut = errors.New("agenttest: the node is cut off the network")

// RoundTrip fails while the node is cut off, and drops an answer that
// arrives after the cut (a long poll sent before it).
func (c cutTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if c.n.cut.Load() {
		return nil, errCut
	}
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err == nil && c.n.cut.Load() {
		resp.Body.Close()
		return nil, errCut
	}
	return resp, err
}
