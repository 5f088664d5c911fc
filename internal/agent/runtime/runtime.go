// Package runtime is the port between the node agent and a container
// engine. The agent owns the logic (ordering, health, reporting); a Runtime
// only does what it is told and says what it sees. Adapters: runtime/docker
// (the Docker Engine API) and runtime/fake (scriptable, for hollow nodes and
// tests). Both pass the conformance tests in runtime/runtimetest.
//
// It imports only the standard library.
package runtime

import (
	"context"
	"errors"
	"time"
)

// Labels the agent puts on everything it creates, so that it can find and
// adopt its containers after a restart and reap what nobody tracks.
const (
	LabelManaged   = "com.quayside.managed" // "true"
	LabelCluster   = "com.quayside.cluster"
	LabelInstance  = "com.quayside.container-instance"
	LabelTask      = "com.quayside.task-arn"
	LabelContainer = "com.quayside.container-name" // the task definition's name; "~pause" for the awsvpc pause container
)

// Runtime runs containers. Implementations are safe for concurrent use.
type Runtime interface {
	// Info describes the engine and the machine it runs on.
	Info(ctx context.Context) (Info, error)
	// EnsureImage makes the image available locally: present images are used
	// as they are; absent ones are pulled (concurrent calls for one image
	// share one pull). A failed pull returns a *PullError.
	EnsureImage(ctx context.Context, ref string) error
	// CreateContainer creates (does not start) a container. A taken name
	// is refused with an error matching ErrNameInUse.
	CreateContainer(ctx context.Context, spec ContainerSpec) (id string, err error)
	StartContainer(ctx context.Context, id string) error
	// StopContainer sends the stop signal, then SIGKILL after timeout.
	StopContainer(ctx context.Context, id string, timeout time.Duration) error
	// RemoveContainer removes a stopped container (and its anonymous volumes).
	RemoveContainer(ctx context.Context, id string) error
	// Inspect returns a container's state, or ErrNotFound.
	Inspect(ctx context.Context, id string) (ContainerStatus, error)
	// List returns the containers that carry all the given labels.
	List(ctx context.Context, labels map[string]string) ([]ContainerStatus, error)
	// Events streams state changes of containers carrying LabelManaged until
	// ctx ends. The error channel yields at most one error, after which the
	// event channel is closed (the agent re-lists and subscribes again).
	Events(ctx context.Context) (<-chan Event, <-chan error)
	// CreateVolume creates a named volume (idempotent); RemoveVolume removes
	// it (absent is not an error).
	CreateVolume(ctx context.Context, spec VolumeSpec) error
	RemoveVolume(ctx context.Context, name string) error
}

// Info describes an engine and its machine.
type Info struct {
	EngineVersion string // e.g. "20.10.24"
	APIVersion    string // negotiated API version
	OS            string // "linux"
	Arch          string // "x86_64" | "arm64" (ECS spelling)
	CPUs          int
	MemoryBytes   int64
	Hostname      string
}

// ContainerSpec is everything a container is created with. Names, ports and
// paths are in the engine's terms; the agent translates the task definition.
type ContainerSpec struct {
	Name   string // engine-wide container name
	Image  string
	Labels map[string]string

	Entrypoint []string
	Cmd        []string
	Env        []string // "K=V"
	WorkingDir string
	User       string
	Hostname   string

	CPUShares            int64 // 0 means the engine default
	MemoryMiB            int64 // hard limit; 0 none
	MemoryReservationMiB int64 // soft limit; 0 none

	// NetworkMode is "bridge", "host", "none" or "container:<id>" (awsvpc:
	// the task's containers join the pause container's namespace).
	NetworkMode  string
	PortBindings []PortBinding
	Links        []string // "<engine container name>:<alias>"
	ExtraHosts   []string // "host:ip"
	DNSServers   []string
	DNSSearch    []string

	Mounts         []Mount
	VolumesFrom    []string // "<container id>" or "<container id>:ro"
	ReadonlyRootfs bool
	Privileged     bool
	Init           bool
	Ulimits        []Ulimit
	HealthCheck    *HealthCheck
	StopTimeout    time.Duration
	LogDriver      string
	LogOptions     map[string]string
}

// PortBinding maps a container port to a host port. HostPort 0 asks the
// engine for a dynamic port; Inspect reports the one it chose.
type PortBinding struct {
	ContainerPort int
	HostPort      int
	Protocol      string // "tcp" | "udp"
	HostIP        string // "" = all interfaces
}

// Mount attaches a host path ("bind") or a named volume ("volume").
type Mount struct {
	Type     string // "bind" | "volume"
	Source   string // host path or volume name
	Target   string // path in the container
	ReadOnly bool
}

// Ulimit is one resource limit.
type Ulimit struct {
	Name       string
	Soft, Hard int64
}

// HealthCheck is the engine's health check ("CMD" / "CMD-SHELL" test).
type HealthCheck struct {
	Test        []string
	Interval    time.Duration
	Timeout     time.Duration
	StartPeriod time.Duration
	Retries     int
}

// VolumeSpec is a named volume.
type VolumeSpec struct {
	Name    string
	Driver  string // "" = local
	Options map[string]string
	Labels  map[string]string
}

// ContainerStatus is what the engine says about a container.
type ContainerStatus struct {
	ID          string
	Name        string
	Image       string
	ImageDigest string
	Labels      map[string]string

	State      string // "created", "running", "exited", ... (engine words)
	Running    bool
	ExitCode   int
	OOMKilled  bool
	Error      string // engine's error text when it could not start it
	CreatedAt  time.Time
	StartedAt  time.Time
	FinishedAt time.Time
	Health     string // "" (no check), "starting", "healthy", "unhealthy"

	Ports     []PortBinding // actual bindings once running
	IPAddress string        // address on its network, if any
}

// Event is one change the engine reports.
type Event struct {
	ContainerID string
	// Action is the engine's word: "start", "die", "oom", "destroy",
	// "health_status" (Health then holds the new status), ...
	Action string
	Health string
	Labels map[string]string
	Time   time.Time
}

// ErrNotFound reports an unknown container.
var ErrNotFound = errors.New("runtime: no such container")

// ErrNameInUse reports a container name that is taken. The holder may not
// be listed yet: an engine reserves the name before the container exists
// (a create still under way, e.g. from an agent killed meanwhile).
var ErrNameInUse = errors.New("runtime: container name in use")

// NameInUse marks an engine's refusal of a taken name: the result matches
// ErrNameInUse and keeps the engine's words.
func NameInUse(err error) error { return nameInUse{err} }

type nameInUse struct{ error }

func (e nameInUse) Is(target error) bool { return target == ErrNameInUse }
func (e nameInUse) Unwrap() error        { return e.error }

// PullError is a failure to make an image available.
type PullError struct {
	Image string
	Err   error
}

func (e *PullError) Error() string { return "pull " + e.Image + ": " + e.Err.Error() }
func (e *PullError) Unwrap() error { return e.Err }
