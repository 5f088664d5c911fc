package elbv2_test

import (
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
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
	// Network load balancers have a quota of their own.
	e.lb("nlb", types.LoadBalancerTypeEnumNetwork)

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

// TestUniqueTargetGroupsPerLoadBalancer: an application load balancer's
// listeners and rules forward to at most 100 unique target groups; a group
// several actions use counts once, and the actions a request replaces do
// not count. Over the quota, CreateListener, ModifyListener, CreateRule and
// ModifyRule answer TooManyUniqueTargetGroupsPerLoadBalancer (400) and
// store nothing.
func TestUniqueTargetGroupsPerLoadBalancer(t *testing.T) {
	e := start(t)
	lb := e.alb("web")
	tgs := make([]string, 101)
	for i := range tgs {
		tgs[i] = aws.ToString(e.tg(fmt.Sprintf("tg%d", i), types.ProtocolEnumHttp, types.TargetTypeEnumIp).TargetGroupArn)
	}
	weighted := func(arns ...string) []types.Action {
		fc := &types.ForwardActionConfig{}
		for _, a := range arns {
			fc.TargetGroups = append(fc.TargetGroups, types.TargetGroupTuple{TargetGroupArn: aws.String(a)})
		}
		return []types.Action{{Type: types.ActionTypeEnumForward, ForwardConfig: fc}}
	}
	l := e.listener(aws.ToString(lb.LoadBalancerArn), e.port(), types.ProtocolEnumHttp, forward(tgs[0]))
	var rules []*string
	createRule := func(acts []types.Action) (*string, error) {
		out, err := e.c.CreateRule(e.ctx, &elb.CreateRuleInput{ListenerArn: l.ListenerArn, Priority: aws.Int32(int32(len(rules) + 1)),
			Conditions: pathIs(fmt.Sprintf("/%d", len(rules))), Actions: acts})
		if err != nil {
			return nil, err
		}
		rules = append(rules, out.Rules[0].RuleArn)
		return out.Rules[0].RuleArn, nil
	}
	// tg0 (the default action) and tg1..tg99 in rules of up to five: 100.
	for i := 1; i < 100; i += 5 {
		if _, err := createRule(weighted(tgs[i:min(i+5, 100)]...)); err != nil {
			t.Fatal(err)
		}
	}
	wantQuota := func(err error, what string) {
		t.Helper()
		wantCode(t, err, "TooManyUniqueTargetGroupsPerLoadBalancer",
			"You have reached the maximum number of unique target groups that you can associate with a load balancer of type 'application': [100]")
		var typed *types.TooManyUniqueTargetGroupsPerLoadBalancerException
		var re *awshttp.ResponseError
		if !errorsAs(err, &typed) || !errorsAs(err, &re) || re.HTTPStatusCode() != 400 {
			t.Errorf("%s: %T %v, want the typed exception with status 400", what, err, err)
		}
	}

	_, err := createRule(forward(tgs[100]))
	wantQuota(err, "CreateRule")
	// A group already in use counts once.
	again, err := createRule(forward(tgs[5]))
	if err != nil {
		t.Fatalf("a rule to a group in use: %v", err)
	}
	_, err = e.c.ModifyRule(e.ctx, &elb.ModifyRuleInput{RuleArn: again, Actions: forward(tgs[100])})
	wantQuota(err, "ModifyRule")
	_, err = e.c.ModifyListener(e.ctx, &elb.ModifyListenerInput{ListenerArn: l.ListenerArn, DefaultActions: weighted(tgs[0], tgs[100])})
	wantQuota(err, "ModifyListener")
	_, err = e.c.CreateListener(e.ctx, &elb.CreateListenerInput{LoadBalancerArn: lb.LoadBalancerArn, Port: aws.Int32(e.port()),
		Protocol: types.ProtocolEnumHttp, DefaultActions: forward(tgs[100])})
	wantQuota(err, "CreateListener")

	// Nothing of the refused requests was stored.
	ls, err := e.c.DescribeListeners(e.ctx, &elb.DescribeListenersInput{LoadBalancerArn: lb.LoadBalancerArn})
	if err != nil || len(ls.Listeners) != 1 || aws.ToString(ls.Listeners[0].DefaultActions[0].TargetGroupArn) != tgs[0] {
		t.Fatalf("listeners after refused requests: %v %+v", err, ls)
	}
	rs, err := e.c.DescribeRules(e.ctx, &elb.DescribeRulesInput{RuleArns: []string{aws.ToString(again)}})
	if err != nil || aws.ToString(rs.Rules[0].Actions[0].TargetGroupArn) != tgs[5] {
		t.Fatalf("rule after a refused ModifyRule: %v %+v", err, rs)
	}
	all, err := e.c.DescribeRules(e.ctx, &elb.DescribeRulesInput{ListenerArn: l.ListenerArn})
	if err != nil || len(all.Rules) != len(rules)+1 {
		t.Fatalf("%d rules, want %d and the default: %v", len(all.Rules), len(rules), err)
	}
	tg100, err := e.c.DescribeTargetGroups(e.ctx, &elb.DescribeTargetGroupsInput{TargetGroupArns: []string{tgs[100]}})
	if err != nil || len(tg100.TargetGroups[0].LoadBalancerArns) != 0 {
		t.Fatalf("tg100 in use after refused requests: %v %+v", err, tg100)
	}

	// The groups a rule gives up do not count: tg96..tg99 make room for
	// tg100.
	if _, err := e.c.ModifyRule(e.ctx, &elb.ModifyRuleInput{RuleArn: rules[19], Actions: forward(tgs[100])}); err != nil {
		t.Fatalf("replacing a rule's own groups: %v", err)
	}

	limits, err := e.c.DescribeAccountLimits(e.ctx, &elb.DescribeAccountLimitsInput{})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, lim := range limits.Limits {
		if aws.ToString(lim.Name) == "target-groups-per-application-load-balancer" {
			found = aws.ToString(lim.Max) == "100"
		}
	}
	if !found {
		t.Errorf("DescribeAccountLimits has no target-groups-per-application-load-balancer of 100: %+v", limits.Limits)
	}
}
