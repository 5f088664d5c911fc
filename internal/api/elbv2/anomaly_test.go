package elbv2_test

import (
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

	"github.com/quayside/quayside/internal/store"
)

func (e *env) setTGAttrs(tgArn *string, kv ...string) (*elb.ModifyTargetGroupAttributesOutput, error) {
	var as []types.TargetGroupAttribute
	for i := 0; i+1 < len(kv); i += 2 {
		as = append(as, types.TargetGroupAttribute{Key: aws.String(kv[i]), Value: aws.String(kv[i+1])})
	}
	return e.c.ModifyTargetGroupAttributes(e.ctx, &elb.ModifyTargetGroupAttributesInput{TargetGroupArn: tgArn, Attributes: as})
}

// TestWeightedRandomAttributes: anomaly mitigation only with the
// weighted_random algorithm (API reference, TargetGroupAttribute), which
// takes neither slow start nor sticky sessions (ALB user guide).
func TestWeightedRandomAttributes(t *testing.T) {
	e := start(t)
	tg := e.tg("web", types.ProtocolEnumHttp, types.TargetTypeEnumIp)
	const algo, mit = "load_balancing.algorithm.type", "load_balancing.algorithm.anomaly_mitigation"
	_, err := e.setTGAttrs(tg.TargetGroupArn, mit, "on")
	wantCode(t, err, "InvalidConfigurationRequest", "'"+mit+"' can only be 'on' when '"+algo+"' is 'weighted_random'")
	_, err = e.setTGAttrs(tg.TargetGroupArn, mit, "yes")
	wantCode(t, err, "ValidationError", "must be one of 'on, off'")
	out, err := e.setTGAttrs(tg.TargetGroupArn, algo, "weighted_random", mit, "on")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, a := range out.Attributes {
		got[aws.ToString(a.Key)] = aws.ToString(a.Value)
	}
	if got[algo] != "weighted_random" || got[mit] != "on" {
		t.Errorf("after modify: %s=%q %s=%q", algo, got[algo], mit, got[mit])
	}
	for _, c := range []struct{ kv []string }{
		{[]string{algo, "round_robin"}}, // mitigation still on
		{[]string{algo, "least_outstanding_requests"}},
		{[]string{"slow_start.duration_seconds", "30"}},
		{[]string{"stickiness.enabled", "true"}},
	} {
		_, err := e.setTGAttrs(tg.TargetGroupArn, c.kv...)
		wantCode(t, err, "InvalidConfigurationRequest")
	}
	// Turning both off together is fine, and so is slow start afterwards.
	if _, err := e.setTGAttrs(tg.TargetGroupArn, mit, "off", algo, "round_robin", "slow_start.duration_seconds", "30"); err != nil {
		t.Fatal(err)
	}
	_, err = e.setTGAttrs(tg.TargetGroupArn, algo, "weighted_random")
	wantCode(t, err, "InvalidConfigurationRequest", "Slow start")
	// Network Load Balancer target groups have no such attribute.
	tcp := e.tg("tcp", types.ProtocolEnumTcp, types.TargetTypeEnumIp)
	_, err = e.setTGAttrs(tcp.TargetGroupArn, mit, "on")
	wantCode(t, err, "ValidationError", "is not recognized")
}

