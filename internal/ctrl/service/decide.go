package service

import (
	"time"

	"github.com/quayside/quayside/internal/model"
	"github.com/quayside/quayside/internal/store"
)

// Task is what Decide needs to know of one task of the service.
type Task struct {
	ID             string
	Deployment     string // startedBy: the id of the deployment that started it
	TaskDefinition string
	Instance       string // container instance id
	LastStatus     string
	DesiredStatus  string
	Health         model.HealthStatus
	CreatedAt      time.Time
	StartedAt      time.Time // zero: it never reached RUNNING
	StoppedAt      time.Time
	StopCode       model.TaskStopCode
	ServiceStop    string // store.ServiceStop*: why this scheduler stopped it

	// Load balancing, for a service with loadBalancers (lb.go).
	//
	// Targets are the task's targets: those registered for it and, while
	// it runs, those it should have. TargetsMissing says that it runs but
	// some of its targets cannot be worked out yet (no host port or IP
	// reported, no such target group). Deregistered says that the
	// scheduler deregistered its targets; Drain, that it did so to stop
	// the task once they have drained.
	Targets        []Target
	TargetsMissing bool
	Deregistered   bool
	Drain          *Drain
}

// Target is one of a task's load balancer targets, with its health as
// the target group shows it.
type Target struct {
	Group   string // target group ARN
	GroupID string
	ID      string // EC2 instance ID (instance targets) or IP address
	Port    int32
	// Registered: the scheduler registered it for the task (the task's
	// record lists it).
	Registered bool
	// State is the target's health (store.Target*, or TargetUnused when no
	// listener forwards to the group); "" when it is not registered with
	// the group. Description says why it is unhealthy.
	State       string
	Description string
	DrainUntil  time.Time // while draining
}

// Drain is a stop begun by deregistering a task's targets: the task is
// stopped with Kind and Reason once they have drained, at Until at the
// latest.
type Drain struct {
	Kind, Reason string
	Until        time.Time
}

// Node is what Decide needs to know of a container instance that a task
// of the service runs on or (DAEMON) that could run one.
type Node struct {
	ID        string
	Status    string // ACTIVE, DRAINING or INACTIVE
	Connected bool
	// DisconnectedSince is when the controller first saw the agent
	// disconnected (zero while connected).
	DisconnectedSince time.Time
	AZ                string
	EC2InstanceID     string
	// Address is where load balancers reach the node's host ports.
	Address string
	// Eligible says (DAEMON) whether the instance meets the service's
	// placement constraints and required attributes and serves its launch
	// type; its status and connection are judged apart.
	Eligible bool
}

// Policy is how the controller judges what it sees.
type Policy struct {
	// LostAfter is how long an instance's agent may stay disconnected
	// before its service tasks are replaced elsewhere.
	LostAfter time.Duration
	// SuccessAfter is how long a task must run (healthy) to count as a
	// successful run: one resets the deployment's failedTasks, and a task
	// that stops on its own sooner counts as a failed one.
	SuccessAfter time.Duration
	// NewDeploymentID makes the id of a rollback deployment.
	NewDeploymentID func() string
}

// Input is everything Decide looks at.
type Input struct {
	Service *store.ServiceRecord // as stored; Decide does not change it
	Tasks   []Task               // every task of the service still stored
	// Nodes holds, by id, the instances the tasks run on and (DAEMON) every
	// instance of the cluster. A task whose instance is missing runs
	// nowhere any more.
	Nodes map[string]Node
	// HealthChecks says, by task definition ARN, whether an essential
	// container of the definition has a health check.
	HealthChecks map[string]bool
	// Unlaunchable, when not empty, is why no task of the PRIMARY
	// deployment can be launched at all (an unsupported launch type, a
	// missing definition).
	Unlaunchable string
	Policy       Policy
	Now          time.Time
}

// Plan is what Decide wants done.
type Plan struct {
	// Service is the service record to store: a copy of the input's with
	// its deployments, counts, status and events brought up to date. The
	// caller adds the events of the launches it makes (and their pending
	// counts).
	Service *store.ServiceRecord
	Launch  Launch
	Stops   []Stop
	// Drains are tasks to stop gracefully: their targets are deregistered
	// now (the data plane drains them) and the task is stopped by a later
	// plan, once they have drained.
	Drains []Stop
	// Register lists the tasks whose targets (those of Task.Targets not
	// registered with their group) to register; Deregister those whose
	// targets to deregister at once: tasks that stopped without draining.
	Register   []string
	Deregister []string
	// Events are the messages to add to the service's events, oldest
	// first.
	Events []string
	// RequeueAfter, when positive, is when to look again even if nothing
	// changes (a grace period or a backoff ends).
	RequeueAfter time.Duration
}

// Launch is the tasks to start, all of one deployment (the PRIMARY).
type Launch struct {
	Deployment string
	Count      int      // REPLICA: this many, placed by the service's strategies
	On         []string // DAEMON: one on each of these instances
}

// Empty reports whether l launches nothing.
func (l Launch) Empty() bool { return l.Count == 0 && len(l.On) == 0 }

// Stop is a task to stop: desiredStatus STOPPED with stopCode
// ServiceSchedulerInitiated.
type Stop struct {
	Task   string
	Kind   string // store.ServiceStop*
	Reason string // the stoppedReason
}

// Deployment statuses.
const (
	deploymentPrimary = "PRIMARY"
	deploymentActive  = "ACTIVE"
)

// Decide works out what the service's scheduler does next: which tasks to
// launch and stop, and how the service and its deployments look. It is a
// pure function of in.
func Decide(in *Input) *Plan {
	v := newView(in)
	switch {
	case v.svc.Status == model.StatusInactive:
	case v.svc.Status == model.StatusDraining:
		v.decideDeleted()
	case v.primary == nil:
		// The EXTERNAL and CODE_DEPLOY controllers: tasks come from task
		// sets, not from this scheduler.
	default:
		v.checkBreaker()
		v.stopLost()
		if v.daemon() {
			v.decideDaemon()
		} else {
			v.decideReplica()
		}
	}
	v.balance()
	v.settle()
	return v.finish()
}
