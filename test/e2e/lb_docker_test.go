package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/moby/moby/client"

	"github.com/quayside/quayside/internal/lb/lbtest"
)

// TestDockerServicesBehindALB runs two services of the echo image on the
// local Docker engine (bridge mode, dynamic host ports) behind one
// application load balancer of the `quayside server` process, all through
// the SDK's ecs and elasticloadbalancingv2 clients:
//
//   - the 3 tasks of "web" are registered with their host ports, and
//     requests through the listener reach all three;
//   - rules route by path and by host to the target group of "api", a
//     fixed-response rule and a redirect rule answer themselves;
//   - a rolling deployment of "web" under 4 workers sending requests
//     through the load balancer fails no request;
//   - docker kill of a task's container fails a bounded burst of requests
//     at most, then none, and the task is replaced behind the balancer;
//   - deleting the services leaves no target behind.
//
// The agent registers the node at 127.0.0.2 (--address), standing for a
// machine of its own: the load balancer reaches the tasks' host ports
// there, as Docker publishes them on every address of the node.
func TestDockerServicesBehindALB(t *testing.T) {
	e := newDockerEnv(t)
	e.nodeAddress = "127.0.0.2"
	e.startAgent()
	a := e.newALB()
	web := a.targetGroup("web")
	api := a.targetGroup("api")
	a.listen(web)
	a.rule(10, elbtypes.RuleCondition{Field: aws.String("path-pattern"), Values: []string{"/file"}}, forward(api))
	a.rule(20, elbtypes.RuleCondition{Field: aws.String("host-header"), HostHeaderConfig: &elbtypes.HostHeaderConditionConfig{Values: []string{"api.example.com"}}}, forward(api))
	a.rule(30, elbtypes.RuleCondition{Field: aws.String("path-pattern"), Values: []string{"/maintenance"}}, elbtypes.Action{
		Type: elbtypes.ActionTypeEnumFixedResponse, FixedResponseConfig: &elbtypes.FixedResponseActionConfig{
			StatusCode: aws.String("503"), ContentType: aws.String("text/plain"), MessageBody: aws.String("down for maintenance")}})
	a.rule(40, elbtypes.RuleCondition{Field: aws.String("path-pattern"), Values: []string{"/old/*"}}, elbtypes.Action{
		Type: elbtypes.ActionTypeEnumRedirect, RedirectConfig: &elbtypes.RedirectActionConfig{
			Path: aws.String("/new/#{path}"), StatusCode: elbtypes.RedirectActionStatusCodeEnumHttp301}})

	behind := func(tg string) func(*ecs.CreateServiceInput) {
		return func(in *ecs.CreateServiceInput) {
			in.LoadBalancers = []types.LoadBalancer{{TargetGroupArn: aws.String(tg), ContainerName: aws.String("web"), ContainerPort: aws.Int32(8080)}}
		}
	}
	e.createService("web", e.family("lb-web", withPort(e.echo("web", "APP", "web", "VERSION", "1"))), 3, behind(web))
	e.createService("api", e.family("lb-api", withPort(e.echo("web", "APP", "api"))), 1, behind(api))
	e.waitTargets(a, web, "web")
	e.waitTargets(a, api, "api")

	t.Run("requests reach all three tasks", func(t *testing.T) {
		want := e.hostnames("web")
		seen := map[string]int{}
		for range 30 {
			d := a.get(t, "/", "")
			seen[d.Hostname]++
		}
		if len(seen) != 3 || !sameKeys(seen, want) {
			t.Errorf("answered by %v, want each of %v", seen, want)
		}
	})

	t.Run("rules", func(t *testing.T) {
		// The echo server's GET /file?path=P shows a file of the
		// container that answers: its /etc/hostname names it.
		apiHost := e.hostnames("api")
		for range 5 {
			if code, _, body := a.raw(t, "/file?path=/etc/hostname"); code != 200 || !apiHost[strings.TrimSpace(body)] {
				t.Errorf("/file answered %d by %q, want the api task %v", code, body, apiHost)
			}
		}
		if d := a.get(t, "/", "api.example.com"); d.Env["APP"] != "api" {
			t.Errorf("Host api.example.com answered by APP=%s", d.Env["APP"])
		}
		if d := a.get(t, "/", "www.example.com"); d.Env["APP"] != "web" {
			t.Errorf("Host www.example.com answered by APP=%s", d.Env["APP"])
		}
		code, _, body := a.raw(t, "/maintenance")
		if code != 503 || body != "down for maintenance" {
			t.Errorf("fixed response: %d %q", code, body)
		}
		code, loc, _ := a.raw(t, "/old/page?x=1")
		if want := "http://" + a.addr + "/new/old/page?x=1"; code != 301 || loc != want {
			t.Errorf("redirect: %d Location %q, want 301 %q", code, loc, want)
		}
	})

	t.Run("rolling deployment under load fails no request", func(t *testing.T) {
		// Two workers send quick requests; two send requests that take
		// 200 ms (the task fetches a slow page from the host), so that
		// some are in flight on an old task whenever it is told to stop,
		// unless it has drained first.
		old := arnsOf(e.serviceTasks("web", types.DesiredStatusRunning))
		slow := a.url + "/fetch?url=" + e.slowPage(200*time.Millisecond)
		l := lbtest.Start([]string{a.url + "/", slow}, 4, echoVersion)
		e.eventually("some slow answers", func() bool { return l.OK.Load() >= 20 })
		begin := time.Now()
		rev2 := e.family("lb-web", withPort(e.echo("web", "APP", "web", "VERSION", "2")))
		mustAWS(e.ecs.UpdateService(t.Context(), &ecs.UpdateServiceInput{Cluster: aws.String(e.cluster), Service: aws.String("web"), TaskDefinition: aws.String(rev2)}))(t)
		e.waitStopped(old...)
		e.waitTargets(a, web, "web")
		ok, failed, versions, errs := l.Halt()
		n := ok + failed
		t.Logf("rollout of 3 tasks in %v under 4 workers: %d requests, %d failed, by VERSION (- slow) %v", time.Since(begin).Round(time.Millisecond), n, failed, versions)
		if failed != 0 {
			t.Errorf("%d of %d requests failed during the rollout: %v", failed, n, errs)
		}
		for _, tk := range e.describe(old...) {
			if tk.StopCode != types.TaskStopCodeServiceSchedulerInitiated {
				t.Errorf("old task stopped with %s %q", tk.StopCode, aws.ToString(tk.StoppedReason))
			}
		}
		if d := a.get(t, "/", ""); d.Env["VERSION"] != "2" {
			t.Errorf("after the rollout VERSION=%s", d.Env["VERSION"])
		}
		s := e.describeService("web")
		for _, want := range []string{"(service web) has begun draining connections on ", "(service web) deregistered ", "(service web) registered "} {
			if !hasEvent(s, want) {
				t.Errorf("no event %q:\n%s", want, e.serviceSummary("web"))
			}
		}
	})

	t.Run("a killed container fails a bounded burst at most", func(t *testing.T) {
		l := lbtest.Start([]string{a.url + "/"}, 4, echoVersion)
		victim := arnsOf(e.serviceTasks("web", types.DesiredStatusRunning))[0]
		begin := time.Now()
		e.killContainer(victim)
		e.waitStopped(victim)
		e.eventually("a replacement is healthy behind the load balancer", func() bool {
			ts := e.serviceTasks("web", types.DesiredStatusRunning)
			return len(ts) == 3 && !slices.Contains(arnsOf(ts), victim) && e.targetsMatch(a, web, ts)
		})
		replaced := time.Since(begin)
		settled := l.Failed.Load()
		e.eventually("1000 more requests", func() bool { return l.OK.Load() >= 1000 })
		ok, failed, _, errs := l.Halt()
		n := ok + failed
		t.Logf("docker kill: replaced and healthy after %v; %d requests, %d failed (%v)", replaced.Round(time.Millisecond), n, failed, errs)
		if failed > 8 {
			t.Errorf("%d requests failed after the kill; want a burst of at most 8: %v", failed, errs)
		}
		if failed != settled {
			t.Errorf("%d requests failed after the replacement was healthy", failed-settled)
		}
	})

	t.Run("deleted services leave no target", func(t *testing.T) {
		for _, name := range []string{"web", "api"} {
			mustAWS(e.ecs.DeleteService(t.Context(), &ecs.DeleteServiceInput{Cluster: aws.String(e.cluster), Service: aws.String(name), Force: aws.Bool(true)}))(t)
		}
		e.waitInactive("web")
		e.waitInactive("api")
		e.eventually("no targets left", func() bool { return len(a.health(web))+len(a.health(api)) == 0 })
		e.waitRemoved()
	})
}