// TestDescribeTargetHealthInclude: AnomalyDetection comes only when Include
// asks for it (AnomalyDetection or All), normal/no until the data plane
// found otherwise.
func TestDescribeTargetHealthInclude(t *testing.T) {
	e := start(t)
	tg := e.tg("web", types.ProtocolEnumHttp, types.TargetTypeEnumIp)
	arn := aws.ToString(tg.TargetGroupArn)
	if _, err := e.c.RegisterTargets(e.ctx, &elb.RegisterTargetsInput{TargetGroupArn: tg.TargetGroupArn,
		Targets: []types.TargetDescription{target("127.0.0.91", 0), target("127.0.0.92", 0)}}); err != nil {
		t.Fatal(err)
	}
	_, err := e.h.Server.Store().Update(e.ctx, func(tx store.Tx) error {
		var rec store.TargetRecord
		key := store.TargetKey(arn[strings.LastIndex(arn, "/")+1:], "127.0.0.92", 8080)
		if _, _, err := store.GetJSON(tx, key, &rec); err != nil {
			return err
		}
		rec.Anomaly, rec.Mitigating = store.AnomalyAnomalous, true
		return store.PutJSON(tx, key, &rec)
	})
	if err != nil {
		t.Fatal(err)
	}
	describe := func(include ...types.DescribeTargetHealthInputIncludeEnum) []types.TargetHealthDescription {
		out, err := e.c.DescribeTargetHealth(e.ctx, &elb.DescribeTargetHealthInput{TargetGroupArn: tg.TargetGroupArn, Include: include})
		if err != nil {
			t.Fatal(err)
		}
		return out.TargetHealthDescriptions
	}
	for _, d := range describe() {
		if d.AnomalyDetection != nil {
			t.Errorf("%s: AnomalyDetection without Include", aws.ToString(d.Target.Id))
		}
	}
	for _, inc := range []types.DescribeTargetHealthInputIncludeEnum{
		types.DescribeTargetHealthInputIncludeEnumAnomaly, types.DescribeTargetHealthInputIncludeEnumAll,
	} {
		ds := describe(inc)
		if len(ds) != 2 || ds[0].AnomalyDetection == nil || ds[1].AnomalyDetection == nil {
			t.Fatalf("Include %s: %+v", inc, ds)
		}
		if a := ds[0].AnomalyDetection; a.Result != types.AnomalyResultEnumNormal || a.MitigationInEffect != types.MitigationInEffectEnumNo {
			t.Errorf("Include %s: untouched target %+v, want normal/no", inc, *a)
		}
		if a := ds[1].AnomalyDetection; a.Result != types.AnomalyResultEnumAnomalous || a.MitigationInEffect != types.MitigationInEffectEnumYes {
			t.Errorf("Include %s: anomalous target %+v, want anomalous/yes", inc, *a)
		}
	}
	_, err = e.c.DescribeTargetHealth(e.ctx, &elb.DescribeTargetHealthInput{TargetGroupArn: tg.TargetGroupArn, Include: []types.DescribeTargetHealthInputIncludeEnum{"Bogus"}})
	wantCode(t, err, "ValidationError", "enum value set")
}

// TestAnomalyDetectionEndToEnd: a target answering 500s behind a weighted
// random group with anomaly mitigation on shows anomalous, mitigation in
// effect, in DescribeTargetHealth — found by the data plane.
func TestAnomalyDetectionEndToEnd(t *testing.T) {
	e := start(t)
	tg := e.tg("web", types.ProtocolEnumHttp, types.TargetTypeEnumIp)
	arn := aws.ToString(tg.TargetGroupArn)
	if _, err := e.setTGAttrs(tg.TargetGroupArn, "load_balancing.algorithm.type", "weighted_random",
		"load_balancing.algorithm.anomaly_mitigation", "on"); err != nil {
		t.Fatal(err)
	}
	var targets []types.TargetDescription
	var badPort int32
	for i, name := range []string{"a", "b", "bad"} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if name == "bad" && r.Header.Get("User-Agent") != "ELB-HealthChecker/2.0" {
				w.WriteHeader(http.StatusInternalServerError)
				return
			}
			_, _ = io.WriteString(w, name)
		}))
		t.Cleanup(srv.Close)
		port := int32(srv.Listener.Addr().(*net.TCPAddr).Port)
		targets = append(targets, target("127.0.0.1", port))
		if i == 2 {
			badPort = port
		}
	}
	if _, err := e.c.RegisterTargets(e.ctx, &elb.RegisterTargetsInput{TargetGroupArn: tg.TargetGroupArn, Targets: targets}); err != nil {
		t.Fatal(err)
	}
	lb := e.alb("web")
	port := e.port()
	e.listener(aws.ToString(lb.LoadBalancerArn), port, types.ProtocolEnumHttp, forward(arn))
	url := "http://" + net.JoinHostPort(lbAddress, strconv.Itoa(int(port))) + "/"
	client := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, err := e.c.DescribeTargetHealth(e.ctx, &elb.DescribeTargetHealthInput{TargetGroupArn: tg.TargetGroupArn,
			Include: []types.DescribeTargetHealthInputIncludeEnum{types.DescribeTargetHealthInputIncludeEnumAnomaly}})
		if err != nil {
			t.Fatal(err)
		}
		var bad *types.AnomalyDetection
		for _, d := range out.TargetHealthDescriptions {
			if aws.ToInt32(d.Target.Port) == badPort {
				bad = d.AnomalyDetection
			} else if d.AnomalyDetection == nil || d.AnomalyDetection.Result != types.AnomalyResultEnumNormal {
				t.Fatalf("target %d: %+v, want normal", aws.ToInt32(d.Target.Port), d.AnomalyDetection)
			}
		}
		if bad != nil && bad.Result == types.AnomalyResultEnumAnomalous && bad.MitigationInEffect == types.MitigationInEffectEnumYes {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the 500-answering target was not found anomalous: %+v", bad)
		}
		for range 20 {
			if resp, err := client.Get(url); err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}
	}
}
