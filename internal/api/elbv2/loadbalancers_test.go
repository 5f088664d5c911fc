package elbv2_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

var (
	albArnRE = regexp.MustCompile(`^arn:aws:elasticloadbalancing:us-east-1:000000000000:loadbalancer/app/web/[0-9a-f]{16}$`)
	nlbArnRE = regexp.MustCompile(`^arn:aws:elasticloadbalancing:us-east-1:000000000000:loadbalancer/net/tcp/[0-9a-f]{16}$`)
)

func TestCreateLoadBalancer(t *testing.T) {
	e := start(t)
	lb := e.alb("web")
	if !albArnRE.MatchString(aws.ToString(lb.LoadBalancerArn)) {
		t.Errorf("arn %s", aws.ToString(lb.LoadBalancerArn))
	}
	id := aws.ToString(lb.LoadBalancerArn)[strings.LastIndex(aws.ToString(lb.LoadBalancerArn), "/")+1:]
	if got := aws.ToString(lb.DNSName); got != "web-"+id+".lb.localhost" {
		t.Errorf("DNSName %s", got)
	}
	if lb.State == nil || lb.State.Code != types.LoadBalancerStateEnumActive || lb.Scheme != types.LoadBalancerSchemeEnumInternetFacing ||
		lb.Type != types.LoadBalancerTypeEnumApplication || lb.IpAddressType != types.IpAddressTypeIpv4 || lb.CreatedTime == nil ||
		len(lb.AvailabilityZones) != 1 || aws.ToString(lb.AvailabilityZones[0].ZoneName) != "us-east-1a" || aws.ToString(lb.VpcId) == "" {
		t.Errorf("%+v", lb)
	}
	nlb := e.lb("tcp", types.LoadBalancerTypeEnumNetwork)
	if !nlbArnRE.MatchString(aws.ToString(nlb.LoadBalancerArn)) || nlb.Type != types.LoadBalancerTypeEnumNetwork {
		t.Errorf("nlb %+v", nlb)
	}
	internal, err := e.c.CreateLoadBalancer(e.ctx, &elb.CreateLoadBalancerInput{Name: aws.String("inner"), Scheme: types.LoadBalancerSchemeEnumInternal,
		Subnets: []string{"subnet-a", "subnet-b"}, SecurityGroups: []string{"sg-1"}})
	if err != nil {
		t.Fatal(err)
	}
	in := internal.LoadBalancers[0]
	if !strings.HasPrefix(aws.ToString(in.DNSName), "internal-inner-") || len(in.AvailabilityZones) != 2 ||
		aws.ToString(in.AvailabilityZones[1].SubnetId) != "subnet-b" || len(in.SecurityGroups) != 1 {
		t.Errorf("internal %+v", in)
	}

	// Idempotent with the same settings; DuplicateLoadBalancerName with others.
	again := e.alb("web")
	if aws.ToString(again.LoadBalancerArn) != aws.ToString(lb.LoadBalancerArn) {
		t.Errorf("second create made %s", aws.ToString(again.LoadBalancerArn))
	}
	_, err = e.c.CreateLoadBalancer(e.ctx, &elb.CreateLoadBalancerInput{Name: aws.String("web"), Type: types.LoadBalancerTypeEnumNetwork})
	wantCode(t, err, "DuplicateLoadBalancerName", "A load balancer with the same name 'web' exists")
	var dup *types.DuplicateLoadBalancerNameException
	if !errorsAs(err, &dup) {
		t.Errorf("not the typed exception: %T", err)
	}

	for _, c := range []struct{ name, msg string }{
		{strings.Repeat("a", 33), "cannot be longer than '32' characters"},
		{"a_b", "can only contain characters that are alphanumeric characters or hyphens"},
		{"-ab", "cannot begin or end with '-'"},
		{"internal-x", "cannot begin with 'internal-'"},
	} {
		_, err := e.c.CreateLoadBalancer(e.ctx, &elb.CreateLoadBalancerInput{Name: aws.String(c.name)})
		wantCode(t, err, "ValidationError", c.msg)
	}
	// An ALB spans two zones at least; a subnet stands for one zone once.
	_, err = e.c.CreateLoadBalancer(e.ctx, &elb.CreateLoadBalancerInput{Name: aws.String("one-zone"), Subnets: []string{"subnet-a"}})
	wantCode(t, err, "ValidationError", "At least two subnets in two different Availability Zones must be specified")
	_, err = e.c.CreateLoadBalancer(e.ctx, &elb.CreateLoadBalancerInput{Name: aws.String("twice"), Subnets: []string{"subnet-a", "subnet-b", "subnet-a"}})
	wantCode(t, err, "ValidationError", "'subnet-a' is specified more than once")
	if _, err := e.c.CreateLoadBalancer(e.ctx, &elb.CreateLoadBalancerInput{Name: aws.String("nlb-one-zone"), Type: types.LoadBalancerTypeEnumNetwork,
		Subnets: []string{"subnet-a"}}); err != nil {
		t.Errorf("a network load balancer in one subnet: %v", err)
	}
	_, err = e.c.CreateLoadBalancer(e.ctx, &elb.CreateLoadBalancerInput{Name: aws.String("gw"), Type: types.LoadBalancerTypeEnumGateway})
	wantCode(t, err, "ValidationError", "gateway")
	_, err = e.c.CreateLoadBalancer(e.ctx, &elb.CreateLoadBalancerInput{Name: aws.String("bad"), Scheme: "public"})
	wantCode(t, err, "ValidationError", "Member must satisfy enum value set")
	_, err = e.c.CreateLoadBalancer(e.ctx, &elb.CreateLoadBalancerInput{Name: aws.String("tagged"),
		Tags: []types.Tag{{Key: aws.String("a")}, {Key: aws.String("a")}}})
	wantCode(t, err, "DuplicateTagKeys")
}

