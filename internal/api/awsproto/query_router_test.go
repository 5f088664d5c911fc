package awsproto

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/smithy-go"

	"github.com/quayside/quayside/internal/errs"
)

// queryServer serves the ELBv2 model with two operations implemented.
func queryServer(t *testing.T) *httptest.Server {
	t.Helper()
	rt := NewRouter(Config{Auth: NewSigV4(testCreds, time.Now), Account: testAccount})
	rt.AddQuery(&QueryService{
		Model: mustELBModel(t),
		Handlers: map[string]Handler{
			"DescribeLoadBalancers": func(ctx context.Context, body []byte) (any, error) {
				var in struct{ Names []string }
				if err := json.Unmarshal(body, &in); err != nil {
					return nil, err
				}
				if len(in.Names) > 0 && in.Names[0] == "missing" {
					return nil, errs.New("LoadBalancerNotFoundException", "Load balancers '[missing]' not found")
				}
				if len(in.Names) > 0 && in.Names[0] == "boom" {
					return nil, io.ErrUnexpectedEOF
				}
				c, _ := CallerFrom(ctx)
				return map[string]any{
					"LoadBalancers": []any{map[string]any{
						"LoadBalancerName": strings.Join(in.Names, ","), "LoadBalancerArn": "arn:" + c.Service,
						"CreatedTime": 1795281312.345, "Type": "application",
						"State":             map[string]any{"Code": "active"},
						"AvailabilityZones": []any{map[string]any{"ZoneName": "us-east-1a"}},
						"SecurityGroups":    []any{},
						"Unknown":           "dropped",
					}},
				}, nil
			},
			"DeleteLoadBalancer": func(ctx context.Context, body []byte) (any, error) { return struct{}{}, nil },
		},
	})
	srv := httptest.NewServer(rt)
	t.Cleanup(srv.Close)
	return srv
}

func elbClient(url, akid, secret string) *elb.Client {
	return elb.NewFromConfig(aws.Config{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(url),
		Credentials:      credentials.NewStaticCredentialsProvider(akid, secret, ""),
		RetryMaxAttempts: 1,
	})
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func TestQueryRouterSDK(t *testing.T) {
	srv := queryServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := elbClient(srv.URL, testAKID, testSecret)

	out, err := c.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{Names: []string{"a", "b"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.LoadBalancers) != 1 {
		t.Fatalf("%+v", out)
	}
	lb := out.LoadBalancers[0]
	if aws.ToString(lb.LoadBalancerName) != "a,b" || aws.ToString(lb.LoadBalancerArn) != "arn:elasticloadbalancing" ||
		lb.State.Code != elbtypes.LoadBalancerStateEnumActive || len(lb.AvailabilityZones) != 1 ||
		aws.ToString(lb.AvailabilityZones[0].ZoneName) != "us-east-1a" || lb.Type != elbtypes.LoadBalancerTypeEnumApplication ||
		!lb.CreatedTime.Equal(time.UnixMilli(1795281312345)) {
		t.Errorf("%+v", lb)
	}
	if _, err := c.DeleteLoadBalancer(ctx, &elb.DeleteLoadBalancerInput{LoadBalancerArn: aws.String("x")}); err != nil {
		t.Fatal(err)
	}

	// A model exception arrives as the SDK's typed error.
	_, err = c.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{Names: []string{"missing"}})
	var nf *elbtypes.LoadBalancerNotFoundException
	if !errors.As(err, &nf) || !strings.Contains(nf.ErrorMessage(), "not found") {
		t.Errorf("missing: %v", err)
	}
	for _, c := range []struct {
		name string
		call func() error
		code string
	}{
		{"validation", func() error {
			_, err := c.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{PageSize: aws.Int32(0)})
			return err
		}, "ValidationError"},
		{"unimplemented", func() error {
			_, err := c.DescribeAccountLimits(ctx, &elb.DescribeAccountLimitsInput{})
			return err
		}, "InvalidAction"},
		{"internal", func() error {
			_, err := c.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{Names: []string{"boom"}})
			return err
		}, "InternalFailure"},
		{"wrong secret", func() error {
			_, err := elbClient(srv.URL, testAKID, "nope").DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{})
			return err
		}, "SignatureDoesNotMatch"},
		{"unknown key", func() error {
			_, err := elbClient(srv.URL, "AKIDUNKNOWN", "x").DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{})
			return err
		}, "InvalidClientTokenId"},
	} {
		if err := c.call(); apiCode(err) != c.code {
			t.Errorf("%s: %v, want %s", c.name, err, c.code)
		}
	}
}

