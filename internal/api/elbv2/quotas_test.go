package elbv2_test

import (
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// TestQuotas runs into each quota: load balancers (50), listeners per load
// balancer (50), rules per load balancer (100), targets per group (1000).
func TestQuotas(t *testing.T) {
	e := start(t)
	var lb types.LoadBalancer
	for i := range 50 {
		lb = e.alb(fmt.Sprintf("lb%d", i))
	}
	_, err := e.c.CreateLoadBalancer(e.ctx, &elb.CreateLoadBalancerInput{Name: aws.String("one-too-many")})
	wantCode(t, err, "TooManyLoadBalancers")

	fixed := []types.Action{{Type: types.ActionTypeEnumFixedResponse, FixedResponseConfig: &types.FixedResponseActionConfig{StatusCode: aws.String("200")}}}
	var l types.Listener
	for range 50 {
		l = e.listener(aws.ToString(lb.LoadBalancerArn), e.port(), types.ProtocolEnumHttp, fixed)
	}
	_, err = e.c.CreateListener(e.ctx, &elb.CreateListenerInput{LoadBalancerArn: lb.LoadBalancerArn, Port: aws.Int32(e.port()),
		Protocol: types.ProtocolEnumHttp, DefaultActions: fixed})
	wantCode(t, err, "TooManyListeners")

	for i := range 100 {
		if _, err := e.c.CreateRule(e.ctx, &elb.CreateRuleInput{ListenerArn: l.ListenerArn, Priority: aws.Int32(int32(i + 1)),
			Conditions: pathIs(fmt.Sprintf("/%d", i)), Actions: fixed}); err != nil {
			t.Fatal(err)
		}
	}
	_, err = e.c.CreateRule(e.ctx, &elb.CreateRuleInput{ListenerArn: l.ListenerArn, Priority: aws.Int32(101), Conditions: pathIs("/x"), Actions: fixed})
	wantCode(t, err, "TooManyRules")

	tg := e.tg("many", types.ProtocolEnumHttp, types.TargetTypeEnumIp)
	var ts []types.TargetDescription
	for i := range 1001 {
		ts = append(ts, target(fmt.Sprintf("10.0.%d.%d", i/250, i%250+1), 0))
	}
	_, err = e.c.RegisterTargets(e.ctx, &elb.RegisterTargetsInput{TargetGroupArn: tg.TargetGroupArn, Targets: ts})
	wantCode(t, err, "TooManyTargets")
	if _, err := e.c.RegisterTargets(e.ctx, &elb.RegisterTargetsInput{TargetGroupArn: tg.TargetGroupArn, Targets: ts[:1000]}); err != nil {
		t.Fatal(err)
	}
	if n := len(e.health(aws.ToString(tg.TargetGroupArn))); n != 1000 {
		t.Errorf("%d targets", n)
	}
}
