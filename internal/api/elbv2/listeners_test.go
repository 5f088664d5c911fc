package elbv2_test

import (
	"regexp"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

var listenerArnRE = regexp.MustCompile(`^arn:aws:elasticloadbalancing:us-east-1:000000000000:listener/app/web/[0-9a-f]{16}/[0-9a-f]{16}$`)

func TestListeners(t *testing.T) {
	e := start(t)
	alb := e.alb("web")
	nlb := e.lb("tcp", types.LoadBalancerTypeEnumNetwork)
	other := e.alb("other")
	web := e.tg("web", types.ProtocolEnumHttp, types.TargetTypeEnumIp)
	tcp := e.tg("tcp", types.ProtocolEnumTcp, types.TargetTypeEnumIp)
	albArn, nlbArn := aws.ToString(alb.LoadBalancerArn), aws.ToString(nlb.LoadBalancerArn)
	p1, p2, p3, p4 := e.port(), e.port(), e.port(), e.port()

	l := e.listener(albArn, p1, types.ProtocolEnumHttp, forward(aws.ToString(web.TargetGroupArn)))
	if !listenerArnRE.MatchString(aws.ToString(l.ListenerArn)) || aws.ToInt32(l.Port) != p1 || l.Protocol != types.ProtocolEnumHttp ||
		aws.ToString(l.LoadBalancerArn) != albArn || len(l.DefaultActions) != 1 {
		t.Fatalf("%+v", l)
	}
	act := l.DefaultActions[0]
	if act.Type != types.ActionTypeEnumForward || aws.ToString(act.TargetGroupArn) != aws.ToString(web.TargetGroupArn) ||
		act.ForwardConfig == nil || len(act.ForwardConfig.TargetGroups) != 1 || aws.ToInt32(act.ForwardConfig.TargetGroups[0].Weight) != 1 ||
		aws.ToInt32(act.Order) != 1 {
		t.Errorf("default action %+v", act)
	}
	if again := e.listener(albArn, p1, types.ProtocolEnumHttp, forward(aws.ToString(web.TargetGroupArn))); aws.ToString(again.ListenerArn) != aws.ToString(l.ListenerArn) {
		t.Errorf("not idempotent: %s", aws.ToString(again.ListenerArn))
	}
	nl := e.listener(nlbArn, p4, types.ProtocolEnumTcp, forward(aws.ToString(tcp.TargetGroupArn)))

	create := func(lb string, port int32, proto types.ProtocolEnum, acts []types.Action) error {
		_, err := e.c.CreateListener(e.ctx, &elb.CreateListenerInput{LoadBalancerArn: aws.String(lb), Port: aws.Int32(port), Protocol: proto, DefaultActions: acts})
		return err
	}
	fixed := []types.Action{{Type: types.ActionTypeEnumFixedResponse, FixedResponseConfig: &types.FixedResponseActionConfig{StatusCode: aws.String("404")}}}
	wantCode(t, create(albArn, p1, types.ProtocolEnumHttp, fixed), "DuplicateListener", "A listener already exists on this port for this load balancer")
	wantCode(t, create(aws.ToString(other.LoadBalancerArn), p1, types.ProtocolEnumHttp, fixed), "DuplicateListener", "Quayside serves all load balancers at one address")
	wantCode(t, create(albArn, p2, types.ProtocolEnumTcp, fixed), "ValidationError", "Listener protocol 'TCP' must be one of 'HTTPS, HTTP'")
	wantCode(t, create(nlbArn, p2, types.ProtocolEnumHttp, forward(aws.ToString(tcp.TargetGroupArn))), "ValidationError", "Listener protocol 'HTTP' must be one of")
	wantCode(t, create(albArn, p2, types.ProtocolEnumHttps, fixed), "UnsupportedProtocol")
	wantCode(t, create(nlbArn, p2, types.ProtocolEnumUdp, forward(aws.ToString(tcp.TargetGroupArn))), "UnsupportedProtocol")
	wantCode(t, create(albArn, p2, types.ProtocolEnumHttp, forward(aws.ToString(tcp.TargetGroupArn))), "IncompatibleProtocols")
	wantCode(t, create(nlbArn, p2, types.ProtocolEnumTcp, fixed), "InvalidLoadBalancerAction")
	wantCode(t, create(albArn, p2, types.ProtocolEnumHttp, forward(aws.ToString(web.TargetGroupArn)+"0")), "TargetGroupNotFound")
	wantCode(t, create(aws.ToString(other.LoadBalancerArn), p2, types.ProtocolEnumHttp, forward(aws.ToString(web.TargetGroupArn))),
		"TargetGroupAssociationLimit", "cannot be associated with more than one load balancer")
	wantCode(t, create(albArn+"0", p2, types.ProtocolEnumHttp, fixed), "LoadBalancerNotFound")
	wantCode(t, create(albArn, p2, types.ProtocolEnumHttp, []types.Action{}), "ValidationError")
	wantCode(t, create(albArn, p2, types.ProtocolEnumHttp, []types.Action{{Type: types.ActionTypeEnumForward}}), "ValidationError", "A target group ARN must be specified")
	wantCode(t, create(albArn, p2, types.ProtocolEnumHttp, []types.Action{{Type: types.ActionTypeEnumAuthenticateOidc}}), "InvalidLoadBalancerAction")
	// The usual pair, authenticate then forward, is refused for the
	// authenticate action (HTTPS only), not for its count.
	wantCode(t, create(albArn, p2, types.ProtocolEnumHttp, []types.Action{
		{Type: types.ActionTypeEnumAuthenticateOidc, Order: aws.Int32(1)},
		{Type: types.ActionTypeEnumFixedResponse, Order: aws.Int32(2), FixedResponseConfig: &types.FixedResponseActionConfig{StatusCode: aws.String("200")}},
	}), "InvalidLoadBalancerAction", "HTTPS")
	wantCode(t, create(albArn, p2, types.ProtocolEnumHttp, []types.Action{{Type: types.ActionTypeEnumRedirect,
		RedirectConfig: &types.RedirectActionConfig{StatusCode: types.RedirectActionStatusCodeEnumHttp301}}}), "InvalidLoadBalancerAction", "redirect to itself")
	wantCode(t, create(albArn, p2, types.ProtocolEnumHttp, []types.Action{{Type: types.ActionTypeEnumFixedResponse,
		FixedResponseConfig: &types.FixedResponseActionConfig{StatusCode: aws.String("302")}}}), "ValidationError", "Member must satisfy regular expression pattern")

	// Describe by load balancer and by ARN.
	byLB, err := e.c.DescribeListeners(e.ctx, &elb.DescribeListenersInput{LoadBalancerArn: alb.LoadBalancerArn})
	if err != nil || len(byLB.Listeners) != 1 || aws.ToString(byLB.Listeners[0].ListenerArn) != aws.ToString(l.ListenerArn) {
		t.Fatalf("by lb: %v %+v", err, byLB)
	}
	byArn, err := e.c.DescribeListeners(e.ctx, &elb.DescribeListenersInput{ListenerArns: []string{aws.ToString(nl.ListenerArn)}})
	if err != nil || len(byArn.Listeners) != 1 || byArn.Listeners[0].Protocol != types.ProtocolEnumTcp {
		t.Fatalf("by arn: %v %+v", err, byArn)
	}
	_, err = e.c.DescribeListeners(e.ctx, &elb.DescribeListenersInput{})
	wantCode(t, err, "ValidationError")
	_, err = e.c.DescribeListeners(e.ctx, &elb.DescribeListenersInput{ListenerArns: []string{aws.ToString(l.ListenerArn) + "0"}})
	wantCode(t, err, "ListenerNotFound", "One or more listeners not found")

	// Modify: port, and default actions (weighted forward with stickiness).
	w2 := e.tg("web2", types.ProtocolEnumHttp, types.TargetTypeEnumIp)
	mod, err := e.c.ModifyListener(e.ctx, &elb.ModifyListenerInput{ListenerArn: l.ListenerArn, Port: aws.Int32(p3),
		DefaultActions: []types.Action{{Type: types.ActionTypeEnumForward, ForwardConfig: &types.ForwardActionConfig{
			TargetGroups:                []types.TargetGroupTuple{{TargetGroupArn: web.TargetGroupArn, Weight: aws.Int32(3)}, {TargetGroupArn: w2.TargetGroupArn, Weight: aws.Int32(1)}},
			TargetGroupStickinessConfig: &types.TargetGroupStickinessConfig{Enabled: aws.Bool(true), DurationSeconds: aws.Int32(60)}}}}})
	if err != nil {
		t.Fatal(err)
	}
	ml := mod.Listeners[0]
	fc := ml.DefaultActions[0].ForwardConfig
	if aws.ToInt32(ml.Port) != p3 || ml.DefaultActions[0].TargetGroupArn != nil || len(fc.TargetGroups) != 2 ||
		aws.ToInt32(fc.TargetGroups[0].Weight) != 3 || !aws.ToBool(fc.TargetGroupStickinessConfig.Enabled) ||
		aws.ToInt32(fc.TargetGroupStickinessConfig.DurationSeconds) != 60 {
		t.Errorf("modified %+v", ml)
	}
	_, err = e.c.ModifyListener(e.ctx, &elb.ModifyListenerInput{ListenerArn: l.ListenerArn, Port: aws.Int32(p4)})
	wantCode(t, err, "DuplicateListener")

	if _, err := e.c.DeleteListener(e.ctx, &elb.DeleteListenerInput{ListenerArn: l.ListenerArn}); err != nil {
		t.Fatal(err)
	}
	_, err = e.c.DeleteListener(e.ctx, &elb.DeleteListenerInput{ListenerArn: l.ListenerArn})
	wantCode(t, err, "ListenerNotFound")
	// The port is free again, for any load balancer.
	e.listener(aws.ToString(other.LoadBalancerArn), p3, types.ProtocolEnumHttp, fixed)
}