// TestDockerAwsvpcServiceBehindNLB: an awsvpc service's tasks are
// registered with an ip target group by their own IP and container port,
// and a network load balancer's TCP listener reaches both of them.
func TestDockerAwsvpcServiceBehindNLB(t *testing.T) {
	e := newDockerEnv(t)
	e.startAgent()
	n := e.newLB(elbtypes.LoadBalancerTypeEnumNetwork)
	out := mustAWS(n.elb.CreateTargetGroup(t.Context(), &elb.CreateTargetGroupInput{
		Name: aws.String(e.cluster + "-vpc"), Protocol: elbtypes.ProtocolEnumTcp, Port: aws.Int32(8080),
		TargetType: elbtypes.TargetTypeEnumIp, VpcId: aws.String("vpc-local"),
		HealthCheckIntervalSeconds: aws.Int32(5), HealthCheckTimeoutSeconds: aws.Int32(2), HealthyThresholdCount: aws.Int32(2), UnhealthyThresholdCount: aws.Int32(2),
	}))(t)
	tg := aws.ToString(out.TargetGroups[0].TargetGroupArn)
	n.listenProtocol(tg, elbtypes.ProtocolEnumTcp)
	app := e.echo("web")
	app.PortMappings = []types.PortMapping{{ContainerPort: aws.Int32(8080)}}
	def := e.register(&ecs.RegisterTaskDefinitionInput{Family: aws.String("lb-vpc"), NetworkMode: types.NetworkModeAwsvpc,
		ContainerDefinitions: []types.ContainerDefinition{app}})
	e.createService("vpc", def, 2, func(in *ecs.CreateServiceInput) {
		in.NetworkConfiguration = &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{
			Subnets: []string{"subnet-0e2e"}, SecurityGroups: []string{"sg-0e2e"}}}
		in.LoadBalancers = []types.LoadBalancer{{TargetGroupArn: aws.String(tg), ContainerName: aws.String("web"), ContainerPort: aws.Int32(8080)}}
	})
	var want map[string]elbtypes.TargetHealthStateEnum
	e.eventually("the tasks' IPs are the healthy targets", func() bool {
		want = map[string]elbtypes.TargetHealthStateEnum{}
		for _, tk := range e.serviceTasks("vpc", types.DesiredStatusRunning) {
			if ip := eniIP(tk); ip != "" && aws.ToString(tk.LastStatus) == "RUNNING" {
				want[ip+":8080"] = elbtypes.TargetHealthStateEnumHealthy
			}
		}
		got := n.health(tg)
		return len(want) == 2 && fmt.Sprint(got) == fmt.Sprint(want)
	})
	// A connection per request, so that each picks a target.
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	seen := map[string]bool{}
	for range 20 {
		resp, err := c.Get(n.url + "/")
		if err != nil {
			t.Fatal(err)
		}
		var d description
		err = json.NewDecoder(resp.Body).Decode(&d)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range d.Addresses {
			seen[a+":8080"] = true
		}
	}
	for target := range want {
		if !seen[target] {
			t.Errorf("no request reached %s (reached %v)", target, seen)
		}
	}
	mustAWS(e.ecs.DeleteService(t.Context(), &ecs.DeleteServiceInput{Cluster: aws.String(e.cluster), Service: aws.String("vpc"), Force: aws.Bool(true)}))(t)
	e.waitInactive("vpc")
	e.eventually("no targets left", func() bool { return len(n.health(tg)) == 0 })
	e.waitRemoved()
}

