package server_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/quayside/quayside/internal/agentproto"
	"github.com/quayside/quayside/internal/server"
	"github.com/quayside/quayside/internal/server/servertest"
)

// lbBind is the data plane's address in this package's tests (a loopback
// address of its own, clear of other packages' listeners).
const lbBind = "127.0.0.78"

// TestLoadBalancerThroughTheAPI drives the data plane the way users do:
// through the ELBv2 API with aws-sdk-go-v2. Two targets become healthy and
// share the traffic, a path rule routes to a fixed response, a deregistered
// target drains and is gone.
func TestLoadBalancerThroughTheAPI(t *testing.T) {
	h := servertest.Start(t, func(c *server.Config) { c.LBBindAddress = lbBind })
	c := elb.NewFromConfig(h.AWS)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	a, b := named(t, "a"), named(t, "b")

	lbOut, err := c.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{Name: aws.String("web"), Type: types.LoadBalancerTypeEnumApplication})
	if err != nil {
		t.Fatal(err)
	}
	lbArn := lbOut.LoadBalancers[0].LoadBalancerArn
	tgOut, err := c.CreateTargetGroup(ctx, &elb.CreateTargetGroupInput{
		Name: aws.String("web"), Protocol: types.ProtocolEnumHttp, Port: aws.Int32(80), TargetType: types.TargetTypeEnumIp,
		VpcId: aws.String("vpc-1"), HealthCheckPath: aws.String("/health"), HealthCheckIntervalSeconds: aws.Int32(5), HealthCheckTimeoutSeconds: aws.Int32(2),
	})
	if err != nil {
		t.Fatal(err)
	}
	tgArn := tgOut.TargetGroups[0].TargetGroupArn
	if _, err := c.RegisterTargets(ctx, &elb.RegisterTargetsInput{TargetGroupArn: tgArn, Targets: []types.TargetDescription{target(t, a), target(t, b)}}); err != nil {
		t.Fatal(err)
	}
	port := freeLBPort(t)
	lOut, err := c.CreateListener(ctx, &elb.CreateListenerInput{
		LoadBalancerArn: lbArn, Protocol: types.ProtocolEnumHttp, Port: aws.Int32(port),
		DefaultActions: []types.Action{{Type: types.ActionTypeEnumForward, TargetGroupArn: tgArn}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateRule(ctx, &elb.CreateRuleInput{
		ListenerArn: lOut.Listeners[0].ListenerArn, Priority: aws.Int32(1),
		Conditions: []types.RuleCondition{{Field: aws.String("path-pattern"), Values: []string{"/maintenance/*"}}},
		Actions: []types.Action{{Type: types.ActionTypeEnumFixedResponse, FixedResponseConfig: &types.FixedResponseActionConfig{
			StatusCode: aws.String("503"), ContentType: aws.String("text/plain"), MessageBody: aws.String("down for maintenance")}}},
	}); err != nil {
		t.Fatal(err)
	}
	waitHealth(t, ctx, c, tgArn, map[string]types.TargetHealthStateEnum{a.URL: types.TargetHealthStateEnumHealthy, b.URL: types.TargetHealthStateEnumHealthy})

	url := "http://" + net.JoinHostPort(lbBind, strconv.Itoa(int(port)))
	seen := map[string]int{}
	for range 10 {
		code, body := get(t, url+"/")
		if code != 200 {
			t.Fatalf("status %d", code)
		}
		seen[body]++
	}
	if seen["a"] != 5 || seen["b"] != 5 {
		t.Errorf("round robin over two healthy targets: %v", seen)
	}
	if code, body := get(t, url+"/maintenance/x"); code != 503 || body != "down for maintenance" {
		t.Errorf("fixed response rule: %d %q", code, body)
	}

	// Deregistered: draining, no new requests, and with nothing in flight
	// the deregistration completes long before the 300 s delay.
	if _, err := c.DeregisterTargets(ctx, &elb.DeregisterTargetsInput{TargetGroupArn: tgArn, Targets: []types.TargetDescription{target(t, a)}}); err != nil {
		t.Fatal(err)
	}
	waitHealth(t, ctx, c, tgArn, map[string]types.TargetHealthStateEnum{b.URL: types.TargetHealthStateEnumHealthy})
	for range 5 {
		if _, body := get(t, url+"/"); body != "b" {
			t.Fatalf("a deregistered target got a request")
		}
	}
}

func named(t *testing.T, name string) *httptest.Server {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, name) }))
	t.Cleanup(s.Close)
	return s
}

func target(t *testing.T, s *httptest.Server) types.TargetDescription {
	host, port, _ := net.SplitHostPort(s.Listener.Addr().String())
	n, err := strconv.Atoi(port)
	if err != nil {
		t.Fatal(err)
	}
	return types.TargetDescription{Id: aws.String(host), Port: aws.Int32(int32(n))}
}

