package elbv2_test

import (
	"regexp"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

var tgArnRE = regexp.MustCompile(`^arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/web/[0-9a-f]{16}$`)

func TestCreateTargetGroupDefaults(t *testing.T) {
	e := start(t)
	tg := e.tg("web", types.ProtocolEnumHttp, "")
	if !tgArnRE.MatchString(aws.ToString(tg.TargetGroupArn)) {
		t.Errorf("arn %s", aws.ToString(tg.TargetGroupArn))
	}
	if tg.TargetType != types.TargetTypeEnumInstance || aws.ToInt32(tg.Port) != 8080 || tg.HealthCheckProtocol != types.ProtocolEnumHttp ||
		aws.ToString(tg.HealthCheckPort) != "traffic-port" || aws.ToString(tg.HealthCheckPath) != "/" ||
		aws.ToInt32(tg.HealthCheckIntervalSeconds) != 30 || aws.ToInt32(tg.HealthCheckTimeoutSeconds) != 5 ||
		aws.ToInt32(tg.HealthyThresholdCount) != 5 || aws.ToInt32(tg.UnhealthyThresholdCount) != 2 ||
		tg.Matcher == nil || aws.ToString(tg.Matcher.HttpCode) != "200" || !aws.ToBool(tg.HealthCheckEnabled) ||
		aws.ToString(tg.ProtocolVersion) != "HTTP1" || len(tg.LoadBalancerArns) != 0 {
		t.Errorf("http defaults %+v", tg)
	}
	tcp := e.tg("tcp", types.ProtocolEnumTcp, types.TargetTypeEnumIp)
	if tcp.HealthCheckProtocol != types.ProtocolEnumTcp || aws.ToInt32(tcp.HealthCheckTimeoutSeconds) != 10 || tcp.Matcher != nil ||
		aws.ToString(tcp.HealthCheckPath) != "" || tcp.TargetType != types.TargetTypeEnumIp {
		t.Errorf("tcp defaults %+v", tcp)
	}
	// A TCP group with HTTP health checks.
	out, err := e.c.CreateTargetGroup(e.ctx, &elb.CreateTargetGroupInput{Name: aws.String("tcp-http"), Protocol: types.ProtocolEnumTcp,
		Port: aws.Int32(9000), HealthCheckProtocol: types.ProtocolEnumHttp, HealthCheckPath: aws.String("/health"),
		HealthCheckPort: aws.String("9001"), HealthCheckIntervalSeconds: aws.Int32(10), HealthCheckTimeoutSeconds: aws.Int32(2),
		HealthyThresholdCount: aws.Int32(2), UnhealthyThresholdCount: aws.Int32(3), Matcher: &types.Matcher{HttpCode: aws.String("200-299")}})
	if err != nil {
		t.Fatal(err)
	}
	hc := out.TargetGroups[0]
	if aws.ToString(hc.HealthCheckPath) != "/health" || aws.ToString(hc.HealthCheckPort) != "9001" || aws.ToString(hc.Matcher.HttpCode) != "200-299" ||
		aws.ToInt32(hc.HealthCheckIntervalSeconds) != 10 || aws.ToInt32(hc.UnhealthyThresholdCount) != 3 {
		t.Errorf("custom health check %+v", hc)
	}

	// Idempotent with the same settings, else DuplicateTargetGroupName.
	if again := e.tg("web", types.ProtocolEnumHttp, ""); aws.ToString(again.TargetGroupArn) != aws.ToString(tg.TargetGroupArn) {
		t.Errorf("second create made %s", aws.ToString(again.TargetGroupArn))
	}
	_, err = e.c.CreateTargetGroup(e.ctx, &elb.CreateTargetGroupInput{Name: aws.String("web"), Protocol: types.ProtocolEnumHttp, Port: aws.Int32(81)})
	wantCode(t, err, "DuplicateTargetGroupName", "A target group with the same name 'web' exists, but with different settings")

	bad := []struct {
		in   elb.CreateTargetGroupInput
		code string
		msg  string
	}{
		{elb.CreateTargetGroupInput{Name: aws.String("a_b"), Protocol: types.ProtocolEnumHttp, Port: aws.Int32(80)}, "ValidationError", "alphanumeric"},
		{elb.CreateTargetGroupInput{Name: aws.String("x"), Port: aws.Int32(80)}, "ValidationError", "A protocol must be specified"},
		{elb.CreateTargetGroupInput{Name: aws.String("x"), Protocol: types.ProtocolEnumHttp}, "ValidationError", "A port must be specified"},
		{elb.CreateTargetGroupInput{Name: aws.String("x"), Protocol: types.ProtocolEnumHttp, Port: aws.Int32(70000)}, "ValidationError", "Member must have value less than or equal to 65535"},
		{elb.CreateTargetGroupInput{Name: aws.String("x"), Protocol: types.ProtocolEnumUdp, Port: aws.Int32(80)}, "UnsupportedProtocol", "UDP"},
		{elb.CreateTargetGroupInput{Name: aws.String("x"), TargetType: types.TargetTypeEnumLambda}, "ValidationError", "lambda"},
		{elb.CreateTargetGroupInput{Name: aws.String("x"), Protocol: types.ProtocolEnumHttp, Port: aws.Int32(80),
			HealthCheckIntervalSeconds: aws.Int32(5), HealthCheckTimeoutSeconds: aws.Int32(5)}, "ValidationError", "Health check interval must be greater than the timeout."},
		{elb.CreateTargetGroupInput{Name: aws.String("x"), Protocol: types.ProtocolEnumHttp, Port: aws.Int32(80),
			Matcher: &types.Matcher{HttpCode: aws.String("600")}}, "ValidationError", "between 200 and 499"},
		{elb.CreateTargetGroupInput{Name: aws.String("x"), Protocol: types.ProtocolEnumHttp, Port: aws.Int32(80),
			HealthCheckPath: aws.String("health")}, "ValidationError", "must begin with a '/'"},
		{elb.CreateTargetGroupInput{Name: aws.String("x"), Protocol: types.ProtocolEnumHttp, Port: aws.Int32(80),
			HealthCheckEnabled: aws.Bool(false)}, "ValidationError", "cannot be disabled"},
		{elb.CreateTargetGroupInput{Name: aws.String("x"), Protocol: types.ProtocolEnumHttp, Port: aws.Int32(80),
			HealthCheckProtocol: types.ProtocolEnumTcp}, "ValidationError", "Health check protocol 'TCP'"},
		{elb.CreateTargetGroupInput{Name: aws.String("x"), Protocol: types.ProtocolEnumHttp, Port: aws.Int32(80),
			HealthyThresholdCount: aws.Int32(11)}, "ValidationError", "Member must have value less than or equal to 10"},
	}
	for _, c := range bad {
		_, err := e.c.CreateTargetGroup(e.ctx, &c.in)
		wantCode(t, err, c.code, c.msg)
	}
}

func TestDescribeModifyDeleteTargetGroups(t *testing.T) {
	e := start(t)
	a := e.tg("a", types.ProtocolEnumHttp, types.TargetTypeEnumIp)
	b := e.tg("b", types.ProtocolEnumHttp, types.TargetTypeEnumIp)
	lb := e.alb("web")
	e.listener(aws.ToString(lb.LoadBalancerArn), e.port(), types.ProtocolEnumHttp, forward(aws.ToString(a.TargetGroupArn)))

	all, err := e.c.DescribeTargetGroups(e.ctx, &elb.DescribeTargetGroupsInput{})
	if err != nil || len(all.TargetGroups) != 2 {
		t.Fatalf("%v %+v", err, all)
	}
	if got := all.TargetGroups[0].LoadBalancerArns; len(got) != 1 || got[0] != aws.ToString(lb.LoadBalancerArn) {
		t.Errorf("LoadBalancerArns of a: %v", got)
	}
	byLB, err := e.c.DescribeTargetGroups(e.ctx, &elb.DescribeTargetGroupsInput{LoadBalancerArn: lb.LoadBalancerArn})
	if err != nil || len(byLB.TargetGroups) != 1 || aws.ToString(byLB.TargetGroups[0].TargetGroupName) != "a" {
		t.Errorf("by lb: %v %+v", err, byLB)
	}
	byName, err := e.c.DescribeTargetGroups(e.ctx, &elb.DescribeTargetGroupsInput{Names: []string{"b"}})
	if err != nil || len(byName.TargetGroups) != 1 || aws.ToString(byName.TargetGroups[0].TargetGroupArn) != aws.ToString(b.TargetGroupArn) {
		t.Errorf("by name: %v %+v", err, byName)
	}
	_, err = e.c.DescribeTargetGroups(e.ctx, &elb.DescribeTargetGroupsInput{Names: []string{"zz"}})
	wantCode(t, err, "TargetGroupNotFound")
	_, err = e.c.DescribeTargetGroups(e.ctx, &elb.DescribeTargetGroupsInput{TargetGroupArns: []string{aws.ToString(b.TargetGroupArn) + "0"}})
	wantCode(t, err, "TargetGroupNotFound", "One or more target groups not found")
	var nf *types.TargetGroupNotFoundException
	if !errorsAs(err, &nf) {
		t.Errorf("not typed: %T", err)
	}

	mod, err := e.c.ModifyTargetGroup(e.ctx, &elb.ModifyTargetGroupInput{TargetGroupArn: b.TargetGroupArn,
		HealthCheckPath: aws.String("/ready"), HealthCheckIntervalSeconds: aws.Int32(6), HealthCheckTimeoutSeconds: aws.Int32(3),
		Matcher: &types.Matcher{HttpCode: aws.String("200,204")}})
	if err != nil {
		t.Fatal(err)
	}
	m := mod.TargetGroups[0]
	if aws.ToString(m.HealthCheckPath) != "/ready" || aws.ToInt32(m.HealthCheckIntervalSeconds) != 6 || aws.ToString(m.Matcher.HttpCode) != "200,204" ||
		aws.ToInt32(m.HealthyThresholdCount) != 5 {
		t.Errorf("modified %+v", m)
	}
	_, err = e.c.ModifyTargetGroup(e.ctx, &elb.ModifyTargetGroupInput{TargetGroupArn: b.TargetGroupArn, HealthCheckTimeoutSeconds: aws.Int32(10)})
	wantCode(t, err, "ValidationError", "Health check interval must be greater than the timeout.")

	_, err = e.c.DeleteTargetGroup(e.ctx, &elb.DeleteTargetGroupInput{TargetGroupArn: a.TargetGroupArn})
	wantCode(t, err, "ResourceInUse", "is currently in use by a listener or a rule")
	if _, err := e.c.DeleteTargetGroup(e.ctx, &elb.DeleteTargetGroupInput{TargetGroupArn: b.TargetGroupArn}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.DeleteTargetGroup(e.ctx, &elb.DeleteTargetGroupInput{TargetGroupArn: b.TargetGroupArn}); err != nil {
		t.Errorf("deleting again: %v", err)
	}
	_, err = e.c.DeleteTargetGroup(e.ctx, &elb.DeleteTargetGroupInput{TargetGroupArn: lb.LoadBalancerArn})
	wantCode(t, err, "ValidationError", "is not a valid target group ARN")
}

func TestTargetGroupAttributes(t *testing.T) {
	e := start(t)
	tg := e.tg("web", types.ProtocolEnumHttp, types.TargetTypeEnumIp)
	attrs := func(out []types.TargetGroupAttribute) map[string]string {
		m := map[string]string{}
		for _, a := range out {
			if a.Value == nil { // AWS sends <Value></Value> for an empty one
				t.Errorf("attribute %s has no Value element", aws.ToString(a.Key))
			}
			m[aws.ToString(a.Key)] = aws.ToString(a.Value)
		}
		return m
	}
	d, err := e.c.DescribeTargetGroupAttributes(e.ctx, &elb.DescribeTargetGroupAttributesInput{TargetGroupArn: tg.TargetGroupArn})
	if err != nil {
		t.Fatal(err)
	}
	got := attrs(d.Attributes)
	if got["deregistration_delay.timeout_seconds"] != "300" || got["stickiness.enabled"] != "false" || got["stickiness.type"] != "lb_cookie" ||
		got["load_balancing.algorithm.type"] != "round_robin" || got["stickiness.lb_cookie.duration_seconds"] != "86400" {
		t.Errorf("defaults %v", got)
	}
	set := func(kv ...string) (*elb.ModifyTargetGroupAttributesOutput, error) {
		var as []types.TargetGroupAttribute
		for i := 0; i < len(kv); i += 2 {
			as = append(as, types.TargetGroupAttribute{Key: aws.String(kv[i]), Value: aws.String(kv[i+1])})
		}
		return e.c.ModifyTargetGroupAttributes(e.ctx, &elb.ModifyTargetGroupAttributesInput{TargetGroupArn: tg.TargetGroupArn, Attributes: as})
	}
	out, err := set("deregistration_delay.timeout_seconds", "5", "stickiness.enabled", "true", "stickiness.lb_cookie.duration_seconds", "60",
		"load_balancing.algorithm.type", "least_outstanding_requests")
	if err != nil {
		t.Fatal(err)
	}
	if got := attrs(out.Attributes); got["deregistration_delay.timeout_seconds"] != "5" || got["stickiness.enabled"] != "true" ||
		got["load_balancing.algorithm.type"] != "least_outstanding_requests" {
		t.Errorf("after modify %v", got)
	}
	for _, c := range []struct{ k, v, code, msg string }{
		{"deregistration_delay.timeout_seconds", "3601", "ValidationError", "between 0 and 3600"},
		{"stickiness.type", "source_ip", "ValidationError", "must be one of"},
		{"load_balancing.algorithm.type", "random", "ValidationError", "must be one of"},
		// Stickiness is on: the weighted random algorithm does not take it.
		{"load_balancing.algorithm.type", "weighted_random", "InvalidConfigurationRequest", "Sticky sessions"},
		{"proxy_protocol_v2.enabled", "true", "ValidationError", "Target group attribute key 'proxy_protocol_v2.enabled' is not recognized"},
		{"stickiness.type", "app_cookie", "InvalidConfigurationRequest", "cookie_name"},
	} {
		_, err := set(c.k, c.v)
		wantCode(t, err, c.code, c.msg)
	}
	if _, err := set("stickiness.type", "app_cookie", "stickiness.app_cookie.cookie_name", "SESSION"); err != nil {
		t.Errorf("app cookie: %v", err)
	}
	tcp := e.tg("tcp", types.ProtocolEnumTcp, types.TargetTypeEnumIp)
	d, err = e.c.DescribeTargetGroupAttributes(e.ctx, &elb.DescribeTargetGroupAttributesInput{TargetGroupArn: tcp.TargetGroupArn})
	if err != nil {
		t.Fatal(err)
	}
	if got := attrs(d.Attributes); got["stickiness.type"] != "source_ip" || got["preserve_client_ip.enabled"] != "false" ||
		got["load_balancing.algorithm.type"] != "" {
		t.Errorf("tcp defaults %v", got)
	}
}

// TestHealthCheckMatcherRange: a matcher takes codes 200–499 on HTTP
// target groups and 200–599 on TCP ones (API reference, Matcher).
func TestHealthCheckMatcherRange(t *testing.T) {
	e := start(t)
	create := func(name string, proto types.ProtocolEnum, codes string) (*elb.CreateTargetGroupOutput, error) {
		return e.c.CreateTargetGroup(e.ctx, &elb.CreateTargetGroupInput{Name: aws.String(name), Protocol: proto, Port: aws.Int32(80),
			HealthCheckProtocol: types.ProtocolEnumHttp, Matcher: &types.Matcher{HttpCode: aws.String(codes)}})
	}
	out, err := create("tcp", types.ProtocolEnumTcp, "200-599")
	if err != nil {
		t.Fatal(err)
	}
	if m := out.TargetGroups[0].Matcher; m == nil || aws.ToString(m.HttpCode) != "200-599" {
		t.Errorf("matcher %+v", m)
	}
	if _, err := e.c.ModifyTargetGroup(e.ctx, &elb.ModifyTargetGroupInput{TargetGroupArn: out.TargetGroups[0].TargetGroupArn,
		Matcher: &types.Matcher{HttpCode: aws.String("200,503")}}); err != nil {
		t.Errorf("modify tcp matcher: %v", err)
	}
	_, err = create("tcp-600", types.ProtocolEnumTcp, "600")
	wantCode(t, err, "ValidationError", "between 200 and 599")
	_, err = create("http", types.ProtocolEnumHttp, "200-599")
	wantCode(t, err, "ValidationError", "between 200 and 499")
}

// TestTargetGroupHealthAttributes: the target_group_health.* attributes
// take 'off' or a number in range, and an NLB group's unhealthy draining
// interval only with connection termination off (API reference,
// TargetGroupAttribute); a refused change leaves the attributes as they
// were.
func TestTargetGroupHealthAttributes(t *testing.T) {
	e := start(t)
	tcp := e.tg("tcp", types.ProtocolEnumTcp, types.TargetTypeEnumIp)
	set := func(kv ...string) (map[string]string, error) {
		var as []types.TargetGroupAttribute
		for i := 0; i < len(kv); i += 2 {
			as = append(as, types.TargetGroupAttribute{Key: aws.String(kv[i]), Value: aws.String(kv[i+1])})
		}
		out, err := e.c.ModifyTargetGroupAttributes(e.ctx, &elb.ModifyTargetGroupAttributesInput{TargetGroupArn: tcp.TargetGroupArn, Attributes: as})
		if err != nil {
			return nil, err
		}
		m := map[string]string{}
		for _, a := range out.Attributes {
			m[aws.ToString(a.Key)] = aws.ToString(a.Value)
		}
		return m, nil
	}
	const (
		dnsCount  = "target_group_health.dns_failover.minimum_healthy_targets.count"
		dnsPct    = "target_group_health.dns_failover.minimum_healthy_targets.percentage"
		routCount = "target_group_health.unhealthy_state_routing.minimum_healthy_targets.count"
		routPct   = "target_group_health.unhealthy_state_routing.minimum_healthy_targets.percentage"
		term      = "target_health_state.unhealthy.connection_termination.enabled"
		drain     = "target_health_state.unhealthy.draining_interval_seconds"
	)
	got, err := set(dnsCount, "off", dnsPct, "50", routCount, "2", routPct, "100")
	if err != nil {
		t.Fatal(err)
	}
	if got[dnsCount] != "off" || got[dnsPct] != "50" || got[routCount] != "2" || got[routPct] != "100" {
		t.Errorf("after modify %v", got)
	}
	for _, kv := range [][2]string{{dnsCount, "many"}, {dnsCount, "0"}, {dnsPct, "101"}, {routCount, "off"}, {routPct, "0"}} {
		_, err := set(kv[0], kv[1])
		wantCode(t, err, "ValidationError", kv[0], kv[1])
	}
	_, err = set(drain, "30")
	wantCode(t, err, "InvalidConfigurationRequest", "only be set when '"+term+"' is 'false'")
	if got, err = set(term, "false", drain, "30"); err != nil || got[drain] != "30" {
		t.Fatalf("draining interval with termination off: %v %v", err, got)
	}
	_, err = set(term, "true")
	wantCode(t, err, "InvalidConfigurationRequest")
	d, err := e.c.DescribeTargetGroupAttributes(e.ctx, &elb.DescribeTargetGroupAttributesInput{TargetGroupArn: tcp.TargetGroupArn})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range d.Attributes {
		if k, v := aws.ToString(a.Key), aws.ToString(a.Value); (k == term && v != "false") || (k == drain && v != "30") || (k == dnsCount && v != "off") {
			t.Errorf("refused changes left %s = %s", k, v)
		}
	}
}