type rawQueryResponse struct {
	status int
	ctype  string
	code   string
	typ    string
	msg    string
}

func postForm(t *testing.T, url, body string, hdr map[string]string) rawQueryResponse {
	t.Helper()
	r, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	return sendQuery(t, r)
}

// sendQuery sends r and reads the Query error envelope of the answer.
func sendQuery(t *testing.T, r *http.Request) rawQueryResponse {
	t.Helper()
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var e struct {
		Error struct{ Type, Code, Message string }
	}
	_ = xml.Unmarshal(raw, &e)
	return rawQueryResponse{resp.StatusCode, resp.Header.Get("Content-Type"), e.Error.Code, e.Error.Type, e.Error.Message}
}

func TestQueryRouterAuthErrors(t *testing.T) {
	srv := queryServer(t)
	body := "Action=DescribeLoadBalancers&Version=2015-12-01"
	cases := []struct {
		name   string
		hdr    map[string]string
		status int
		code   string
	}{
		{"no auth", nil, 403, "MissingAuthenticationToken"},
		{"malformed", map[string]string{"Authorization": "AWS4-HMAC-SHA256 Credential", "X-Amz-Date": "20261121T171512Z"}, 400, "IncompleteSignature"},
	}
	for _, c := range cases {
		got := postForm(t, srv.URL, body, c.hdr)
		if got.status != c.status || got.code != c.code || got.typ != "Sender" || got.ctype != "text/xml" || got.msg == "" {
			t.Errorf("%s: %+v, want %d %s", c.name, got, c.status, c.code)
		}
	}
}

// signedForm sends a form body signed for service.
func signedForm(t *testing.T, url, service, body string) rawQueryResponse {
	t.Helper()
	r, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	signFor(t, r, body, service)
	return sendQuery(t, r)
}

func TestQueryRouterProtocolErrors(t *testing.T) {
	srv := queryServer(t)
	for _, c := range []struct {
		service, body string
		status        int
		code          string
	}{
		{"elasticloadbalancing", "Action=DescribeLoadBalancers&Version=2015-12-01", 200, ""},
		{"elasticloadbalancing", "Action=DescribeLoadBalancers&Version=2011-01-01", 400, "NoSuchVersion"},
		{"elasticloadbalancing", "Action=DescribeLoadBalancers", 400, "MissingParameter"},
		{"elasticloadbalancing", "Version=2015-12-01", 400, "MissingAction"},
		{"elasticloadbalancing", "Action=Nope&Version=2015-12-01", 400, "InvalidAction"},
		{"autoscaling", "Action=DescribeTags&Version=2011-01-01", 400, "InvalidAction"},
		{"elasticloadbalancing", "Action=DescribeLoadBalancers&Version=2015-12-01&PageSize=0", 400, "ValidationError"},
		{"elasticloadbalancing", "Action=DescribeLoadBalancers&Version=2015-12-01&PageSize=x", 400, "ValidationError"},
		{"elasticloadbalancing", "Action=DescribeLoadBalancers&Version=2015-12-01&%zz", 400, "MalformedQueryString"},
	} {
		got := signedForm(t, srv.URL, c.service, c.body)
		if got.status != c.status || got.code != c.code {
			t.Errorf("%s %q: %+v, want %d %s", c.service, c.body, got, c.status, c.code)
		}
	}
}

func signFor(t testing.TB, r *http.Request, body, service string) {
	t.Helper()
	sum := sha256.Sum256([]byte(body))
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: testAKID, SecretAccessKey: testSecret},
		r, hex.EncodeToString(sum[:]), service, "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
}
