package elbv2_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/smithy-go"

	"github.com/quayside/quayside/internal/model"
	"github.com/quayside/quayside/internal/server"
	"github.com/quayside/quayside/internal/server/servertest"
	"github.com/quayside/quayside/internal/store"
)

// env is a server under test with an ELBv2 client.
type env struct {
	t   *testing.T
	h   *servertest.Harness
	c   *elb.Client
	ctx context.Context
}

func start(t *testing.T) *env {
	t.Helper()
	// The data plane listens on the listeners' ports: on an address of its
	// own and on ports free when asked (e.port), to keep clear of others.
	h := servertest.Start(t, func(c *server.Config) { c.LBBindAddress = lbAddress })
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	t.Cleanup(cancel)
	return &env{t: t, h: h, c: elb.NewFromConfig(h.AWS), ctx: ctx}
}

const lbAddress = "127.0.0.77"

// port returns a port that is free at the data plane's address.
func (e *env) port() int32 {
	e.t.Helper()
	ln, err := net.Listen("tcp", lbAddress+":0")
	if err != nil {
		e.t.Fatal(err)
	}
	defer ln.Close()
	return int32(ln.Addr().(*net.TCPAddr).Port)
}

// wantCode fails unless err is an API error with code (and, when given, a
// message containing msg).
func wantCode(t *testing.T, err error, code string, msg ...string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("err = %v, want API error %s", err, code)
	}
	if ae.ErrorCode() != code {
		t.Fatalf("code = %s (%s), want %s", ae.ErrorCode(), ae.ErrorMessage(), code)
	}
	for _, m := range msg {
		if !strings.Contains(ae.ErrorMessage(), m) {
			t.Fatalf("message %q does not contain %q", ae.ErrorMessage(), m)
		}
	}
}

func (e *env) alb(name string) types.LoadBalancer {
	e.t.Helper()
	return e.lb(name, types.LoadBalancerTypeEnumApplication)
}

func (e *env) lb(name string, typ types.LoadBalancerTypeEnum) types.LoadBalancer {
	e.t.Helper()
	out, err := e.c.CreateLoadBalancer(e.ctx, &elb.CreateLoadBalancerInput{Name: aws.String(name), Type: typ})
	if err != nil {
		e.t.Fatalf("CreateLoadBalancer %s: %v", name, err)
	}
	return out.LoadBalancers[0]
}

func (e *env) tg(name string, proto types.ProtocolEnum, tt types.TargetTypeEnum) types.TargetGroup {
	e.t.Helper()
	out, err := e.c.CreateTargetGroup(e.ctx, &elb.CreateTargetGroupInput{
		Name: aws.String(name), Protocol: proto, Port: aws.Int32(8080), TargetType: tt, VpcId: aws.String("vpc-1"),
	})
	if err != nil {
		e.t.Fatalf("CreateTargetGroup %s: %v", name, err)
	}
	return out.TargetGroups[0]
}

func forward(tgArn string) []types.Action {
	return []types.Action{{Type: types.ActionTypeEnumForward, TargetGroupArn: aws.String(tgArn)}}
}

func (e *env) listener(lbArn string, port int32, proto types.ProtocolEnum, acts []types.Action) types.Listener {
	e.t.Helper()
	out, err := e.c.CreateListener(e.ctx, &elb.CreateListenerInput{
		LoadBalancerArn: aws.String(lbArn), Port: aws.Int32(port), Protocol: proto, DefaultActions: acts,
	})
	if err != nil {
		e.t.Fatalf("CreateListener: %v", err)
	}
	return out.Listeners[0]
}

// instance stores a container instance whose EC2 instance ID instance
// targets may name.
func (e *env) instance(ec2ID, status string) {
	e.t.Helper()
	_, err := e.h.Server.Store().Update(e.ctx, func(tx store.Tx) error {
		rec := &store.InstanceRecord{Cluster: "default", ID: ec2ID}
		rec.Ec2InstanceId, rec.Status = ec2ID, status
		rec.Attributes = []model.Attribute{{Name: "ecs.availability-zone", Value: "us-east-1b"}}
		return store.PutJSON(tx, store.InstanceKey("default", ec2ID), rec)
	})
	if err != nil {
		e.t.Fatal(err)
	}
}

// setHealth writes a target's health as the data plane would.
func (e *env) setHealth(tgArn, id string, port int32, state, reason, desc string) {
	e.t.Helper()
	tgID := tgArn[strings.LastIndex(tgArn, "/")+1:]
	_, err := e.h.Server.Store().Update(e.ctx, func(tx store.Tx) error {
		var rec store.TargetRecord
		key := store.TargetKey(tgID, id, port)
		if _, ok, err := store.GetJSON(tx, key, &rec); err != nil || !ok {
			e.t.Errorf("target %s not stored (%v)", key, err)
			return err
		}
		rec.State, rec.Reason, rec.Description, rec.Since = state, reason, desc, model.At(time.Now())
		return store.PutJSON(tx, key, &rec)
	})
	if err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) health(tgArn string, targets ...types.TargetDescription) []types.TargetHealthDescription {
	e.t.Helper()
	out, err := e.c.DescribeTargetHealth(e.ctx, &elb.DescribeTargetHealthInput{TargetGroupArn: aws.String(tgArn), Targets: targets})
	if err != nil {
		e.t.Fatalf("DescribeTargetHealth: %v", err)
	}
	return out.TargetHealthDescriptions
}

func errorsAs(err error, target any) bool { return errors.As(err, target) }
