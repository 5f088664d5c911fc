package ecs_test

import (
	"net"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
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