func freeLBPort(t *testing.T) int32 {
	ln, err := net.Listen("tcp", lbBind+":0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return int32(ln.Addr().(*net.TCPAddr).Port)
}

// waitHealth waits until DescribeTargetHealth shows exactly the targets
// (by server URL) in the given states.
func waitHealth(t *testing.T, ctx context.Context, c *elb.Client, tg *string, want map[string]types.TargetHealthStateEnum) {
	t.Helper()
	var last map[string]types.TargetHealthStateEnum
	for {
		out, err := c.DescribeTargetHealth(ctx, &elb.DescribeTargetHealthInput{TargetGroupArn: tg})
		if err != nil {
			t.Fatal(err)
		}
		last = map[string]types.TargetHealthStateEnum{}
		for _, d := range out.TargetHealthDescriptions {
			u := "http://" + net.JoinHostPort(aws.ToString(d.Target.Id), strconv.Itoa(int(aws.ToInt32(d.Target.Port))))
			last[u] = d.TargetHealth.State
		}
		if equalStates(last, want) {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("target health %v, want %v", last, want)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func equalStates(a, b map[string]types.TargetHealthStateEnum) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestInstanceTargetsAtTheNodeAddress: an instance target is reached at
// the address its node's agent registered (here 127.0.0.2, a loopback
// address of its own, standing for another machine), not at the server's
// loopback; an address that is no unicast IP is refused at registration.
func TestInstanceTargetsAtTheNodeAddress(t *testing.T) {
	const nodeAddr = "127.0.0.2"
	e := startAgentEnv(t, func(c *server.Config) { c.LBBindAddress = lbBind })
	bad := nodeRegistration("")
	for _, a := range []string{"node-1", "0.0.0.0", "224.0.0.1"} {
		bad.Address = a
		if _, err := e.ag.Register(e.ctx(), bad); protoCode(err) != agentproto.CodeBadRequest {
			t.Errorf("register with address %q: %v", a, err)
		}
	}
	req := nodeRegistration("")
	req.Address = nodeAddr
	out, err := e.ag.Register(e.ctx(), req)
	if err != nil {
		t.Fatal(err)
	}
	e.heartbeats(out.ContainerInstanceArn)

	ln, err := net.Listen("tcp", nodeAddr+":0")
	if err != nil {
		t.Fatal(err)
	}
	backend := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "node "+r.Host)
	}))
	backend.Listener = ln
	backend.Start()
	t.Cleanup(backend.Close)
	port := ln.Addr().(*net.TCPAddr).Port

	c := elb.NewFromConfig(e.h.AWS)
	ctx, cancel := context.WithTimeout(e.ctx(), 60*time.Second)
	defer cancel()
	lbOut, err := c.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{Name: aws.String("nodes"), Type: types.LoadBalancerTypeEnumApplication})
	if err != nil {
		t.Fatal(err)
	}
	tgOut, err := c.CreateTargetGroup(ctx, &elb.CreateTargetGroupInput{
		Name: aws.String("nodes"), Protocol: types.ProtocolEnumHttp, Port: aws.Int32(80), TargetType: types.TargetTypeEnumInstance,
		VpcId: aws.String("vpc-1"), HealthCheckIntervalSeconds: aws.Int32(5), HealthCheckTimeoutSeconds: aws.Int32(2),
	})
	if err != nil {
		t.Fatal(err)
	}
	tgArn := tgOut.TargetGroups[0].TargetGroupArn
	lbPort := freeLBPort(t)
	if _, err := c.CreateListener(ctx, &elb.CreateListenerInput{
		LoadBalancerArn: lbOut.LoadBalancers[0].LoadBalancerArn, Protocol: types.ProtocolEnumHttp, Port: aws.Int32(lbPort),
		DefaultActions: []types.Action{{Type: types.ActionTypeEnumForward, TargetGroupArn: tgArn}},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RegisterTargets(ctx, &elb.RegisterTargetsInput{TargetGroupArn: tgArn, Targets: []types.TargetDescription{
		{Id: aws.String(req.EC2InstanceID), Port: aws.Int32(int32(port))}}}); err != nil {
		t.Fatal(err)
	}
	waitHealth(t, ctx, c, tgArn, map[string]types.TargetHealthStateEnum{
		"http://" + net.JoinHostPort(req.EC2InstanceID, strconv.Itoa(port)): types.TargetHealthStateEnumHealthy})
	url := "http://" + net.JoinHostPort(lbBind, strconv.Itoa(int(lbPort)))
	if code, body := get(t, url+"/"); code != 200 || body != "node "+net.JoinHostPort(lbBind, strconv.Itoa(int(lbPort))) {
		t.Errorf("through the load balancer: %d %q", code, body)
	}
}

// TestLoadBalancerDNSSuffix: DNSName is <name>-<id> under the configured
// suffix.
func TestLoadBalancerDNSSuffix(t *testing.T) {
	h := servertest.Start(t, func(c *server.Config) { c.LBBindAddress = lbBind; c.LBDNSSuffix = "lb.example.internal" })
	out, err := elb.NewFromConfig(h.AWS).CreateLoadBalancer(t.Context(), &elb.CreateLoadBalancerInput{Name: aws.String("Web")})
	if err != nil {
		t.Fatal(err)
	}
	if dns := aws.ToString(out.LoadBalancers[0].DNSName); !strings.HasPrefix(dns, "web-") || !strings.HasSuffix(dns, ".lb.example.internal") {
		t.Errorf("DNSName = %q", dns)
	}
}
