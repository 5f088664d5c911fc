package ecs

import (
	"context"
	"errors"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/quayside/quayside/internal/arn"
	"github.com/quayside/quayside/internal/errs"
	"github.com/quayside/quayside/internal/model"
	"github.com/quayside/quayside/internal/store"
	"github.com/quayside/quayside/internal/store/bolt"
)

// svcTestAPI is the API over a bolt store holding an ACTIVE cluster "c1"
// and task definition "web:1".
func svcTestAPI(t *testing.T) (*API, store.Store) {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "state.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	scope := arn.Scope{Partition: "aws", Region: "us-east-1", Account: "000000000000"}
	_, err = st.Update(t.Context(), func(tx store.Tx) error {
		c := &model.Cluster{ClusterName: "c1", ClusterArn: scope.Cluster("c1"), Status: model.StatusActive}
		if err := store.PutJSON(tx, store.ClusterKey("c1"), c); err != nil {
			return err
		}
		td := &store.TaskDefinitionRecord{TaskDefinition: model.TaskDefinition{
			Family: "web", Revision: 1, Status: model.TaskDefinitionStatusActive,
			TaskDefinitionArn: scope.TaskDefinition("web", 1), Compatibilities: []model.Compatibility{model.CompatibilityEc2},
			ContainerDefinitions: []model.ContainerDefinition{{Name: "web"}},
		}}
		return store.PutJSON(tx, store.TaskDefKey("web", 1), td)
	})
	if err != nil {
		t.Fatal(err)
	}
	return New(Deps{Store: st, Scope: scope}), st
}

