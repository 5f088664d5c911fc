package agent

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"github.com/quayside/quayside/internal/agent/runtime"
)

// Defaults of Config.
const (
	DefaultAvailabilityZone  = "local-1a"
	DefaultInstanceType      = "quayside.local"
	DefaultReservedMemoryMiB = 256
	DefaultVersion           = "quayside-dev"
	defaultResync            = 30 * time.Second
	maxBackoff               = 5 * time.Second
)

// Config is how a node agent runs.
type Config struct {
	Server  string // control plane base URL, e.g. "http://127.0.0.1:4566"
	Token   string // agent protocol bearer token
	Cluster string // cluster to join ("default" when empty)
	DataDir string // where the journal lives (required)

	// Attributes are custom container instance attributes.
	Attributes       map[string]string
	AvailabilityZone string // ecs.availability-zone (DefaultAvailabilityZone)
	// Address is the node's IP address, where load balancers reach its
	// tasks' host ports. Empty: the address this node uses to reach the
	// control plane.
	Address      string
	InstanceType string // ecs.instance-type (DefaultInstanceType)

	// Resource overrides: 0 means "from the runtime". CPU is in units (1024
	// per core), memory in MiB before the reserve.
	CPU       int64
	MemoryMiB int64
	// ReservedMemoryMiB is kept from tasks (DefaultReservedMemoryMiB when 0;
	// negative for none).
	ReservedMemoryMiB int64
	// ReservedPorts are TCP ports reserved beyond 22, 2375, 2376, 51678 and
	// 51679; ReservedPortsUDP the UDP ones (none by default).
	ReservedPorts    []int
	ReservedPortsUDP []int

	Runtime runtime.Runtime
	// PauseImage is the image of awsvpc pause containers; empty disables
	// awsvpc (no ecs.capability.task-eni attribute).
	PauseImage string
	// StopTimeout is the default grace period between SIGTERM and SIGKILL
	// (30s when 0).
	StopTimeout time.Duration
	// Resync is how often task runners re-inspect their containers even
	// without engine events (30s when 0).
	Resync time.Duration

	Version    string // agent version reported in versionInfo
	Logger     *slog.Logger
	Clock      func() time.Time // time.Now when nil
	HTTPClient *http.Client     // a client without a Timeout (long polls); http.DefaultClient when nil
}

func (c *Config) withDefaults() (Config, error) {
	out := *c
	switch {
	case out.Server == "":
		return out, errors.New("agent: no control plane URL")
	case out.DataDir == "":
		return out, errors.New("agent: no data directory")
	case out.Runtime == nil:
		return out, errors.New("agent: no container runtime")
	}
	if out.Address != "" {
		if _, err := netip.ParseAddr(out.Address); err != nil {
			return out, fmt.Errorf("agent: address %q is not an IP address", out.Address)
		}
	}
	if out.Cluster == "" {
		out.Cluster = "default"
	}
	if out.AvailabilityZone == "" {
		out.AvailabilityZone = DefaultAvailabilityZone
	}
	if out.InstanceType == "" {
		out.InstanceType = DefaultInstanceType
	}
	if out.ReservedMemoryMiB == 0 {
		out.ReservedMemoryMiB = DefaultReservedMemoryMiB
	}
	if out.Version == "" {
		out.Version = DefaultVersion
	}
	if out.Resync <= 0 {
		out.Resync = defaultResync
	}
	if out.Logger == nil {
		out.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if out.Clock == nil {
		out.Clock = time.Now
	}
	return out, nil
}
