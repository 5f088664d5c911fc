package elbv2_test

import (
	"regexp"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

var ruleArnRE = regexp.MustCompile(`^arn:aws:elasticloadbalancing:us-east-1:000000000000:listener-rule/app/web/[0-9a-f]{16}/[0-9a-f]{16}/[0-9a-f]{16}$`)

func pathIs(p ...string) []types.RuleCondition {
	return []types.RuleCondition{{Field: aws.String("path-pattern"), PathPatternConfig: &types.PathPatternConditionConfig{Values: p}}}
}

func TestRules(t *testing.T) {
	e := start(t)
	lb := e.alb("web")
	api := e.tg("api", types.ProtocolEnumHttp, types.TargetTypeEnumIp)
	web := e.tg("site", types.ProtocolEnumHttp, types.TargetTypeEnumIp)
	l := e.listener(aws.ToString(lb.LoadBalancerArn), e.port(), types.ProtocolEnumHttp, forward(aws.ToString(web.TargetGroupArn)))
	la := l.ListenerArn
	create := func(prio int32, conds []types.RuleCondition, acts []types.Action) (types.Rule, error) {
		out, err := e.c.CreateRule(e.ctx, &elb.CreateRuleInput{ListenerArn: la, Priority: aws.Int32(prio), Conditions: conds, Actions: acts})
		if err != nil {
			return types.Rule{}, err
		}
		return out.Rules[0], nil
	}
	r1, err := create(10, pathIs("/api/*"), forward(aws.ToString(api.TargetGroupArn)))
	if err != nil {
		t.Fatal(err)
	}
	if !ruleArnRE.MatchString(aws.ToString(r1.RuleArn)) || aws.ToString(r1.Priority) != "10" || aws.ToBool(r1.IsDefault) ||
		len(r1.Conditions) != 1 || aws.ToString(r1.Conditions[0].Field) != "path-pattern" || r1.Conditions[0].Values[0] != "/api/*" ||
		r1.Conditions[0].PathPatternConfig.Values[0] != "/api/*" {
		t.Fatalf("rule %+v", r1)
	}
	// Every condition type, a legacy Values form, and the other actions.
	r2, err := create(20, []types.RuleCondition{
		{Field: aws.String("host-header"), Values: []string{"*.example.com"}},
		{Field: aws.String("http-header"), HttpHeaderConfig: &types.HttpHeaderConditionConfig{HttpHeaderName: aws.String("X-Env"), Values: []string{"blue"}}},
		{Field: aws.String("http-request-method"), HttpRequestMethodConfig: &types.HttpRequestMethodConditionConfig{Values: []string{"GET"}}},
		{Field: aws.String("query-string"), QueryStringConfig: &types.QueryStringConditionConfig{Values: []types.QueryStringKeyValuePair{{Key: aws.String("v"), Value: aws.String("2")}}}},
	}, []types.Action{{Type: types.ActionTypeEnumFixedResponse, FixedResponseConfig: &types.FixedResponseActionConfig{
		StatusCode: aws.String("503"), ContentType: aws.String("text/plain"), MessageBody: aws.String("down")}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(r2.Conditions) != 4 || r2.Conditions[0].HostHeaderConfig.Values[0] != "*.example.com" ||
		aws.ToString(r2.Conditions[1].HttpHeaderConfig.HttpHeaderName) != "X-Env" || r2.Conditions[2].HttpRequestMethodConfig.Values[0] != "GET" ||
		aws.ToString(r2.Conditions[3].QueryStringConfig.Values[0].Value) != "2" ||
		aws.ToString(r2.Actions[0].FixedResponseConfig.MessageBody) != "down" {
		t.Errorf("rule 2 %+v", r2)
	}
	r3, err := create(30, pathIs("/old/*"), []types.Action{{Type: types.ActionTypeEnumRedirect, RedirectConfig: &types.RedirectActionConfig{
		Path: aws.String("/new/#{path}"), StatusCode: types.RedirectActionStatusCodeEnumHttp301}}})
	if err != nil {
		t.Fatal(err)
	}
	if rc := r3.Actions[0].RedirectConfig; aws.ToString(rc.Path) != "/new/#{path}" || aws.ToString(rc.Host) != "#{host}" ||
		aws.ToString(rc.Protocol) != "#{protocol}" || aws.ToString(rc.Query) != "#{query}" || rc.StatusCode != types.RedirectActionStatusCodeEnumHttp301 {
		t.Errorf("redirect %+v", rc)
	}

	_, err = create(10, pathIs("/x"), forward(aws.ToString(api.TargetGroupArn)))
	wantCode(t, err, "PriorityInUse", "Priority '10' is currently in use")
	var piu *types.PriorityInUseException
	if !errorsAs(err, &piu) {
		t.Errorf("not typed: %T", err)
	}
	for _, c := range []struct {
		conds []types.RuleCondition
		msg   string
	}{
		{[]types.RuleCondition{}, "at least one condition"},
		{[]types.RuleCondition{{Field: aws.String("cookie"), Values: []string{"a"}}}, "Condition field 'cookie' must be one of"},
		{append(pathIs("/a"), pathIs("/b")...), "A rule can only have one 'path-pattern' condition"},
		{pathIs("/1", "/2", "/3", "/4"), "A 'path-pattern' condition can only have '3' values"},
		{append(pathIs("/1", "/2", "/3"), types.RuleCondition{Field: aws.String("http-request-method"),
			HttpRequestMethodConfig: &types.HttpRequestMethodConditionConfig{Values: []string{"GET", "PUT", "POST"}}}), "A rule can only have '5' condition values"},
		{[]types.RuleCondition{{Field: aws.String("http-header"), HttpHeaderConfig: &types.HttpHeaderConditionConfig{
			HttpHeaderName: aws.String("host"), Values: []string{"a.example.com"}}}}, "cannot match the 'Host' header"},
		{[]types.RuleCondition{{Field: aws.String("host-header"), Values: []string{"localhost"}}}, "at least one '.'"},
		{[]types.RuleCondition{{Field: aws.String("host-header"), HostHeaderConfig: &types.HostHeaderConditionConfig{Values: []string{"10.0.0.1"}}}}, "alphabetical characters after the final '.'"},
		{pathIs("/a b"), "path pattern '/a b' is not valid"},
		{[]types.RuleCondition{{Field: aws.String("http-request-method"), HttpRequestMethodConfig: &types.HttpRequestMethodConditionConfig{Values: []string{"get"}}}}, "method 'get'"},
		{[]types.RuleCondition{{Field: aws.String("path-pattern"), Values: []string{"/a"}, PathPatternConfig: &types.PathPatternConditionConfig{Values: []string{"/b"}}}}, "both 'Values'"},
		{[]types.RuleCondition{{Field: aws.String("path-pattern"), HostHeaderConfig: &types.HostHeaderConditionConfig{Values: []string{"a"}}}}, "does not match its field"},
		{[]types.RuleCondition{{Field: aws.String("source-ip"), SourceIpConfig: &types.SourceIpConditionConfig{Values: []string{"10.0.0.0"}}}}, "CIDR"},
	} {
		_, err := create(99, c.conds, forward(aws.ToString(api.TargetGroupArn)))
		wantCode(t, err, "ValidationError", c.msg)
	}
	_, err = e.c.CreateRule(e.ctx, &elb.CreateRuleInput{ListenerArn: aws.String(aws.ToString(la) + "0"), Priority: aws.Int32(1),
		Conditions: pathIs("/"), Actions: forward(aws.ToString(api.TargetGroupArn))})
	wantCode(t, err, "ListenerNotFound")

	// DescribeRules: by priority, the default rule last.
	d, err := e.c.DescribeRules(e.ctx, &elb.DescribeRulesInput{ListenerArn: la})
	if err != nil {
		t.Fatal(err)
	}
	var prios []string
	for _, r := range d.Rules {
		prios = append(prios, aws.ToString(r.Priority))
	}
	if len(prios) != 4 || prios[0] != "10" || prios[3] != "default" || !aws.ToBool(d.Rules[3].IsDefault) ||
		aws.ToString(d.Rules[3].Actions[0].TargetGroupArn) != aws.ToString(web.TargetGroupArn) {
		t.Fatalf("rules %v %+v", prios, d.Rules)
	}
	def := d.Rules[3].RuleArn
	byArn, err := e.c.DescribeRules(e.ctx, &elb.DescribeRulesInput{RuleArns: []string{aws.ToString(r2.RuleArn), aws.ToString(def)}})
	if err != nil || len(byArn.Rules) != 2 || !aws.ToBool(byArn.Rules[1].IsDefault) {
		t.Fatalf("by arn %v %+v", err, byArn)
	}
	_, err = e.c.DescribeRules(e.ctx, &elb.DescribeRulesInput{RuleArns: []string{aws.ToString(r1.RuleArn) + "0"}})
	wantCode(t, err, "RuleNotFound", "One or more rules not found")
	_, err = e.c.DescribeRules(e.ctx, &elb.DescribeRulesInput{})
	wantCode(t, err, "ValidationError")

	// ModifyRule replaces what it is given.
	m, err := e.c.ModifyRule(e.ctx, &elb.ModifyRuleInput{RuleArn: r1.RuleArn, Conditions: pathIs("/v2/*", "/v3/*")})
	if err != nil {
		t.Fatal(err)
	}
	if mr := m.Rules[0]; len(mr.Conditions[0].Values) != 2 || aws.ToString(mr.Actions[0].TargetGroupArn) != aws.ToString(api.TargetGroupArn) || aws.ToString(mr.Priority) != "10" {
		t.Errorf("modified %+v", mr)
	}
	_, err = e.c.ModifyRule(e.ctx, &elb.ModifyRuleInput{RuleArn: def, Conditions: pathIs("/")})
	wantCode(t, err, "OperationNotPermitted")

	// SetRulePriorities swaps two priorities at once; a clash is refused.
	sp, err := e.c.SetRulePriorities(e.ctx, &elb.SetRulePrioritiesInput{RulePriorities: []types.RulePriorityPair{
		{RuleArn: r1.RuleArn, Priority: aws.Int32(20)}, {RuleArn: r2.RuleArn, Priority: aws.Int32(10)}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(sp.Rules) != 2 || aws.ToString(sp.Rules[0].Priority) != "20" || aws.ToString(sp.Rules[1].Priority) != "10" {
		t.Errorf("set priorities %+v", sp.Rules)
	}
	_, err = e.c.SetRulePriorities(e.ctx, &elb.SetRulePrioritiesInput{RulePriorities: []types.RulePriorityPair{{RuleArn: r1.RuleArn, Priority: aws.Int32(30)}}})
	wantCode(t, err, "PriorityInUse", "Priority '30' is currently in use")
	_, err = e.c.SetRulePriorities(e.ctx, &elb.SetRulePrioritiesInput{RulePriorities: []types.RulePriorityPair{{RuleArn: def, Priority: aws.Int32(5)}}})
	wantCode(t, err, "OperationNotPermitted")

	// A target group a rule forwards to is in use.
	_, err = e.c.DeleteTargetGroup(e.ctx, &elb.DeleteTargetGroupInput{TargetGroupArn: api.TargetGroupArn})
	wantCode(t, err, "ResourceInUse")
	if _, err := e.c.DeleteRule(e.ctx, &elb.DeleteRuleInput{RuleArn: r1.RuleArn}); err != nil {
		t.Fatal(err)
	}
	_, err = e.c.DeleteRule(e.ctx, &elb.DeleteRuleInput{RuleArn: r1.RuleArn})
	wantCode(t, err, "RuleNotFound")
	_, err = e.c.DeleteRule(e.ctx, &elb.DeleteRuleInput{RuleArn: def})
	wantCode(t, err, "OperationNotPermitted")
	if _, err := e.c.DeleteTargetGroup(e.ctx, &elb.DeleteTargetGroupInput{TargetGroupArn: api.TargetGroupArn}); err != nil {
		t.Errorf("target group still in use: %v", err)
	}

	// Rules belong to application load balancers.
	nlb := e.lb("tcp", types.LoadBalancerTypeEnumNetwork)
	tcp := e.tg("tcp", types.ProtocolEnumTcp, types.TargetTypeEnumIp)
	nl := e.listener(aws.ToString(nlb.LoadBalancerArn), e.port(), types.ProtocolEnumTcp, forward(aws.ToString(tcp.TargetGroupArn)))
	_, err = e.c.CreateRule(e.ctx, &elb.CreateRuleInput{ListenerArn: nl.ListenerArn, Priority: aws.Int32(1), Conditions: pathIs("/"),
		Actions: forward(aws.ToString(tcp.TargetGroupArn))})
	wantCode(t, err, "ValidationError", "application load balancers")
}