func saveServiceTask(t *testing.T, st store.Store, id, status string) {
	t.Helper()
	_, err := st.Update(t.Context(), func(tx store.Tx) error {
		task := &store.TaskRecord{Cluster: "c1", ID: id}
		task.LastStatus, task.DesiredStatus, task.Group = status, model.StatusRunning, "service:app"
		return store.SaveTask(tx, task)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func storedServiceStatus(t *testing.T, st store.Store) string {
	t.Helper()
	var rec store.ServiceRecord
	err := st.View(t.Context(), func(tx store.ReadTx) error {
		_, _, err := store.GetJSON(tx, store.ServiceKey("c1", "app"), &rec)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return rec.Status
}

// A deleted service stays DRAINING, and blocks its name, until the service
// controller has stopped its tasks and made it INACTIVE; the API never
// takes that step itself. Then the name is free.
func TestDrainingServiceBlocksItsName(t *testing.T) {
	a, st := svcTestAPI(t)
	ctx := context.Background()
	create := &model.CreateServiceRequest{Cluster: "c1", ServiceName: "app", TaskDefinition: "web", DesiredCount: new(int32(1))}
	if _, err := a.createService(ctx, create); err != nil {
		t.Fatal(err)
	}
	saveServiceTask(t, st, "t1", model.StatusStopped)
	del, err := a.deleteService(ctx, &model.DeleteServiceRequest{Cluster: "c1", Service: "app", Force: new(true)})
	if err != nil || del.Service.Status != model.StatusDraining || del.Service.DesiredCount != 0 {
		t.Fatalf("delete: %v %+v", err, del)
	}
	out, err := a.describeServices(ctx, &model.DescribeServicesRequest{Cluster: "c1", Services: []string{"app"}})
	if err != nil || len(out.Services) != 1 || out.Services[0].Status != model.StatusDraining || storedServiceStatus(t, st) != model.StatusDraining {
		t.Fatalf("describe: %v %+v", err, out)
	}
	_, err = a.createService(ctx, create)
	if e := (*errs.Error)(nil); !errors.As(err, &e) || e.Code != errs.InvalidParameter || e.Message != "Unable to Start a service that is still Draining." {
		t.Fatalf("create over a draining service: %v", err)
	}
	_, err = a.updateService(ctx, &model.UpdateServiceRequest{Cluster: "c1", Service: "app", DesiredCount: new(int32(2))})
	if errs.CodeOf(err) != errs.ServiceNotActive {
		t.Fatalf("update of a draining service: %v", err)
	}
	// What the service controller does once the tasks have stopped.
	_, err = st.Update(ctx, func(tx store.Tx) error {
		var rec store.ServiceRecord
		if _, _, err := store.GetJSON(tx, store.ServiceKey("c1", "app"), &rec); err != nil {
			return err
		}
		rec.Status = model.StatusInactive
		return store.PutJSON(tx, store.ServiceKey("c1", "app"), &rec)
	})
	if err != nil {
		t.Fatal(err)
	}
	if out, err := a.createService(ctx, create); err != nil || out.Service.Status != model.StatusActive {
		t.Fatalf("recreate: %v", err)
	}
}

func TestPlacementRules(t *testing.T) {
	strategies := []struct {
		typ   model.PlacementStrategyType
		field string
		ok    bool
	}{
		{"binpack", "cpu", true}, {"binpack", "MEMORY", true}, {"binpack", "", false}, {"binpack", "host", false},
		{"spread", "instanceId", true}, {"spread", "host", true}, {"spread", "attribute:ecs.availability-zone", true},
		{"spread", "attribute:", false}, {"spread", "cpu", false},
		{"random", "", true}, {"random", "cpu", false}, {"pack", "cpu", false},
	}
	for _, c := range strategies {
		err := checkStrategies([]model.PlacementStrategy{{Type: c.typ, Field: c.field}})
		if (err == nil) != c.ok {
			t.Errorf("strategy %s/%s: %v, want ok=%v", c.typ, c.field, err, c.ok)
		}
	}
	constraints := []struct {
		c  model.PlacementConstraint
		ok bool
	}{
		{model.PlacementConstraint{Type: "distinctInstance"}, true},
		{model.PlacementConstraint{Type: "distinctInstance", Expression: "x"}, false},
		{model.PlacementConstraint{Type: "memberOf", Expression: "attribute:a == b"}, true},
		{model.PlacementConstraint{Type: "memberOf"}, false},
		{model.PlacementConstraint{Type: "other", Expression: "x"}, false},
		{model.PlacementConstraint{Type: "memberOf", Expression: "attribute:a =="}, false}, // malformed
	}
	for _, c := range constraints {
		if _, _, err := parseConstraints([]model.PlacementConstraint{c.c}, 0); (err == nil) != c.ok {
			t.Errorf("constraint %+v: %v, want ok=%v", c.c, err, c.ok)
		}
	}
	six := make([]model.PlacementStrategy, 6)
	for i := range six {
		six[i] = model.PlacementStrategy{Type: "random"}
	}
	if err := checkStrategies(six); err == nil {
		t.Error("six strategies were accepted")
	}
	distinct := []model.PlacementConstraint{{Type: "distinctInstance"}}
	if _, _, err := parseConstraints(distinct, 9); err != nil {
		t.Errorf("ten constraints with the definition's: %v", err)
	}
	if _, _, err := parseConstraints(distinct, 10); err == nil {
		t.Error("eleven constraints with the definition's were accepted")
	}
}

func TestServiceRequestRules(t *testing.T) {
	one, neg := new(int32(1)), new(int32(-1))
	desired := []struct {
		s        model.SchedulingStrategy
		n        *int32
		required bool
		ok       bool
	}{
		{"REPLICA", one, true, true}, {"REPLICA", nil, true, false}, {"REPLICA", nil, false, true},
		{"REPLICA", neg, false, false}, {"DAEMON", nil, true, true}, {"DAEMON", one, false, false},
	}
	for _, c := range desired {
		if err := checkServiceDesiredCount(c.s, c.n, c.required); (err == nil) != c.ok {
			t.Errorf("desiredCount %s %v required=%v: %v, want ok=%v", c.s, c.n, c.required, err, c.ok)
		}
	}
	tokens := map[string]bool{"": true, "abc-123": true, "123456789012345678901234567890123456": true,
		"1234567890123456789012345678901234567": false, "has space": false, "é": false}
	for tok, ok := range tokens {
		if err := checkServiceClientToken(tok); (err == nil) != ok {
			t.Errorf("clientToken %q: %v, want ok=%v", tok, err, ok)
		}
	}
}

func TestServiceSpecRules(t *testing.T) {
	port := int32(80)
	td := &store.TaskDefinitionRecord{TaskDefinition: model.TaskDefinition{
		Compatibilities:      []model.Compatibility{"EC2"},
		ContainerDefinitions: []model.ContainerDefinition{{Name: "web", PortMappings: []model.PortMapping{{ContainerPort: &port}}}},
	}}
	vpc := &model.NetworkConfiguration{AwsvpcConfiguration: &model.AwsVpcConfiguration{Subnets: []string{"s"}}}
	lb := []model.LoadBalancer{{TargetGroupArn: "tg", ContainerName: "web", ContainerPort: &port}}
	base := func() serviceSpec {
		return serviceSpec{scheduling: "REPLICA", controller: "ECS", launchType: "EC2", td: td,
			deployment: withServiceDeploymentDefaults(nil, "REPLICA")}
	}
	cases := []struct {
		name string
		mod  func(*serviceSpec)
		ok   bool
	}{
		{"defaults", func(*serviceSpec) {}, true},
		{"load balancer", func(s *serviceSpec) { s.loadBalancers = lb }, true},
		{"role with load balancer", func(s *serviceSpec) { s.loadBalancers, s.role = lb, "r" }, true},
		{"role with awsvpc", func(s *serviceSpec) {
			awsvpc := *td
			awsvpc.NetworkMode = model.NetworkModeAwsvpc
			s.td, s.network, s.loadBalancers, s.role = &awsvpc, vpc, lb, "r"
		}, false},
		{"six load balancers", func(s *serviceSpec) { s.loadBalancers = append(lb, lb[0], lb[0], lb[0], lb[0], lb[0]) }, false},
		{"two registries", func(s *serviceSpec) { s.registries = []model.ServiceRegistry{{RegistryArn: "a"}, {RegistryArn: "b"}} }, false},
		{"six strategies", func(s *serviceSpec) { s.strategy = make([]model.PlacementStrategy, 6) }, false},
		{"daemon on fargate", func(s *serviceSpec) { s.scheduling, s.launchType = "DAEMON", "FARGATE" }, false},
		{"daemon with external controller", func(s *serviceSpec) { s.scheduling, s.controller = "DAEMON", "EXTERNAL" }, false},
		{"fargate capacity on EC2 definition", func(s *serviceSpec) {
			s.launchType, s.capacity = "", []model.CapacityProviderStrategyItem{{CapacityProvider: "FARGATE_SPOT"}}
		}, false},
		{"public IP on EC2", func(s *serviceSpec) {
			awsvpc := *td
			awsvpc.NetworkMode = model.NetworkModeAwsvpc
			s.td = &awsvpc
			s.network = &model.NetworkConfiguration{AwsvpcConfiguration: &model.AwsVpcConfiguration{Subnets: []string{"s"}, AssignPublicIp: "ENABLED"}}
		}, false},
		{"min above max", func(s *serviceSpec) {
			s.deployment = withServiceDeploymentDefaults(&model.DeploymentConfiguration{MaximumPercent: new(int32(50))}, "REPLICA")
		}, false},
	}
	for _, c := range cases {
		s := base()
		c.mod(&s)
		if err := s.validate(); (err == nil) != c.ok {
			t.Errorf("%s: %v, want ok=%v", c.name, err, c.ok)
		}
	}
}

func TestServiceDeploymentHelpers(t *testing.T) {
	re := regexp.MustCompile(`^ecs-svc/[1-9][0-9]{18}$`)
	for range 1000 {
		if id := newDeploymentID(); !re.MatchString(id) {
			t.Fatalf("deployment id %q", id)
		}
	}
	d := withServiceDeploymentDefaults(&model.DeploymentConfiguration{MinimumHealthyPercent: new(int32(50))}, "DAEMON")
	if *d.MinimumHealthyPercent != 50 || *d.MaximumPercent != 100 || d.DeploymentCircuitBreaker == nil {
		t.Errorf("daemon defaults: %+v", d)
	}
	if r := serviceRoleARN("aws", "1", "/path/role"); r != "arn:aws:iam::1:role/path/role" {
		t.Errorf("role ARN %q", r)
	}
	if !sameServiceJSON([]model.LoadBalancer{}, nil) || sameServiceJSON([]string{"a"}, []string{"b"}) {
		t.Error("sameServiceJSON")
	}
}
