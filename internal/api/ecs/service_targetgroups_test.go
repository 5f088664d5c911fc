package ecs_test

import (
	"net"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/quayside/quayside/internal/arn"
	"github.com/quayside/quayside/internal/model"
	"github.com/quayside/quayside/internal/store"
)

// CreateService and UpdateService check the target groups the ELBv2 API
// holds: used by a load balancer, and of the target type the network mode
// needs.
func TestServiceTargetGroupChecks(t *testing.T) {
	e := svcSetup(t)
	c := elb.NewFromConfig(e.AWS)
	lbOut, err := c.CreateLoadBalancer(e.ctx, &elb.CreateLoadBalancerInput{Name: aws.String("lb"), Type: elbtypes.LoadBalancerTypeEnumApplication})
	if err != nil {
		t.Fatal(err)
	}
	group := func(name string, typ elbtypes.TargetTypeEnum) string {
		out, err := c.CreateTargetGroup(e.ctx, &elb.CreateTargetGroupInput{Name: aws.String(name), Protocol: elbtypes.ProtocolEnumHttp,
			Port: aws.Int32(80), TargetType: typ, VpcId: aws.String("vpc-1")})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.TargetGroups[0].TargetGroupArn)
	}
	inst, ip, unused := group("inst", elbtypes.TargetTypeEnumInstance), group("ip", elbtypes.TargetTypeEnumIp), group("unused", elbtypes.TargetTypeEnumInstance)
	l, err := c.CreateListener(e.ctx, &elb.CreateListenerInput{LoadBalancerArn: lbOut.LoadBalancers[0].LoadBalancerArn, Protocol: elbtypes.ProtocolEnumHttp,
		Port: aws.Int32(freeLBPortFor(t)), DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: aws.String(inst)}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateRule(e.ctx, &elb.CreateRuleInput{ListenerArn: l.Listeners[0].ListenerArn, Priority: aws.Int32(1),
		Conditions: []elbtypes.RuleCondition{{Field: aws.String("path-pattern"), Values: []string{"/ip/*"}}},
		Actions:    []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: aws.String(ip)}}}); err != nil {
		t.Fatal(err)
	}
	behind := func(tg string) []types.LoadBalancer {
		return []types.LoadBalancer{{TargetGroupArn: aws.String(tg), ContainerName: aws.String("web"), ContainerPort: aws.Int32(80)}}
	}
	vpc := func(in *ecs.CreateServiceInput) {
		in.TaskDefinition = aws.String(e.vpc)
		in.NetworkConfiguration = &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{Subnets: []string{"s"}}}
	}
	const inv = "InvalidParameterException"
	cases := []struct {
		name, msg string
		mod       func(*ecs.CreateServiceInput)
	}{
		{"no load balancer uses the group", "The target group with targetGroupArn " + unused + " does not have an associated load balancer.",
			func(in *ecs.CreateServiceInput) { in.LoadBalancers = behind(unused) }},
		{"ip group, bridge mode", "The provided target group " + ip + " has target type ip, which is incompatible with the bridge network mode specified in the task definition.",
			func(in *ecs.CreateServiceInput) { in.LoadBalancers = behind(ip) }},
		{"instance group, awsvpc mode", "The provided target group " + inst + " has target type instance, which is incompatible with the awsvpc network mode specified in the task definition.",
			func(in *ecs.CreateServiceInput) { vpc(in); in.LoadBalancers = behind(inst) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.create(t, "bad", 1, tc.mod)
			svcWantErr(t, err, inv, tc.msg)
		})
	}
	e.mustCreate(t, "bridge", 1, func(in *ecs.CreateServiceInput) { in.LoadBalancers = behind(inst) })
	e.mustCreate(t, "awsvpc", 1, func(in *ecs.CreateServiceInput) { vpc(in); in.LoadBalancers = behind(ip) })
	_, err = e.ECS.UpdateService(e.ctx, &ecs.UpdateServiceInput{Cluster: aws.String("c1"), Service: aws.String("bridge"), LoadBalancers: behind(ip)})
	svcWantErr(t, err, inv, "The provided target group "+ip+" has target type ip, which is incompatible with the bridge network mode specified in the task definition.")
}

// freeLBPortFor is a free port for a listener (the data plane listens on
// 127.0.0.1).
func freeLBPortFor(t *testing.T) int32 {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return int32(ln.Addr().(*net.TCPAddr).Port)
}

// A task whose targets the service scheduler is draining before it stops
// the task shows as ECS shows it: DEACTIVATING, desired STOPPED.
func TestDeactivatingTaskView(t *testing.T) {
	e := svcSetup(t)
	scope := arn.Scope{Partition: "aws", Region: "us-east-1", Account: "000000000000"}
	rec := &store.TaskRecord{Cluster: "c1", ID: "0123456789abcdef0123456789abcdef", ServiceName: "web", Task: model.Task{
		TaskArn: scope.Task("c1", "0123456789abcdef0123456789abcdef"), ClusterArn: scope.Cluster("c1"), TaskDefinitionArn: e.web1,
		LastStatus: model.StatusRunning, DesiredStatus: model.StatusRunning, LaunchType: model.LaunchTypeEc2,
	}, LB: &store.TaskLB{DeregisteredAt: model.At(time.Now()), StopAt: model.At(time.Now().Add(time.Minute)),
		StopKind: store.ServiceStopScaleIn, StopReason: "Scaling activity initiated by (deployment ecs-svc/1)"}}
	if _, err := e.Server.Store().Update(e.ctx, func(tx store.Tx) error { return store.SaveTask(tx, rec) }); err != nil {
		t.Fatal(err)
	}
	out, err := e.ECS.DescribeTasks(e.ctx, &ecs.DescribeTasksInput{Cluster: aws.String("c1"), Tasks: []string{rec.TaskArn}})
	if err != nil || len(out.Tasks) != 1 {
		t.Fatalf("%v %+v", err, out)
	}
	tk := out.Tasks[0]
	if aws.ToString(tk.LastStatus) != "DEACTIVATING" || aws.ToString(tk.DesiredStatus) != "STOPPED" ||
		tk.StopCode != types.TaskStopCodeServiceSchedulerInitiated || aws.ToString(tk.StoppedReason) != rec.LB.StopReason {
		t.Errorf("task: %s/%s %s %q", aws.ToString(tk.LastStatus), aws.ToString(tk.DesiredStatus), tk.StopCode, aws.ToString(tk.StoppedReason))
	}
	for desired, n := range map[types.DesiredStatus]int{types.DesiredStatusStopped: 1, types.DesiredStatusRunning: 0} {
		l, err := e.ECS.ListTasks(e.ctx, &ecs.ListTasksInput{Cluster: aws.String("c1"), DesiredStatus: desired})
		if err != nil || len(l.TaskArns) != n {
			t.Errorf("ListTasks %s: %v %v, want %d", desired, err, l.TaskArns, n)
		}
	}
}
