package elbv2_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/quayside/quayside/internal/store"
)

func target(id string, port int32) types.TargetDescription {
	td := types.TargetDescription{Id: aws.String(id)}
	if port != 0 {
		td.Port = aws.Int32(port)
	}
	return td
}

type healthRow struct {
	id     string
	port   int32
	state  types.TargetHealthStateEnum
	reason types.TargetHealthReasonEnum
}

func rows(hs []types.TargetHealthDescription) []healthRow {
	var out []healthRow
	for _, h := range hs {
		out = append(out, healthRow{aws.ToString(h.Target.Id), aws.ToInt32(h.Target.Port), h.TargetHealth.State, h.TargetHealth.Reason})
	}
	return out
}

func TestTargetsAndHealth(t *testing.T) {
	e := start(t)
	tg := e.tg("web", types.ProtocolEnumHttp, types.TargetTypeEnumIp)
	arn := aws.ToString(tg.TargetGroupArn)
	_, err := e.c.RegisterTargets(e.ctx, &elb.RegisterTargetsInput{TargetGroupArn: tg.TargetGroupArn,
		Targets: []types.TargetDescription{target("127.0.0.91", 0), target("127.0.0.92", 9000)}})
	if err != nil {
		t.Fatal(err)
	}
	// No listener forwards to the group: unused, Target.NotInUse.
	got := rows(e.health(arn))
	want := []healthRow{{"127.0.0.91", 8080, "unused", "Target.NotInUse"}, {"127.0.0.92", 9000, "unused", "Target.NotInUse"}}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("unused: %+v", got)
	}
	// Once a listener uses it: initial until the data plane reports.
	lb := e.alb("web")
	e.listener(aws.ToString(lb.LoadBalancerArn), e.port(), types.ProtocolEnumHttp, forward(arn))
	hs := e.health(arn)
	if r := rows(hs); r[0].state != "initial" || r[0].reason != "Elb.RegistrationInProgress" && r[0].reason != "Elb.InitialHealthChecking" ||
		aws.ToString(hs[0].HealthCheckPort) != "8080" {
		t.Fatalf("initial: %+v", r)
	}
	// The data plane takes the targets on (Elb.InitialHealthChecking);
	// only then is the health written below not overwritten by that. Its
	// checks of these loopback ports fail at once, and a target turns
	// unhealthy only after a second failure, an interval (30 s) later.
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := rows(e.health(arn))
		if r[0].reason == "Elb.InitialHealthChecking" && r[1].reason == "Elb.InitialHealthChecking" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the data plane did not take the targets on: %+v", r)
		}
		time.Sleep(10 * time.Millisecond)
	}
	e.setHealth(arn, "127.0.0.91", 8080, store.TargetHealthy, "", "")
	e.setHealth(arn, "127.0.0.92", 9000, store.TargetUnhealthy, store.ReasonResponseCodeMismatch, "Health checks failed with these codes: [502]")
	hs = e.health(arn)
	if r := rows(hs); r[0] != (healthRow{"127.0.0.91", 8080, "healthy", ""}) || r[1] != (healthRow{"127.0.0.92", 9000, "unhealthy", "Target.ResponseCodeMismatch"}) ||
		aws.ToString(hs[1].TargetHealth.Description) != "Health checks failed with these codes: [502]" || hs[0].TargetHealth.Description != nil {
		t.Fatalf("reported: %+v", r)
	}
	// Filtered, and a target that is not registered.
	r := rows(e.health(arn, target("127.0.0.92", 0), target("10.9.9.9", 0)))
	if len(r) != 2 || r[0].state != "unhealthy" || r[1] != (healthRow{"10.9.9.9", 8080, "unused", "Target.NotRegistered"}) {
		t.Fatalf("filtered: %+v", r)
	}

	// Deregistering drains (delay 300 s by default). The data plane ends
	// a drain with nothing in flight at once (deleting the record), so the
	// record the API wrote is read from the store's watch.
	key := store.TargetKey(arn[len(arn)-16:], "127.0.0.91", 8080)
	var from int64
	_ = e.h.Server.Store().View(e.ctx, func(tx store.ReadTx) error { from = tx.Rev(); return nil })
	watch := e.h.Server.Store().Watch(e.ctx, key, from)
	if _, err := e.c.DeregisterTargets(e.ctx, &elb.DeregisterTargetsInput{TargetGroupArn: tg.TargetGroupArn,
		Targets: []types.TargetDescription{target("127.0.0.91", 0)}}); err != nil {
		t.Fatal(err)
	}
	if r := rows(e.health(arn, target("127.0.0.91", 0))); r[0].state != "draining" || r[0].reason != "Target.DeregistrationInProgress" {
		t.Fatalf("draining: %+v", r)
	}
	var rec store.TargetRecord
	for rec.State != store.TargetDraining {
		wr, ok := <-watch
		if !ok || wr.Err != nil {
			t.Fatalf("watching the target: ended (%v)", wr.Err)
		}
		for _, ev := range wr.Events {
			if ev.Type == store.EventPut {
				if err := json.Unmarshal(ev.KV.Value, &rec); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if d := rec.DrainUntil.Sub(rec.Since.Time); d.Seconds() != 300 {
		t.Errorf("drain for %v, want 300s", d)
	}
	// Registering again ends the draining.
	if _, err := e.c.RegisterTargets(e.ctx, &elb.RegisterTargetsInput{TargetGroupArn: tg.TargetGroupArn,
		Targets: []types.TargetDescription{target("127.0.0.91", 8080)}}); err != nil {
		t.Fatal(err)
	}
	if r := rows(e.health(arn, target("127.0.0.91", 0))); r[0].state != "initial" {
		t.Fatalf("re-registered: %+v", r)
	}

	// Targets that are not registered, or not on that port, are skipped
	// as AWS does (200, nothing changes).
	// (The states may move on meanwhile: the data plane checks them.)
	registered := func() (out []string) {
		for _, r := range rows(e.health(arn)) {
			out = append(out, fmt.Sprintf("%s:%d %s", r.id, r.port, r.state))
		}
		return out
	}
	before := registered()
	if _, err := e.c.DeregisterTargets(e.ctx, &elb.DeregisterTargetsInput{TargetGroupArn: tg.TargetGroupArn,
		Targets: []types.TargetDescription{target("10.1.1.1", 0), target("127.0.0.91", 8081)}}); err != nil {
		t.Fatalf("deregistering targets that are not registered: %v", err)
	}
	if after := registered(); !slices.Equal(after, before) {
		t.Errorf("targets after deregistering unregistered ones: %v, want %v", after, before)
	}
	_, err = e.c.RegisterTargets(e.ctx, &elb.RegisterTargetsInput{TargetGroupArn: tg.TargetGroupArn,
		Targets: []types.TargetDescription{target("not-an-ip", 0)}})
	wantCode(t, err, "InvalidTarget", "not a valid IPv4 address")
	_, err = e.c.RegisterTargets(e.ctx, &elb.RegisterTargetsInput{TargetGroupArn: aws.String(arn + "0"), Targets: []types.TargetDescription{target("127.0.0.91", 0)}})
	wantCode(t, err, "TargetGroupNotFound")
	_, err = e.c.DescribeTargetHealth(e.ctx, &elb.DescribeTargetHealthInput{TargetGroupArn: aws.String(arn + "0")})
	wantCode(t, err, "TargetGroupNotFound")
	_, err = e.c.RegisterTargets(e.ctx, &elb.RegisterTargetsInput{TargetGroupArn: tg.TargetGroupArn, Targets: []types.TargetDescription{target("127.0.0.91", 70000)}})
	wantCode(t, err, "ValidationError")
}

func TestInstanceTargets(t *testing.T) {
	e := start(t)
	e.instance("i-0123456789abcdef0", "ACTIVE")
	e.instance("i-00000000000000bad", "INACTIVE")
	tg := e.tg("web", types.ProtocolEnumHttp, types.TargetTypeEnumInstance)
	_, err := e.c.RegisterTargets(e.ctx, &elb.RegisterTargetsInput{TargetGroupArn: tg.TargetGroupArn,
		Targets: []types.TargetDescription{target("i-0123456789abcdef0", 32768), target("i-0123456789abcdef0", 32769)}})
	if err != nil {
		t.Fatal(err)
	}
	if r := rows(e.health(aws.ToString(tg.TargetGroupArn))); len(r) != 2 || r[0].port != 32768 || r[1].port != 32769 {
		t.Errorf("%+v", r)
	}
	// The zone is the instance's, and not the caller's to give.
	for _, d := range e.health(aws.ToString(tg.TargetGroupArn)) {
		if z := aws.ToString(d.Target.AvailabilityZone); z != "us-east-1b" {
			t.Errorf("instance target's zone = %q, want the instance's us-east-1b", z)
		}
	}
	withZone := target("i-0123456789abcdef0", 32770)
	withZone.AvailabilityZone = aws.String("us-east-1a")
	_, err = e.c.RegisterTargets(e.ctx, &elb.RegisterTargetsInput{TargetGroupArn: tg.TargetGroupArn, Targets: []types.TargetDescription{withZone}})
	wantCode(t, err, "ValidationError", "Availability Zone")
	for _, id := range []string{"i-00000000000000bad", "i-0fffffffffffffff0"} {
		_, err = e.c.RegisterTargets(e.ctx, &elb.RegisterTargetsInput{TargetGroupArn: tg.TargetGroupArn, Targets: []types.TargetDescription{target(id, 0)}})
		wantCode(t, err, "InvalidTarget", "The following targets are not in a running state and cannot be registered: '"+id+"'")
	}
	_, err = e.c.RegisterTargets(e.ctx, &elb.RegisterTargetsInput{TargetGroupArn: tg.TargetGroupArn, Targets: []types.TargetDescription{target("10.0.0.1", 0)}})
	wantCode(t, err, "ValidationError", "instance ID")
	// Nothing forwards to the group: deregistering removes at once.
	if _, err := e.c.DeregisterTargets(e.ctx, &elb.DeregisterTargetsInput{TargetGroupArn: tg.TargetGroupArn,
		Targets: []types.TargetDescription{target("i-0123456789abcdef0", 32768)}}); err != nil {
		t.Fatal(err)
	}
	if r := rows(e.health(aws.ToString(tg.TargetGroupArn))); len(r) != 1 || r[0].port != 32769 {
		t.Errorf("after deregister: %+v", r)
	}
}

// TestRegistrationsPerTargetID: one target (an instance with many dynamic
// ports, here an IP) can be registered at most 100 times with a load
// balancer, counted across the target groups it forwards to.
func TestRegistrationsPerTargetID(t *testing.T) {
	e := start(t)
	a := e.tg("a", types.ProtocolEnumHttp, types.TargetTypeEnumIp)
	b := e.tg("b", types.ProtocolEnumHttp, types.TargetTypeEnumIp)
	register := func(tg types.TargetGroup, id string, from, to int32) error {
		var ts []types.TargetDescription
		for p := from; p <= to; p++ {
			ts = append(ts, target(id, p))
		}
		_, err := e.c.RegisterTargets(e.ctx, &elb.RegisterTargetsInput{TargetGroupArn: tg.TargetGroupArn, Targets: ts})
		return err
	}
	// Not used by a load balancer yet: no such limit.
	if err := register(b, "127.0.0.95", 42000, 42149); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.DeregisterTargets(e.ctx, &elb.DeregisterTargetsInput{TargetGroupArn: b.TargetGroupArn,
		Targets: func() (ts []types.TargetDescription) {
			for p := int32(42040); p <= 42149; p++ {
				ts = append(ts, target("127.0.0.95", p))
			}
			return ts
		}()}); err != nil {
		t.Fatal(err)
	}
	lb := e.alb("web")
	e.listener(aws.ToString(lb.LoadBalancerArn), e.port(), types.ProtocolEnumHttp, forward(aws.ToString(a.TargetGroupArn)))
	e.listener(aws.ToString(lb.LoadBalancerArn), e.port(), types.ProtocolEnumHttp, forward(aws.ToString(b.TargetGroupArn)))
	if err := register(a, "127.0.0.95", 41001, 41060); err != nil { // 40 in b + 60 in a
		t.Fatal(err)
	}
	if err := register(a, "127.0.0.96", 41001, 41060); err != nil { // another target counts apart
		t.Fatal(err)
	}
	err := register(a, "127.0.0.95", 41061, 41061)
	wantCode(t, err, "TooManyRegistrationsForTargetId", "127.0.0.95")
	if n := len(e.health(aws.ToString(a.TargetGroupArn))); n != 120 {
		t.Errorf("group a has %d targets after the refused registration, want 120", n)
	}
	// Registering a registration that exists again is no new one.
	if err := register(a, "127.0.0.95", 41001, 41001); err != nil {
		t.Fatal(err)
	}
}
