package service

import (
	"slices"
	"strings"

	"github.com/quayside/quayside/internal/model"
	"github.com/quayside/quayside/internal/store"
)

// targetsSeen is what observe reads of the target groups of a service
// with loadBalancers: the groups, which of them a listener uses, and
// their registered targets.
type targetsSeen struct {
	groups  map[string]*store.TargetGroupRecord // by ARN; nil: no such group
	used    map[string][]string                 // store.TargetGroupUsers
	targets map[targetRef]*store.TargetRecord
}

// targetRef names a registered target.
type targetRef struct {
	group, id string // group ID, target ID
	port      int32
}

// taskLBMark is the part of a task record that load balancing reads.
type taskLBMark struct {
	Containers  []containerLBMark  `json:"containers"`
	Attachments []model.Attachment `json:"attachments"`
	LB          *store.TaskLB      `json:"qLB"`
}

type containerLBMark struct {
	Name              string                   `json:"name"`
	NetworkBindings   []model.NetworkBinding   `json:"networkBindings"`
	NetworkInterfaces []model.NetworkInterface `json:"networkInterfaces"`
}

// groupID is the ID of a target group ARN (its last path element).
func groupID(tgArn string) string {
	return tgArn[strings.LastIndexByte(tgArn, '/')+1:]
}

// readTargets reads the target groups of the service's loadBalancers and
// of the targets registered for its tasks, and their targets.
func readTargets(tx store.ReadTx, svc *store.ServiceRecord, marks map[string]*taskLBMark) (*targetsSeen, error) {
	seen := &targetsSeen{groups: map[string]*store.TargetGroupRecord{}, targets: map[targetRef]*store.TargetRecord{}}
	var arns []string
	for _, lb := range svc.LoadBalancers {
		arns = append(arns, lb.TargetGroupArn)
	}
	for _, m := range marks {
		if m.LB != nil {
			for _, tt := range m.LB.Targets {
				arns = append(arns, tt.TargetGroupArn)
			}
		}
	}
	for _, tgArn := range arns {
		if _, done := seen.groups[tgArn]; done || tgArn == "" {
			continue
		}
		tg := new(store.TargetGroupRecord)
		id := groupID(tgArn)
		_, ok, err := store.GetJSON(tx, store.TargetGroupKey(id), tg)
		if err != nil {
			return nil, err
		}
		if !ok || tg.Arn != tgArn {
			seen.groups[tgArn] = nil
			continue
		}
		seen.groups[tgArn] = tg
		err = store.ScanJSON(tx, store.TargetsOfKey(id), "", func(_ string, rec *store.TargetRecord) (bool, error) {
			seen.targets[targetRef{rec.TargetGroupID, rec.ID, rec.Port}] = rec
			return true, nil
		})
		if err != nil {
			return nil, err
		}
	}
	var err error
	seen.used, err = store.TargetGroupUsers(tx)
	return seen, err
}

// wantedTargets works out the targets of a running task for the
// service's loadBalancers: for an instance target group, the EC2 instance
// ID of its container instance and the host port bound to the container
// port; for an ip target group, the task's private IP and the container
// port. missing says that some could not be worked out (no such group or
// container, no binding or address reported yet).
func wantedTargets(lbs []model.LoadBalancer, groups map[string]*store.TargetGroupRecord, m *taskLBMark, ec2ID string) (out []store.TaskTarget, missing bool) {
	for _, lb := range lbs {
		if lb.TargetGroupArn == "" {
			continue
		}
		tg := groups[lb.TargetGroupArn]
		ci := slices.IndexFunc(m.Containers, func(c containerLBMark) bool { return c.Name == lb.ContainerName })
		if tg == nil || ci < 0 || lb.ContainerPort == nil {
			missing = true
			continue
		}
		c := &m.Containers[ci]
		want := *lb.ContainerPort
		tt := store.TaskTarget{TargetGroupArn: tg.Arn, TargetGroupID: tg.ID}
		if tg.TargetType == store.TargetTypeIP {
			tt.ID, tt.Port = taskIP(c.NetworkInterfaces, m.Attachments), want
		} else {
			tt.ID, tt.Port = ec2ID, hostPort(c.NetworkBindings, want)
		}
		if tt.ID == "" || tt.Port == 0 {
			missing = true
			continue
		}
		if !slices.Contains(out, tt) {
			out = append(out, tt)
		}
	}
	return out, missing
}

// hostPort is the TCP host port bound to a container port (0: none).
func hostPort(bs []model.NetworkBinding, containerPort int32) int32 {
	for _, b := range bs {
		if b.ContainerPort != nil && *b.ContainerPort == containerPort && b.HostPort != nil && *b.HostPort > 0 &&
			(b.Protocol == "" || b.Protocol == model.TransportProtocolTcp) {
			return *b.HostPort
		}
	}
	return 0
}

// taskIP is an awsvpc task's private IPv4 address: its container's
// network interface, else its ENI attachment's privateIPv4Address.
func taskIP(nis []model.NetworkInterface, atts []model.Attachment) string {
	for _, ni := range nis {
		if ni.PrivateIpv4Address != "" {
			return ni.PrivateIpv4Address
		}
	}
	for _, a := range atts {
		for _, d := range a.Details {
			if d.Name == "privateIPv4Address" && d.Value != "" {
				return d.Value
			}
		}
	}
	return ""
}

// fillTargets sets the load balancing fields of a task from its record's
// mark, the instance it runs on and the target groups: the targets
// registered for it and, while it runs and is meant to, those it should
// have, each with its health.
func (s *targetsSeen) fillTargets(t *Task, m *taskLBMark, lbs []model.LoadBalancer, ec2ID string) {
	var regs []store.TaskTarget
	if lb := m.LB; lb != nil {
		regs = lb.Targets
		t.Deregistered = !lb.DeregisteredAt.IsZero()
		if !lb.StopAt.IsZero() {
			t.Drain = &Drain{Kind: lb.StopKind, Reason: lb.StopReason, Until: lb.StopAt.Time}
		}
	}
	t.Targets = nil
	for _, r := range regs {
		t.Targets = append(t.Targets, s.target(r, true))
	}
	if t.LastStatus != model.StatusRunning || t.DesiredStatus == model.StatusStopped || t.Deregistered || t.Drain != nil {
		return
	}
	want, missing := wantedTargets(lbs, s.groups, m, ec2ID)
	t.TargetsMissing = missing
	for _, w := range want {
		if !slices.Contains(regs, w) {
			t.Targets = append(t.Targets, s.target(w, false))
		}
	}
}

// target is a task's target with its health as its group shows it.
func (s *targetsSeen) target(r store.TaskTarget, registered bool) Target {
	g := Target{Group: r.TargetGroupArn, GroupID: r.TargetGroupID, ID: r.ID, Port: r.Port, Registered: registered}
	rec := s.targets[targetRef{r.TargetGroupID, r.ID, r.Port}]
	if rec == nil {
		return g
	}
	g.State, g.Description, g.DrainUntil = rec.State, rec.Description, rec.DrainUntil.Time
	if len(s.used[r.TargetGroupID]) == 0 && rec.State != store.TargetDraining {
		g.State, g.Description = TargetUnused, ""
	}
	return g
}
