package service

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"sync"

	"github.com/quayside/quayside/internal/arn"
	"github.com/quayside/quayside/internal/model"
	"github.com/quayside/quayside/internal/sched"
	"github.com/quayside/quayside/internal/store"
)

// observed is one reading of a service and what it runs on.
type observed struct {
	cluster, name string
	svc           *store.ServiceRecord
	svcRev        int64 // the service record's ModRev
	tasks         []Task
	nodes         map[string]Node
	defs          map[string]*store.TaskDefinitionRecord // by ARN: the definitions of its deployments and tasks
	// With loadBalancers: the tasks' marks.
	lbMarks map[string]*taskLBMark // by task ID
}

// observe reads the service, its tasks, their instances (every instance of
// the cluster for DAEMON) and the definitions involved, in one read
// transaction. It returns nil when the service does not exist.
func (c *controller) observe(tx store.ReadTx, cluster, name string) (*observed, error) {
	o := &observed{cluster: cluster, name: name, svc: new(store.ServiceRecord),
		nodes: map[string]Node{}, defs: map[string]*store.TaskDefinitionRecord{}}
	rev, ok, err := store.GetJSON(tx, store.ServiceKey(cluster, name), o.svc)
	if err != nil || !ok {
		c.marks.put(Key(cluster, name), nil)
		return nil, err
	}
	o.svcRev = rev
	if err := o.readTasks(tx, c.marks); err != nil {
		return nil, err
	}
	if err := o.readDefinitions(tx); err != nil {
		return nil, err
	}
	if o.svc.SchedulingStrategy == model.SchedulingStrategyDaemon && o.svc.Status == model.StatusActive {
		err = c.readAllNodes(tx, o)
	} else {
		err = c.readTaskNodes(tx, o)
	}
	if err != nil || o.lbMarks == nil {
		return o, err
	}
	return o, o.readTargets(tx)
}

// readTargets reads the service's target groups and works out the
// tasks' targets.
func (o *observed) readTargets(tx store.ReadTx) error {
	seen, err := readTargets(tx, o.svc, o.lbMarks)
	if err != nil {
		return err
	}
	for i := range o.tasks {
		t := &o.tasks[i]
		if m := o.lbMarks[t.ID]; m != nil {
			seen.fillTargets(t, m, o.svc.LoadBalancers, o.nodes[t.Instance].EC2InstanceID)
		}
	}
	return nil
}

var lbField = []byte(`"qLB":`)

// readTasks reads the service's tasks: the cluster's tasks whose record
// names the service (a byte search skips the others without decoding; a
// record unchanged since the last reading is not decoded again).
func (o *observed) readTasks(tx store.ReadTx, marks *markCache) error {
	key := Key(o.cluster, o.name)
	old, seen := marks.get(key), map[string]cachedMark{}
	balanced := hasTargetGroups(o.svc)
	needle := []byte(`"qService":"` + o.name + `"`)
	err := tx.Scan(store.TasksPrefix+o.cluster+"/", "", func(kv store.KV) (bool, error) {
		if !bytes.Contains(kv.Value, needle) {
			return true, nil
		}
		m, ok := old[kv.Key]
		if !ok || m.rev != kv.ModRev {
			var t taskMark
			if err := json.Unmarshal(kv.Value, &t); err != nil {
				return false, err
			}
			m = cachedMark{rev: kv.ModRev, mine: t.ServiceName == o.name, task: t.task()}
		}
		// Load balancing reads more of the tasks of a service with target
		// groups, and of those registered before its loadBalancers went.
		if m.mine && m.lb == nil && (balanced || bytes.Contains(kv.Value, lbField)) {
			m.lb = new(taskLBMark)
			if err := json.Unmarshal(kv.Value, m.lb); err != nil {
				return false, err
			}
		}
		seen[kv.Key] = m
		if m.mine {
			o.tasks = append(o.tasks, m.task)
			if m.lb != nil {
				if o.lbMarks == nil {
					o.lbMarks = map[string]*taskLBMark{}
				}
				o.lbMarks[m.task.ID] = m.lb
			}
		}
		return true, nil
	})
	if err == nil {
		marks.put(key, seen)
	}
	return err
}

