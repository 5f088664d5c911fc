package service_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/quayside/quayside/internal/agent"
	"github.com/quayside/quayside/internal/agent/agenttest"
	"github.com/quayside/quayside/internal/agent/runtime/fake"
	"github.com/quayside/quayside/internal/server"
)

// lbBind is the data plane's address in this package's tests (a loopback
// address of its own, clear of other packages' listeners).
const lbBind = "127.0.0.79"

// portsPerNode is the size of each hollow node's dynamic host port range.
const portsPerNode = 16

// taskPorts stands in for the processes of a hollow node's tasks: while a
// fake container runs with a host port of the node's range, an HTTP server
// listens on <node address>:<port>, and it is closed, connections and all, when
// the container stops — as Docker's port mapping goes with its container,
// so that a connection to a stopped task is refused and requests in
// flight there fail. A server answers "port <n>" (after ?sleep=<duration>);
// its /health answers 503 while the port is marked sick.
type taskPorts struct {
	rt     *fake.Runtime
	host   string // the node's address
	lo, hi int

	mu      sync.Mutex
	servers map[int]*http.Server
	sick    map[int]bool
}

// lbNode starts a hollow node with an address of its own (127.0.1.<n>, as
// if it were another machine: its instance targets must be reached there),
// whose dynamic host ports are a free block of ports at that address served
// by a taskPorts.
func (c *cluster) lbNode() (*agenttest.Node, *taskPorts) {
	c.t.Helper()
	host := fmt.Sprintf("127.0.1.%d", len(c.nodes)+1)
	lo := freeBlock(c.t, host, portsPerNode)
	zone := "local-1" + string(rune('a'+len(c.nodes)%3))
	n := agenttest.Start(c.t, agenttest.Options{
		Server: c.h.Server.URL(), Token: c.h.Server.AgentToken(), Cluster: "c1", AvailabilityZone: zone,
		Runtime: fake.Options{PortRange: [2]int{lo, lo + portsPerNode - 1}},
		Config:  func(cfg *agent.Config) { cfg.Address = host },
	})
	c.nodes = append(c.nodes, n)
	tp := &taskPorts{rt: n.Runtime, host: host, lo: lo, hi: lo + portsPerNode - 1, servers: map[int]*http.Server{}, sick: map[int]bool{}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); tp.run(ctx) }()
	c.t.Cleanup(func() {
		cancel()
		<-done
		tp.closeAll()
	})
	return n, tp
}

// freeBlock finds n consecutive free ports on host below the kernel's
// ephemeral range (so that no test's ":0" listener takes them).
func freeBlock(t testing.TB, host string, n int) int {
	t.Helper()
	for range 200 {
		lo := 20000 + rand.N(12000/n)*n
		free := true
		for p := lo; p < lo+n && free; p++ {
			ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(p)))
			if err != nil {
				free = false
				continue
			}
			ln.Close()
		}
		if free {
			return lo
		}
	}
	t.Fatal("no free block of ports")
	return 0
}

// run follows the engine's events, with a periodic look as a safety net.
func (tp *taskPorts) run(ctx context.Context) {
	evs, _ := tp.rt.Events(ctx)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		tp.sync()
		select {
		case <-ctx.Done():
			return
		case _, ok := <-evs:
			if !ok {
				evs, _ = tp.rt.Events(ctx)
			}
		case <-tick.C:
		}
	}
}

// sync opens a server for every port a running container holds and
// closes the others.
func (tp *taskPorts) sync() {
	cs, err := tp.rt.List(context.Background(), nil)
	if err != nil {
		return
	}
	want := map[int]bool{}
	for _, c := range cs {
		for _, pb := range c.Ports {
			if c.Running && pb.HostPort >= tp.lo && pb.HostPort <= tp.hi {
				want[pb.HostPort] = true
			}
		}
	}
	tp.mu.Lock()
	defer tp.mu.Unlock()
	for p, s := range tp.servers {
		if !want[p] {
			s.Close()
			delete(tp.servers, p)
		}
	}
	for p := range want {
		if tp.servers[p] != nil {
			continue
		}
		ln, err := net.Listen("tcp", net.JoinHostPort(tp.host, strconv.Itoa(p)))
		if err != nil {
			continue // still held by the closing server: next time
		}
		s := &http.Server{Handler: tp.handler(p)}
		tp.servers[p] = s
		go func() { _ = s.Serve(ln) }()
	}
}

func (tp *taskPorts) handler(port int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health" && tp.isSick(port) {
			http.Error(w, "sick", http.StatusServiceUnavailable)
			return
		}
		if d, err := time.ParseDuration(r.URL.Query().Get("sleep")); err == nil {
			time.Sleep(d) // a request that takes a while: still in flight when its task is told to stop
		}
		fmt.Fprintf(w, "port %d", port)
	})
}

func (tp *taskPorts) setSick(port int, sick bool) {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	tp.sick[port] = sick
}

func (tp *taskPorts) isSick(port int) bool {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return tp.sick[port]
}

// serving lists the ports with a server.
func (tp *taskPorts) serving() int {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return len(tp.servers)
}

