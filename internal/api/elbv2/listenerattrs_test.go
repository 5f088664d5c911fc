package elbv2_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/google/go-cmp/cmp"
)

const (
	attrServer = "routing.http.response.server.enabled"
	attrHSTS   = "routing.http.response.strict_transport_security.header_value"
	attrXFO    = "routing.http.response.x_frame_options.header_value"
	attrTCP    = "tcp.idle_timeout.seconds"
)

// listenerAttrs describes a listener's attributes as a map.
func (e *env) listenerAttrs(arn *string) map[string]string {
	e.t.Helper()
	out, err := e.c.DescribeListenerAttributes(e.ctx, &elb.DescribeListenerAttributesInput{ListenerArn: arn})
	if err != nil {
		e.t.Fatalf("DescribeListenerAttributes: %v", err)
	}
	return attrMap(out.Attributes)
}

func attrMap(as []types.ListenerAttribute) map[string]string {
	m := map[string]string{}
	for _, a := range as {
		m[aws.ToString(a.Key)] = aws.ToString(a.Value)
	}
	return m
}

func (e *env) modifyListenerAttrs(arn *string, kv ...string) (map[string]string, error) {
	var as []types.ListenerAttribute
	for i := 0; i+1 < len(kv); i += 2 {
		as = append(as, types.ListenerAttribute{Key: aws.String(kv[i]), Value: aws.String(kv[i+1])})
	}
	out, err := e.c.ModifyListenerAttributes(e.ctx, &elb.ModifyListenerAttributesInput{ListenerArn: arn, Attributes: as})
	if err != nil {
		return nil, err
	}
	return attrMap(out.Attributes), nil
}

// TestHTTPListenerAttributes: an ALB HTTP listener has the server header
// switch (true) and the ten response header attributes (empty) by default;
// they change, go back to their defaults when set empty, survive a
// restart, and refuse what AWS refuses.
func TestHTTPListenerAttributes(t *testing.T) {
	e := start(t)
	alb := e.alb("web")
	fixed := []types.Action{{Type: types.ActionTypeEnumFixedResponse, FixedResponseConfig: &types.FixedResponseActionConfig{StatusCode: aws.String("200")}}}
	l := e.listener(aws.ToString(alb.LoadBalancerArn), e.port(), types.ProtocolEnumHttp, fixed)
	arn := l.ListenerArn

	want := map[string]string{attrServer: "true"}
	for _, h := range []string{"strict_transport_security", "access_control_allow_origin", "access_control_allow_methods",
		"access_control_allow_headers", "access_control_allow_credentials", "access_control_expose_headers",
		"access_control_max_age", "content_security_policy", "x_content_type_options", "x_frame_options"} {
		want["routing.http.response."+h+".header_value"] = ""
	}
	if diff := cmp.Diff(want, e.listenerAttrs(arn)); diff != "" {
		t.Fatalf("default attributes (-want +got):\n%s", diff)
	}
	// An empty attribute still has its Value, as AWS sends it.
	raw, err := e.c.DescribeListenerAttributes(e.ctx, &elb.DescribeListenerAttributesInput{ListenerArn: arn})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range raw.Attributes {
		if a.Value == nil {
			t.Errorf("%s has no Value", aws.ToString(a.Key))
		}
	}

	got, err := e.modifyListenerAttrs(arn, attrServer, "false", attrHSTS, "max-age=31536000; includeSubDomains; preload", attrXFO, "DENY")
	if err != nil {
		t.Fatal(err)
	}
	want[attrServer], want[attrHSTS], want[attrXFO] = "false", "max-age=31536000; includeSubDomains; preload", "DENY"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ModifyListenerAttributes answer (-want +got):\n%s", diff)
	}
	// An empty value is the default again.
	if _, err := e.modifyListenerAttrs(arn, attrXFO, ""); err != nil {
		t.Fatal(err)
	}
	want[attrXFO] = ""
	if diff := cmp.Diff(want, e.listenerAttrs(arn)); diff != "" {
		t.Errorf("after an empty value (-want +got):\n%s", diff)
	}

	for _, c := range []struct {
		kv         []string
		code, text string
	}{
		{[]string{"routing.http.response.no_such.header_value", "x"}, "ValidationError", "is not recognized"},
		{[]string{attrServer, "yes"}, "ValidationError", "must be 'true' or 'false'"},
		{[]string{attrHSTS, `max-age="1"`}, "ValidationError", "must contain only"},
		{[]string{attrHSTS, strings.Repeat("a", 1025)}, "ValidationError", "at most 1024 bytes"},
		{[]string{attrTCP, "100"}, "InvalidConfigurationRequest", "Network Load Balancers"},
		{[]string{"routing.http.request.x_amzn_tls_version.header_name", "X-Tls"}, "InvalidConfigurationRequest", "HTTPS listeners"},
		{[]string{"routing.http.request.x_amzn_mtls_clientcert.header_name", "X-Cert"}, "InvalidConfigurationRequest", "HTTPS listeners"},
		// A bad attribute fails the whole request: the good one is not kept.
		{[]string{attrXFO, "SAMEORIGIN", attrServer, "maybe"}, "ValidationError", "routing.http.response.server.enabled"},
	} {
		_, err := e.modifyListenerAttrs(arn, c.kv...)
		wantCode(t, err, c.code, c.text)
	}
	if diff := cmp.Diff(want, e.listenerAttrs(arn)); diff != "" {
		t.Errorf("after refused requests (-want +got):\n%s", diff)
	}

	missing := aws.String(aws.ToString(arn)[:len(aws.ToString(arn))-1] + "0")
	_, err = e.c.DescribeListenerAttributes(e.ctx, &elb.DescribeListenerAttributesInput{ListenerArn: missing})
	wantCode(t, err, "ListenerNotFound")
	_, err = e.modifyListenerAttrs(missing, attrServer, "false")
	wantCode(t, err, "ListenerNotFound")
	_, err = e.modifyListenerAttrs(alb.LoadBalancerArn, attrServer, "false")
	wantCode(t, err, "ValidationError", "is not a valid listener ARN")

	e.h.Restart()
	e.c = elb.NewFromConfig(e.h.AWS)
	if diff := cmp.Diff(want, e.listenerAttrs(arn)); diff != "" {
		t.Errorf("after a restart (-want +got):\n%s", diff)
	}

	// Deleted with the listener: a new one on the same port starts over.
	port := aws.ToInt32(l.Port)
	if _, err := e.c.DeleteListener(e.ctx, &elb.DeleteListenerInput{ListenerArn: arn}); err != nil {
		t.Fatal(err)
	}
	_, err = e.c.DescribeListenerAttributes(e.ctx, &elb.DescribeListenerAttributesInput{ListenerArn: arn})
	wantCode(t, err, "ListenerNotFound")
	again := e.listener(aws.ToString(alb.LoadBalancerArn), port, types.ProtocolEnumHttp, fixed)
	if got := e.listenerAttrs(again.ListenerArn); got[attrServer] != "true" || got[attrHSTS] != "" {
		t.Errorf("a new listener's attributes %v", got)
	}
}