// markCache keeps, per service, its tasks as last decoded, by store key.
type markCache struct {
	mu sync.Mutex
	m  map[string]map[string]cachedMark
}

type cachedMark struct {
	rev  int64 // the record's ModRev
	mine bool
	task Task
	lb   *taskLBMark // decoded for services with loadBalancers
}

func (c *markCache) get(key string) map[string]cachedMark {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[key]
}

// put replaces the service's entries (nil: forgets them).
func (c *markCache) put(key string, marks map[string]cachedMark) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if marks == nil {
		delete(c.m, key)
		return
	}
	c.m[key] = marks
}

// taskMark is the part of a task record Decide reads (decoding only it
// spares the containers and attachments).
type taskMark struct {
	ID             string             `json:"qId"`
	ServiceName    string             `json:"qService"`
	Instance       string             `json:"qInstance"`
	ServiceStop    string             `json:"qServiceStop"`
	StartedBy      string             `json:"startedBy"`
	TaskDefinition string             `json:"taskDefinitionArn"`
	LastStatus     string             `json:"lastStatus"`
	DesiredStatus  string             `json:"desiredStatus"`
	Health         model.HealthStatus `json:"healthStatus"`
	CreatedAt      model.Time         `json:"createdAt"`
	StartedAt      model.Time         `json:"startedAt"`
	StoppedAt      model.Time         `json:"stoppedAt"`
	StopCode       model.TaskStopCode `json:"stopCode"`
}

func (t *taskMark) task() Task {
	return Task{
		ID: t.ID, Deployment: t.StartedBy, TaskDefinition: t.TaskDefinition, Instance: t.Instance,
		LastStatus: t.LastStatus, DesiredStatus: t.DesiredStatus, Health: t.Health,
		CreatedAt: t.CreatedAt.Time, StartedAt: t.StartedAt.Time, StoppedAt: t.StoppedAt.Time,
		StopCode: t.StopCode, ServiceStop: t.ServiceStop,
	}
}

// readDefinitions reads the definitions of the deployments, of the last
// completed one and of the tasks.
func (o *observed) readDefinitions(tx store.ReadTx) error {
	arns := []string{}
	for _, d := range o.svc.Deployments {
		arns = append(arns, d.TaskDefinition)
	}
	if o.svc.LastCompleted != nil {
		arns = append(arns, o.svc.LastCompleted.TaskDefinition)
	}
	for _, t := range o.tasks {
		arns = append(arns, t.TaskDefinition)
	}
	for _, a := range arns {
		if _, done := o.defs[a]; done || a == "" {
			continue
		}
		td, err := readDefinition(tx, a)
		if err != nil {
			return err
		}
		o.defs[a] = td
	}
	return nil
}

// readDefinition reads a definition by ARN (nil when it is gone).
func readDefinition(tx store.ReadTx, tdARN string) (*store.TaskDefinitionRecord, error) {
	a, err := arn.Parse(tdARN)
	if err != nil || a.Type() != "task-definition" {
		return nil, nil
	}
	fr := strings.TrimPrefix(a.Resource, "task-definition/")
	i := strings.LastIndexByte(fr, ':')
	if i < 0 {
		return nil, nil
	}
	rev, err := strconv.ParseInt(fr[i+1:], 10, 64)
	if err != nil {
		return nil, nil
	}
	td := new(store.TaskDefinitionRecord)
	_, ok, err := store.GetJSON(tx, store.TaskDefKey(fr[:i], rev), td)
	if err != nil || !ok {
		return nil, err
	}
	return td, nil
}

// healthChecks says, by definition ARN, whether an essential container
// has a health check.
func (o *observed) healthChecks() map[string]bool {
	out := map[string]bool{}
	for a, td := range o.defs {
		if td == nil {
			continue
		}
		for _, d := range td.ContainerDefinitions {
			if d.HealthCheck != nil && (d.Essential == nil || *d.Essential) {
				out[a] = true
			}
		}
	}
	return out
}