func (tp *taskPorts) closeAll() {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	for p, s := range tp.servers {
		s.Close()
		delete(tp.servers, p)
	}
}

// lbSetup is an application load balancer with one listener forwarding
// to one instance target group.
type lbSetup struct {
	elb   *elb.Client
	tg    string // target group ARN
	url   string // the listener's URL
	lbArn string
}

// withLB makes the control plane's data plane listen on lbBind.
func withLB(c *server.Config) { c.LBBindAddress = lbBind }

// newLB creates the load balancer: health checks of /health every 5 s (2
// passes or failures to change), deregistration delay 30 s.
func (c *cluster) newLB() *lbSetup {
	c.t.Helper()
	cl := elb.NewFromConfig(c.h.AWS)
	lbOut := must(cl.CreateLoadBalancer(c.ctx, &elb.CreateLoadBalancerInput{Name: aws.String("web"), Type: types.LoadBalancerTypeEnumApplication}))(c.t)
	tgOut := must(cl.CreateTargetGroup(c.ctx, &elb.CreateTargetGroupInput{
		Name: aws.String("web"), Protocol: types.ProtocolEnumHttp, Port: aws.Int32(80), TargetType: types.TargetTypeEnumInstance,
		VpcId: aws.String("vpc-1"), HealthCheckPath: aws.String("/health"), HealthCheckIntervalSeconds: aws.Int32(5),
		HealthCheckTimeoutSeconds: aws.Int32(2), HealthyThresholdCount: aws.Int32(2), UnhealthyThresholdCount: aws.Int32(2),
	}))(c.t)
	tg := aws.ToString(tgOut.TargetGroups[0].TargetGroupArn)
	must(cl.ModifyTargetGroupAttributes(c.ctx, &elb.ModifyTargetGroupAttributesInput{TargetGroupArn: aws.String(tg),
		Attributes: []types.TargetGroupAttribute{{Key: aws.String("deregistration_delay.timeout_seconds"), Value: aws.String("30")}}}))(c.t)
	ln, err := net.Listen("tcp", lbBind+":0")
	if err != nil {
		c.t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	must(cl.CreateListener(c.ctx, &elb.CreateListenerInput{
		LoadBalancerArn: lbOut.LoadBalancers[0].LoadBalancerArn, Protocol: types.ProtocolEnumHttp, Port: aws.Int32(int32(port)),
		DefaultActions: []types.Action{{Type: types.ActionTypeEnumForward, TargetGroupArn: aws.String(tg)}},
	}))(c.t)
	return &lbSetup{elb: cl, tg: tg, url: "http://" + net.JoinHostPort(lbBind, strconv.Itoa(port)), lbArn: aws.ToString(lbOut.LoadBalancers[0].LoadBalancerArn)}
}

func must[T any](v T, err error) func(testing.TB) T {
	return func(t testing.TB) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// registerWeb registers family: container "app" with port 8080 on a
// dynamic host port.
func (c *cluster) registerWeb(family, version string) string {
	c.t.Helper()
	ct := ecstypes.ContainerDefinition{Name: aws.String("app"), Image: aws.String("quayside-test/echo:latest"), Memory: aws.Int32(64),
		Essential: aws.Bool(true), Environment: []ecstypes.KeyValuePair{{Name: aws.String("VERSION"), Value: aws.String(version)}},
		PortMappings: []ecstypes.PortMapping{{ContainerPort: aws.Int32(8080), Protocol: ecstypes.TransportProtocolTcp}}}
	out := must(c.h.ECS.RegisterTaskDefinition(c.ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String(family),
		ContainerDefinitions: []ecstypes.ContainerDefinition{ct}}))(c.t)
	return aws.ToString(out.TaskDefinition.TaskDefinitionArn)
}

// health is the target group's targets as "id:port" → state.
func (l *lbSetup) health(t testing.TB, ctx context.Context) map[string]types.TargetHealthStateEnum {
	t.Helper()
	out := must(l.elb.DescribeTargetHealth(ctx, &elb.DescribeTargetHealthInput{TargetGroupArn: aws.String(l.tg)}))(t)
	m := map[string]types.TargetHealthStateEnum{}
	for _, d := range out.TargetHealthDescriptions {
		m[aws.ToString(d.Target.Id)+":"+strconv.Itoa(int(aws.ToInt32(d.Target.Port)))] = d.TargetHealth.State
	}
	return m
}

// targetsOf lists the "ec2InstanceId:hostPort" targets of the tasks.
func (c *cluster) targetsOf(ts []ecstypes.Task) []string {
	c.t.Helper()
	ec2 := map[string]string{}
	for _, ci := range c.instances() {
		ec2[aws.ToString(ci.ContainerInstanceArn)] = aws.ToString(ci.Ec2InstanceId)
	}
	var out []string
	for _, tk := range ts {
		for _, b := range tk.Containers[0].NetworkBindings {
			if aws.ToInt32(b.ContainerPort) == 8080 {
				out = append(out, ec2[aws.ToString(tk.ContainerInstanceArn)]+":"+strconv.Itoa(int(aws.ToInt32(b.HostPort))))
			}
		}
	}
	return out
}
