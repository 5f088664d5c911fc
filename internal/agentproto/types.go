package agentproto

import (
	"time"

	"github.com/quayside/quayside/internal/model"
)

// PathPrefix is where the protocol is served.
const PathPrefix = "/agent/v1/"

// Paths of the operations (all POST with a JSON body and a JSON answer).
const (
	PathRegister    = PathPrefix + "register"
	PathHeartbeat   = PathPrefix + "heartbeat"
	PathAssignments = PathPrefix + "assignments"
	PathReport      = PathPrefix + "report"
)

// RegisterRequest announces a node.
type RegisterRequest struct {
	Cluster string `json:"cluster"`
	// ContainerInstanceArn is set when the agent registered before and
	// persisted its identity.
	ContainerInstanceArn string `json:"containerInstanceArn,omitzero"`
	// EC2InstanceID identifies the node (made up by the agent, stable across
	// restarts), shown as ec2InstanceId.
	EC2InstanceID string `json:"ec2InstanceId"`
	// Address is the node's IP address, where the control plane's load
	// balancers reach the host ports of its tasks (instance targets).
	// Empty: the node did not say; the control plane uses 127.0.0.1.
	Address        string            `json:"address,omitzero"`
	TotalResources []model.Resource  `json:"totalResources"`
	Attributes     []model.Attribute `json:"attributes,omitzero"`
	VersionInfo    model.VersionInfo `json:"versionInfo"`
}

// RegisterResponse gives the node its identity and timing.
type RegisterResponse struct {
	ContainerInstanceArn string        `json:"containerInstanceArn"`
	HeartbeatPeriod      time.Duration `json:"heartbeatPeriod"`
	// PollWait is how long the server holds an assignments poll open.
	PollWait time.Duration `json:"pollWait"`
}

// HeartbeatRequest says the agent is alive.
type HeartbeatRequest struct {
	ContainerInstanceArn string `json:"containerInstanceArn"`
}

// HeartbeatResponse may change the period.
type HeartbeatResponse struct {
	HeartbeatPeriod time.Duration `json:"heartbeatPeriod"`
}

// AssignmentsRequest asks for the node's tasks changed after a revision.
type AssignmentsRequest struct {
	ContainerInstanceArn string `json:"containerInstanceArn"`
	After                int64  `json:"after"`
}

// AssignmentsResponse is the full set of the node's tasks (Full) or the ones
// that changed after the request's revision. An empty delta means the poll
// timed out with nothing new.
type AssignmentsResponse struct {
	Revision int64        `json:"revision"`
	Full     bool         `json:"full"`
	Tasks    []Assignment `json:"tasks"`
}

// Assignment is one task placed on the node, as the control plane wants it.
type Assignment struct {
	// Task is the task as stored: ARN, desiredStatus, overrides, containers
	// (with their ARNs), group, startedBy, attachments.
	Task model.Task `json:"task"`
	// Definition is the task definition revision the task runs.
	Definition model.TaskDefinition `json:"definition"`
	// Revision is the store revision of this version of the task.
	Revision int64 `json:"revision"`
	// ReportedSeq is the highest report sequence number the server has
	// applied for the task (so a restarted agent knows where it stands).
	ReportedSeq uint64 `json:"reportedSeq"`
}

// ReportRequest carries task state changes, in order per task.
type ReportRequest struct {
	ContainerInstanceArn string       `json:"containerInstanceArn"`
	Reports              []TaskReport `json:"reports"`
}

// TaskReport is the observed state of a task after a change. Fields that are
// zero are left as they were on the server, except where noted.
type TaskReport struct {
	TaskArn string `json:"taskArn"`
	Seq     uint64 `json:"seq"`

	LastStatus    string             `json:"lastStatus"`
	HealthStatus  model.HealthStatus `json:"healthStatus,omitzero"`
	StopCode      model.TaskStopCode `json:"stopCode,omitzero"`
	StoppedReason string             `json:"stoppedReason,omitzero"`

	Containers  []ContainerReport  `json:"containers,omitzero"`
	Attachments []model.Attachment `json:"attachments,omitzero"`

	PullStartedAt      model.Time `json:"pullStartedAt,omitzero"`
	PullStoppedAt      model.Time `json:"pullStoppedAt,omitzero"`
	ConnectivityAt     model.Time `json:"connectivityAt,omitzero"`
	StartedAt          model.Time `json:"startedAt,omitzero"`
	StoppingAt         model.Time `json:"stoppingAt,omitzero"`
	ExecutionStoppedAt model.Time `json:"executionStoppedAt,omitzero"`
	StoppedAt          model.Time `json:"stoppedAt,omitzero"`
}

// ContainerReport is one container's observed state.
type ContainerReport struct {
	Name              string                   `json:"name"`
	RuntimeID         string                   `json:"runtimeId,omitzero"`
	LastStatus        string                   `json:"lastStatus"`
	ExitCode          *int32                   `json:"exitCode,omitzero"`
	Reason            string                   `json:"reason,omitzero"`
	HealthStatus      model.HealthStatus       `json:"healthStatus,omitzero"`
	NetworkBindings   []model.NetworkBinding   `json:"networkBindings,omitzero"`
	NetworkInterfaces []model.NetworkInterface `json:"networkInterfaces,omitzero"`
	ImageDigest       string                   `json:"imageDigest,omitzero"`
}

// ReportResponse acknowledges reports (applied now or before).
type ReportResponse struct {
	Acked []Ack `json:"acked"`
}

// Ack names one acknowledged report.
type Ack struct {
	TaskArn string `json:"taskArn"`
	Seq     uint64 `json:"seq"`
}

// Error is the body of every non-2xx answer.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Error codes.
const (
	CodeUnauthorized     = "Unauthorized"     // 401: bad or missing token
	CodeBadRequest       = "BadRequest"       // 400
	CodeClusterNotFound  = "ClusterNotFound"  // 404
	CodeInstanceNotFound = "InstanceNotFound" // 404: re-register
	CodeInstanceInactive = "InstanceInactive" // 410: deregistered; stop
)

func (e *Error) Error() string { return e.Code + ": " + e.Message }