// readTaskNodes reads the instances the tasks are placed on.
func (c *controller) readTaskNodes(tx store.ReadTx, o *observed) error {
	for _, t := range o.tasks {
		if _, done := o.nodes[t.Instance]; done || t.Instance == "" {
			continue
		}
		var m nodeMark
		_, ok, err := store.GetJSON(tx, store.InstanceKey(o.cluster, t.Instance), &m)
		if err != nil {
			return err
		}
		if ok {
			rec := &store.InstanceRecord{Cluster: o.cluster, ID: t.Instance}
			rec.Status, rec.AgentConnected, rec.Attributes, rec.Ec2InstanceId = m.Status, m.AgentConnected, m.Attributes, m.Ec2InstanceID
			rec.Address = m.Address
			o.nodes[t.Instance] = c.nodeOf(rec, nil)
		}
	}
	return nil
}

// nodeMark is the part of an instance record a REPLICA service reads.
type nodeMark struct {
	Status         string            `json:"status"`
	AgentConnected bool              `json:"agentConnected"`
	Attributes     []model.Attribute `json:"attributes"`
	Ec2InstanceID  string            `json:"ec2InstanceId"`
	Address        string            `json:"qAddress"`
}

// readAllNodes reads every instance of the cluster and judges whether it
// meets the DAEMON service's constraints.
func (c *controller) readAllNodes(tx store.ReadTx, o *observed) error {
	var static *sched.TaskSpec
	if p := primaryOf(o.svc); p != nil {
		static = daemonSpec(o.svc, o.defs[p.TaskDefinition], p.LaunchType)
	}
	return store.ScanJSON(tx, store.InstancesPrefix+o.cluster+"/", "", func(_ string, rec *store.InstanceRecord) (bool, error) {
		o.nodes[rec.ID] = c.nodeOf(rec, static)
		return true, nil
	})
}

// nodeOf is what Decide sees of an instance; with static, whether it meets
// those requirements.
func (c *controller) nodeOf(rec *store.InstanceRecord, static *sched.TaskSpec) Node {
	n := Node{
		ID: rec.ID, Status: rec.Status, Connected: rec.AgentConnected,
		AZ: store.AttributeValue(rec.Attributes, "ecs.availability-zone"), EC2InstanceID: rec.Ec2InstanceId,
		Address: rec.Address,
	}
	if rec.Status != model.StatusInactive {
		n.DisconnectedSince = c.reg.downSince(store.InstanceKey(rec.Cluster, rec.ID), rec.AgentConnected)
	}
	if static != nil {
		n.Eligible = meets(rec, static)
	}
	return n
}

// daemonSpec is what decides whether an instance should run the daemon:
// its launch type, required attributes and memberOf constraints, nothing
// about resources (an instance without room still should run it; the
// placement says why it cannot). Nil when there is no definition.
func daemonSpec(svc *store.ServiceRecord, td *store.TaskDefinitionRecord, lt model.LaunchType) *sched.TaskSpec {
	if td == nil {
		return nil
	}
	spec := &sched.TaskSpec{LaunchType: string(lt), Requires: requirements(td), Group: group(svc.ServiceName)}
	cons, err := constraints(td, svc)
	if err != nil {
		return nil
	}
	for _, con := range cons {
		if con.Type == sched.MemberOf {
			spec.Constraints = append(spec.Constraints, con)
		}
	}
	return spec
}

// meets judges the instance as if it were ACTIVE and connected: those are
// Decide's to weigh.
func meets(rec *store.InstanceRecord, spec *sched.TaskSpec) bool {
	n := &sched.Node{
		ID: rec.ID, ARN: rec.ContainerInstanceArn, Status: sched.StatusActive, AgentConnected: true,
		EC2InstanceID: rec.Ec2InstanceId, RegisteredAt: rec.RegisteredAt.Time,
		RunningTasks: int(rec.RunningTasksCount), Attributes: map[string]string{},
	}
	if rec.VersionInfo != nil {
		n.AgentVersion = rec.VersionInfo.AgentVersion
	}
	for _, at := range rec.Attributes {
		n.Attributes[at.Name] = at.Value
	}
	if len(rec.TaskGroups) > 0 {
		n.Groups = map[string]int{}
		for g, k := range rec.TaskGroups {
			n.Groups[g] = int(k)
		}
	}
	reason, _ := sched.Fits(n, spec, 1)
	return reason == ""
}