// alb is a load balancer of the env's server (application, or network).
type alb struct {
	e        *dockerEnv
	elb      *elb.Client
	arn      string
	addr     string // host:port of its listener
	url      string
	listener string
}

// newALB creates an application load balancer; its listener will listen
// on a free port of the server's load balancer address (127.0.0.1).
func (e *dockerEnv) newALB() *alb { return e.newLB(elbtypes.LoadBalancerTypeEnumApplication) }

// newLB creates a load balancer of a type.
func (e *dockerEnv) newLB(typ elbtypes.LoadBalancerTypeEnum) *alb {
	e.t.Helper()
	cfg, err := config.LoadDefaultConfig(context.Background(),
		config.WithSharedCredentialsFiles([]string{filepath.Join(e.srv.DataDir, "credentials")}),
		config.WithSharedConfigFiles([]string{}),
		config.WithRegion("us-east-1"),
		config.WithBaseEndpoint(e.srv.URL()),
	)
	if err != nil {
		e.t.Fatal(err)
	}
	c := elb.NewFromConfig(cfg)
	out := mustAWS(c.CreateLoadBalancer(e.t.Context(), &elb.CreateLoadBalancerInput{Name: aws.String(e.cluster), Type: typ}))(e.t)
	addr := freePort(e.t)
	return &alb{e: e, elb: c, arn: aws.ToString(out.LoadBalancers[0].LoadBalancerArn), addr: addr, url: "http://" + addr}
}