// TestTCPListenerAttributes: an NLB TCP listener has its idle timeout,
// 350 s by default, 60 to 6000 s, and none of the ALB's attributes.
func TestTCPListenerAttributes(t *testing.T) {
	e := start(t)
	nlb := e.lb("tcp", types.LoadBalancerTypeEnumNetwork)
	tg := e.tg("tcp", types.ProtocolEnumTcp, types.TargetTypeEnumIp)
	l := e.listener(aws.ToString(nlb.LoadBalancerArn), e.port(), types.ProtocolEnumTcp, forward(aws.ToString(tg.TargetGroupArn)))
	arn := l.ListenerArn
	if diff := cmp.Diff(map[string]string{attrTCP: "350"}, e.listenerAttrs(arn)); diff != "" {
		t.Fatalf("default attributes (-want +got):\n%s", diff)
	}
	for _, v := range []string{"60", "6000", "500"} {
		got, err := e.modifyListenerAttrs(arn, attrTCP, v)
		if err != nil || got[attrTCP] != v {
			t.Fatalf("set %s: %v %v", v, err, got)
		}
	}
	for _, c := range []struct {
		kv         []string
		code, text string
	}{
		{[]string{attrTCP, "59"}, "ValidationError", "between 60 and 6000"},
		{[]string{attrTCP, "6001"}, "ValidationError", "between 60 and 6000"},
		{[]string{attrTCP, ""}, "ValidationError", "between 60 and 6000"},
		{[]string{attrTCP, "1e3"}, "ValidationError", "between 60 and 6000"},
		{[]string{attrServer, "false"}, "InvalidConfigurationRequest", "Application Load Balancers"},
		{[]string{attrHSTS, "max-age=1"}, "InvalidConfigurationRequest", "Application Load Balancers"},
		{[]string{"routing.http.request.x_amzn_tls_version.header_name", "X-Tls"}, "InvalidConfigurationRequest", "Application Load Balancers"},
		{[]string{"tcp.idle_timeout", "100"}, "ValidationError", "is not recognized"},
	} {
		_, err := e.modifyListenerAttrs(arn, c.kv...)
		wantCode(t, err, c.code, c.text)
	}
	if got := e.listenerAttrs(arn); got[attrTCP] != "500" || len(got) != 1 {
		t.Errorf("after refused requests: %v", got)
	}
	// ModifyListener keeps them.
	if _, err := e.c.ModifyListener(e.ctx, &elb.ModifyListenerInput{ListenerArn: arn, Port: aws.Int32(e.port())}); err != nil {
		t.Fatal(err)
	}
	if got := e.listenerAttrs(arn); got[attrTCP] != "500" {
		t.Errorf("after ModifyListener: %v", got)
	}
}

// TestListenerAttributesReachTheDataPlane: response header attributes set
// through the API show on the listener's answers.
func TestListenerAttributesReachTheDataPlane(t *testing.T) {
	e := start(t)
	alb := e.alb("web")
	fixed := []types.Action{{Type: types.ActionTypeEnumFixedResponse, FixedResponseConfig: &types.FixedResponseActionConfig{
		StatusCode: aws.String("200"), ContentType: aws.String("text/plain"), MessageBody: aws.String("ok")}}}
	port := e.port()
	l := e.listener(aws.ToString(alb.LoadBalancerArn), port, types.ProtocolEnumHttp, fixed)
	url := fmt.Sprintf("http://%s:%d/", lbAddress, port)
	headers := func() http.Header {
		resp, err := http.Get(url)
		if err != nil {
			return nil
		}
		resp.Body.Close()
		return resp.Header
	}
	waitFor := func(what string, ok func(http.Header) bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			h := headers()
			if h != nil && ok(h) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s; last headers %v", what, h)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitFor("the default Server header", func(h http.Header) bool { return h.Get("Server") == "awselb/2.0" })
	if _, err := e.modifyListenerAttrs(l.ListenerArn, attrServer, "false", attrXFO, "SAMEORIGIN"); err != nil {
		t.Fatal(err)
	}
	waitFor("the attributes applied", func(h http.Header) bool {
		return h.Get("X-Frame-Options") == "SAMEORIGIN" && h.Values("Server") == nil
	})
}
