package ecs

import (
	"strings"

	"github.com/quayside/quayside/internal/errs"
	"github.com/quayside/quayside/internal/model"
	"github.com/quayside/quayside/internal/sched/cql"
	"github.com/quayside/quayside/internal/store"
)

// maxAttributesPerOp limits Put/DeleteAttributes (facts §3.2, §7); the
// other attribute and resource limits live in the store, shared with the
// agent protocol.
const maxAttributesPerOp = 10

// instanceID extracts a container instance id from an id or ARN in cluster
// ("" when ref cannot name an instance there).
func instanceID(ref, cluster string) string { return childID(ref, "container-instance", cluster) }

// getInstance reads the instance ref names in cluster; nil when absent.
func getInstance(tx store.ReadTx, cluster, ref string) (*store.InstanceRecord, error) {
	id := instanceID(ref, cluster)
	if id == "" {
		return nil, nil
	}
	rec := new(store.InstanceRecord)
	_, ok, err := store.GetJSON(tx, store.InstanceKey(cluster, id), rec)
	if err != nil || !ok {
		return nil, err
	}
	return rec, nil
}

// instanceFailureARN is the ARN a failure names for ref: ref itself when it
// is an ARN, else the long-format ARN the id would have.
func (a *API) instanceFailureARN(cluster, ref string) string {
	if strings.HasPrefix(ref, "arn:") {
		return ref
	}
	return a.scope.ContainerInstance(cluster, ref)
}

// isCountedInstance reports whether an instance counts in the cluster's
// registeredContainerInstancesCount (ACTIVE or DRAINING).
func isCountedInstance(status string) bool {
	return status == model.StatusActive || status == model.StatusDraining
}

// adjustRegisteredCount moves the cluster's registered instance count by
// delta in tx.
func adjustRegisteredCount(tx store.Tx, c *model.Cluster, delta int32) error {
	if delta == 0 {
		return nil
	}
	c.RegisteredContainerInstancesCount += delta
	return store.PutJSON(tx, store.ClusterKey(c.ClusterName), c)
}

// instanceView is what Describe* shows of an instance: tags and health only
// when asked for.
func instanceView(rec *store.InstanceRecord, tags, health bool) model.ContainerInstance {
	ci := rec.ContainerInstance
	if !tags {
		ci.Tags = nil
	} else if ci.Tags == nil {
		ci.Tags = []model.Tag{}
	}
	if !health {
		ci.HealthStatus = nil
	} else if ci.HealthStatus == nil {
		// No agent reports health yet.
		ci.HealthStatus = &model.ContainerInstanceHealthStatus{
			OverallStatus: model.InstanceHealthCheckStateInsufficientData,
			Details:       []model.InstanceHealthCheckResult{},
		}
	}
	if ci.Attributes == nil {
		ci.Attributes = []model.Attribute{}
	}
	return ci
}

// cqlTargetOf is what the cluster query language sees of an instance; its
// task groups are those the record counts (the tasks placed on it that
// have not stopped), as the scheduler sees them.
func cqlTargetOf(rec *store.InstanceRecord) *cql.Target {
	t := &cql.Target{
		Attributes:   make(map[string]string, len(rec.Attributes)),
		EC2Instance:  rec.Ec2InstanceId,
		Connected:    rec.AgentConnected,
		Registered:   rec.RegisteredAt.Time,
		RunningTasks: int(rec.RunningTasksCount),
		TaskGroups:   make(map[string]bool, len(rec.TaskGroups)),
	}
	if rec.VersionInfo != nil {
		t.Version = rec.VersionInfo.AgentVersion
	}
	for _, at := range rec.Attributes {
		t.Attributes[at.Name] = at.Value
	}
	for g, n := range rec.TaskGroups {
		t.TaskGroups[g] = n > 0
	}
	return t
}

// parseFilter parses a cluster query language expression given by the
// caller, turning syntax errors into InvalidParameterException.
func parseFilter(expr string) (*cql.Expr, error) {
	e, err := cql.Parse(expr)
	if err != nil {
		return nil, errs.New(errs.InvalidParameter, "Invalid cluster query language expression %q: %s.", expr, err.Error())
	}
	return e, nil
}