func TestDescribeLoadBalancers(t *testing.T) {
	e := start(t)
	var arns []string
	for _, n := range []string{"one", "two", "three"} {
		arns = append(arns, aws.ToString(e.alb(n).LoadBalancerArn))
	}
	all, err := e.c.DescribeLoadBalancers(e.ctx, &elb.DescribeLoadBalancersInput{})
	if err != nil || len(all.LoadBalancers) != 3 || aws.ToString(all.LoadBalancers[0].LoadBalancerName) != "one" {
		t.Fatalf("all: %v %+v", err, all)
	}
	byName, err := e.c.DescribeLoadBalancers(e.ctx, &elb.DescribeLoadBalancersInput{Names: []string{"two"}})
	if err != nil || len(byName.LoadBalancers) != 1 || aws.ToString(byName.LoadBalancers[0].LoadBalancerArn) != arns[1] {
		t.Fatalf("by name: %v %+v", err, byName)
	}
	byArn, err := e.c.DescribeLoadBalancers(e.ctx, &elb.DescribeLoadBalancersInput{LoadBalancerArns: arns[2:]})
	if err != nil || len(byArn.LoadBalancers) != 1 || aws.ToString(byArn.LoadBalancers[0].LoadBalancerName) != "three" {
		t.Fatalf("by arn: %v %+v", err, byArn)
	}
	// Paging with the SDK's paginator.
	var names []string
	p := elb.NewDescribeLoadBalancersPaginator(e.c, &elb.DescribeLoadBalancersInput{PageSize: aws.Int32(2)})
	pages := 0
	for p.HasMorePages() {
		pg, err := p.NextPage(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, lb := range pg.LoadBalancers {
			names = append(names, aws.ToString(lb.LoadBalancerName))
		}
	}
	if pages != 2 || strings.Join(names, ",") != "one,two,three" {
		t.Errorf("paged %d: %v", pages, names)
	}

	_, err = e.c.DescribeLoadBalancers(e.ctx, &elb.DescribeLoadBalancersInput{Names: []string{"nope"}})
	wantCode(t, err, "LoadBalancerNotFound", "'[nope]' not found")
	var nf *types.LoadBalancerNotFoundException
	if !errorsAs(err, &nf) {
		t.Errorf("not typed: %T", err)
	}
	gone := strings.Replace(arns[0], arns[0][len(arns[0])-16:], "0123456789abcdef", 1)
	_, err = e.c.DescribeLoadBalancers(e.ctx, &elb.DescribeLoadBalancersInput{LoadBalancerArns: []string{gone}})
	wantCode(t, err, "LoadBalancerNotFound", "One or more load balancers not found")
	_, err = e.c.DescribeLoadBalancers(e.ctx, &elb.DescribeLoadBalancersInput{LoadBalancerArns: []string{"web"}})
	wantCode(t, err, "ValidationError", "'web' must be in ARN format")
	_, err = e.c.DescribeLoadBalancers(e.ctx, &elb.DescribeLoadBalancersInput{LoadBalancerArns: arns[:1], Names: []string{"one"}})
	wantCode(t, err, "ValidationError", "cannot be specified at the same time")
	_, err = e.c.DescribeLoadBalancers(e.ctx, &elb.DescribeLoadBalancersInput{Marker: aws.String("bogus")})
	wantCode(t, err, "ValidationError", "marker")
	// Up to 20 ARNs a call (API reference, DescribeLoadBalancers).
	many := make([]string, 21)
	for i := range many {
		many[i] = arns[i%3]
	}
	if out, err := e.c.DescribeLoadBalancers(e.ctx, &elb.DescribeLoadBalancersInput{LoadBalancerArns: many[:20]}); err != nil || len(out.LoadBalancers) != 20 {
		t.Errorf("20 arns: %v", err)
	}
	_, err = e.c.DescribeLoadBalancers(e.ctx, &elb.DescribeLoadBalancersInput{LoadBalancerArns: many})
	wantCode(t, err, "ValidationError", "At most 20 load balancer ARNs")
}

func TestLoadBalancerAttributesAndDelete(t *testing.T) {
	e := start(t)
	lb := e.alb("web")
	arn := lb.LoadBalancerArn
	attrs, err := e.c.DescribeLoadBalancerAttributes(e.ctx, &elb.DescribeLoadBalancerAttributesInput{LoadBalancerArn: arn})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, a := range attrs.Attributes {
		// AWS sends <Value></Value> for an empty value (the access log
		// bucket): clients index the value without checking it is there.
		if a.Value == nil {
			t.Errorf("attribute %s has no Value element", aws.ToString(a.Key))
		}
		got[aws.ToString(a.Key)] = aws.ToString(a.Value)
	}
	if _, ok := got["access_logs.s3.bucket"]; !ok {
		t.Errorf("no access_logs.s3.bucket attribute in %v", got)
	}
	if got["idle_timeout.timeout_seconds"] != "60" || got["deletion_protection.enabled"] != "false" || got["routing.http2.enabled"] != "true" {
		t.Errorf("defaults %v", got)
	}
	mod, err := e.c.ModifyLoadBalancerAttributes(e.ctx, &elb.ModifyLoadBalancerAttributesInput{LoadBalancerArn: arn,
		Attributes: []types.LoadBalancerAttribute{{Key: aws.String("idle_timeout.timeout_seconds"), Value: aws.String("120")},
			{Key: aws.String("deletion_protection.enabled"), Value: aws.String("true")}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(mod.Attributes) != len(attrs.Attributes) {
		t.Errorf("modify returned %d attributes, want all %d", len(mod.Attributes), len(attrs.Attributes))
	}
	for _, c := range []struct{ k, v, msg string }{
		{"idle_timeout.timeout_seconds", "0", "between 1 and 4000"},
		{"no.such.key", "1", "Load balancer attribute key 'no.such.key' is not recognized"},
		{"routing.http2.enabled", "yes", "'true' or 'false'"},
		{"access_logs.s3.enabled", "true", "S3Bucket name cannot be empty"}, // logs need a bucket
	} {
		_, err := e.c.ModifyLoadBalancerAttributes(e.ctx, &elb.ModifyLoadBalancerAttributesInput{LoadBalancerArn: arn,
			Attributes: []types.LoadBalancerAttribute{{Key: aws.String(c.k), Value: aws.String(c.v)}}})
		wantCode(t, err, "ValidationError", c.msg)
	}
	nlb := e.lb("tcp", types.LoadBalancerTypeEnumNetwork)
	_, err = e.c.ModifyLoadBalancerAttributes(e.ctx, &elb.ModifyLoadBalancerAttributesInput{LoadBalancerArn: nlb.LoadBalancerArn,
		Attributes: []types.LoadBalancerAttribute{{Key: aws.String("idle_timeout.timeout_seconds"), Value: aws.String("10")}}})
	wantCode(t, err, "InvalidConfigurationRequest", "Load balancer attribute key 'idle_timeout.timeout_seconds' is not supported on load balancers with type 'network'")
	_, err = e.c.ModifyLoadBalancerAttributes(e.ctx, &elb.ModifyLoadBalancerAttributesInput{LoadBalancerArn: nlb.LoadBalancerArn,
		Attributes: []types.LoadBalancerAttribute{{Key: aws.String("no.such.key"), Value: aws.String("10")}}})
	wantCode(t, err, "ValidationError", "not recognized")
	// With a bucket, logs may be turned on; the refused change above left
	// nothing behind.
	logs, err := e.c.ModifyLoadBalancerAttributes(e.ctx, &elb.ModifyLoadBalancerAttributesInput{LoadBalancerArn: arn,
		Attributes: []types.LoadBalancerAttribute{{Key: aws.String("access_logs.s3.enabled"), Value: aws.String("true")},
			{Key: aws.String("access_logs.s3.bucket"), Value: aws.String("logs")}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range logs.Attributes {
		if k, v := aws.ToString(a.Key), aws.ToString(a.Value); k == "idle_timeout.timeout_seconds" && v != "120" || k == "access_logs.s3.bucket" && v != "logs" {
			t.Errorf("after the log change %s = %q", k, v)
		}
	}

	// Deletion protection, then a delete that takes the listeners with it.
	tg := e.tg("backends", types.ProtocolEnumHttp, types.TargetTypeEnumIp)
	l := e.listener(aws.ToString(arn), e.port(), types.ProtocolEnumHttp, forward(aws.ToString(tg.TargetGroupArn)))
	_, err = e.c.DeleteLoadBalancer(e.ctx, &elb.DeleteLoadBalancerInput{LoadBalancerArn: arn})
	wantCode(t, err, "OperationNotPermitted", "deletion protection is enabled")
	_, err = e.c.ModifyLoadBalancerAttributes(e.ctx, &elb.ModifyLoadBalancerAttributesInput{LoadBalancerArn: arn,
		Attributes: []types.LoadBalancerAttribute{{Key: aws.String("deletion_protection.enabled"), Value: aws.String("false")}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.DeleteLoadBalancer(e.ctx, &elb.DeleteLoadBalancerInput{LoadBalancerArn: arn}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.DeleteLoadBalancer(e.ctx, &elb.DeleteLoadBalancerInput{LoadBalancerArn: arn}); err != nil {
		t.Errorf("deleting again: %v", err)
	}
	_, err = e.c.DescribeListeners(e.ctx, &elb.DescribeListenersInput{ListenerArns: []string{aws.ToString(l.ListenerArn)}})
	wantCode(t, err, "ListenerNotFound")
	_, err = e.c.DescribeLoadBalancerAttributes(e.ctx, &elb.DescribeLoadBalancerAttributesInput{LoadBalancerArn: arn})
	wantCode(t, err, "LoadBalancerNotFound")
	// The target group is free again.
	if _, err := e.c.DeleteTargetGroup(e.ctx, &elb.DeleteTargetGroupInput{TargetGroupArn: tg.TargetGroupArn}); err != nil {
		t.Errorf("delete target group: %v", err)
	}

	limits, err := e.c.DescribeAccountLimits(e.ctx, &elb.DescribeAccountLimitsInput{})
	if err != nil || len(limits.Limits) == 0 {
		t.Errorf("limits: %v %+v", err, limits)
	}
}