// targetGroup creates an instance target group checking /health every 5
// s (2 passes or failures to change), with a 5 s deregistration delay.
func (a *alb) targetGroup(name string) string {
	a.e.t.Helper()
	out := mustAWS(a.elb.CreateTargetGroup(a.e.t.Context(), &elb.CreateTargetGroupInput{
		Name: aws.String(a.e.cluster + "-" + name), Protocol: elbtypes.ProtocolEnumHttp, Port: aws.Int32(80),
		TargetType: elbtypes.TargetTypeEnumInstance, VpcId: aws.String("vpc-local"), HealthCheckPath: aws.String("/health"),
		HealthCheckIntervalSeconds: aws.Int32(5), HealthCheckTimeoutSeconds: aws.Int32(2),
		HealthyThresholdCount: aws.Int32(2), UnhealthyThresholdCount: aws.Int32(2),
	}))(a.e.t)
	tg := aws.ToString(out.TargetGroups[0].TargetGroupArn)
	mustAWS(a.elb.ModifyTargetGroupAttributes(a.e.t.Context(), &elb.ModifyTargetGroupAttributesInput{TargetGroupArn: aws.String(tg),
		Attributes: []elbtypes.TargetGroupAttribute{{Key: aws.String("deregistration_delay.timeout_seconds"), Value: aws.String("5")}}}))(a.e.t)
	return tg
}

func forward(tg string) elbtypes.Action {
	return elbtypes.Action{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: aws.String(tg)}
}

// listen creates the HTTP listener, forwarding to tg by default.
func (a *alb) listen(tg string) { a.e.t.Helper(); a.listenProtocol(tg, elbtypes.ProtocolEnumHttp) }

// listenProtocol creates the listener, forwarding to tg by default.
func (a *alb) listenProtocol(tg string, protocol elbtypes.ProtocolEnum) {
	a.e.t.Helper()
	_, port, _ := net.SplitHostPort(a.addr)
	var p int32
	fmt.Sscan(port, &p)
	out := mustAWS(a.elb.CreateListener(a.e.t.Context(), &elb.CreateListenerInput{
		LoadBalancerArn: aws.String(a.arn), Protocol: protocol, Port: aws.Int32(p),
		DefaultActions: []elbtypes.Action{forward(tg)},
	}))(a.e.t)
	a.listener = aws.ToString(out.Listeners[0].ListenerArn)
}

func (a *alb) rule(priority int32, cond elbtypes.RuleCondition, act elbtypes.Action) {
	a.e.t.Helper()
	mustAWS(a.elb.CreateRule(a.e.t.Context(), &elb.CreateRuleInput{ListenerArn: aws.String(a.listener), Priority: aws.Int32(priority),
		Conditions: []elbtypes.RuleCondition{cond}, Actions: []elbtypes.Action{act}}))(a.e.t)
}

// health is the target group's targets as "id:port" → state.
func (a *alb) health(tg string) map[string]elbtypes.TargetHealthStateEnum {
	a.e.t.Helper()
	out := mustAWS(a.elb.DescribeTargetHealth(a.e.t.Context(), &elb.DescribeTargetHealthInput{TargetGroupArn: aws.String(tg)}))(a.e.t)
	m := map[string]elbtypes.TargetHealthStateEnum{}
	for _, d := range out.TargetHealthDescriptions {
		m[fmt.Sprintf("%s:%d", aws.ToString(d.Target.Id), aws.ToInt32(d.Target.Port))] = d.TargetHealth.State
	}
	return m
}

var lbClient = &http.Client{Timeout: 5 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// get sends GET path through the listener (with a Host header when host
// is set) and decodes the echo server's description.
func (a *alb) get(t *testing.T, path, host string) description {
	t.Helper()
	req, err := http.NewRequest("GET", a.url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	resp, err := lbClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var d description
	if resp.StatusCode != 200 || json.Unmarshal(b, &d) != nil {
		t.Fatalf("GET %s: %s %s", path, resp.Status, b)
	}
	return d
}

// raw sends GET path through the listener and returns the status, the
// Location header and the body.
func (a *alb) raw(t *testing.T, path string) (int, string, string) {
	t.Helper()
	resp, err := lbClient.Get(a.url + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(b)
}

// hostnames are the hostnames of the service's running tasks' containers
// (Docker names a container's host after the first 12 digits of its ID).
func (e *dockerEnv) hostnames(service string) map[string]bool {
	e.t.Helper()
	out := map[string]bool{}
	for _, tk := range e.serviceTasks(service, types.DesiredStatusRunning) {
		out[aws.ToString(containerNamed(e.t, tk, "web").RuntimeId)[:12]] = true
	}
	return out
}

// waitTargets waits until the group's targets are exactly the service's
// running tasks (the instance's EC2 ID and each task's host port), all
// healthy.
func (e *dockerEnv) waitTargets(a *alb, tg, service string) {
	e.t.Helper()
	e.eventually(service+"'s tasks are the healthy targets of its group", func() bool {
		return e.targetsMatch(a, tg, e.serviceTasks(service, types.DesiredStatusRunning))
	})
}

func (e *dockerEnv) targetsMatch(a *alb, tg string, ts []types.Task) bool {
	ec2 := aws.ToString(e.instance().Ec2InstanceId)
	got := a.health(tg)
	if len(ts) == 0 || len(got) != len(ts) {
		return false
	}
	for _, tk := range ts {
		if aws.ToString(tk.LastStatus) != "RUNNING" {
			return false
		}
		if got[fmt.Sprintf("%s:%d", ec2, hostPort(e.t, tk, "web"))] != elbtypes.TargetHealthStateEnumHealthy {
			return false
		}
	}
	return true
}

func sameKeys(a map[string]int, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

// echoVersion is what the echo server's answer says its VERSION is ("-"
// for another page, such as a relayed one).
func echoVersion(body []byte) string {
	var d description
	if json.Unmarshal(body, &d) != nil {
		return "-"
	}
	return d.Env["VERSION"]
}

// slowPage serves a page that answers after d on the host, and returns
// its URL as the engine's containers (bridge network) reach it.
func (e *dockerEnv) slowPage(d time.Duration) string {
	e.t.Helper()
	ln, err := net.Listen("tcp", "0.0.0.0:0")
	if err != nil {
		e.t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		time.Sleep(d)
		_, _ = io.WriteString(w, "slow")
	})}
	go func() { _ = srv.Serve(ln) }()
	e.t.Cleanup(func() { srv.Close() })
	nw, err := e.docker.NetworkInspect(e.t.Context(), "bridge", client.NetworkInspectOptions{})
	if err != nil || len(nw.Network.IPAM.Config) == 0 {
		e.t.Fatalf("inspect the bridge network: %v", err)
	}
	cfg := nw.Network.IPAM.Config[0]
	gw := cfg.Gateway
	if !gw.IsValid() {
		gw = cfg.Subnet.Addr().Next() // Docker gives the bridge the subnet's first address
	}
	return fmt.Sprintf("http://%s:%d/", gw, ln.Addr().(*net.TCPAddr).Port)
}
