package awsproto

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/quayside/quayside/internal/errs"
)

const (
	testAKID    = "AKIDQUAYSIDETEST"
	testSecret  = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
	testAccount = "123456789012"
)

type staticCreds map[string][2]string // akid -> secret, account

func (c staticCreds) Lookup(akid string) (string, string, bool) {
	v, ok := c[akid]
	return v[0], v[1], ok
}

var testCreds = staticCreds{testAKID: {testSecret, testAccount}}

var signTime = time.Date(2026, 11, 21, 17, 15, 12, 0, time.UTC)

func fixedClock(t time.Time) func() time.Time { return func() time.Time { return t } }

// ecsModelForTest loads the real ECS model shipped with internal/api/ecs.
var ecsModelForTest = sync.OnceValues(func() (*Model, error) {
	raw, err := os.ReadFile(filepath.Join("..", "ecs", "ecs-2014-11-13.json.gz"))
	if err != nil {
		return nil, err
	}
	return LoadModel(raw)
})

func mustECSModel(t testing.TB) *Model {
	t.Helper()
	m, err := ecsModelForTest()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// newJSONRequest builds an ECS-style request the way botocore does.
func newJSONRequest(t testing.TB, url, target, body string) *http.Request {
	t.Helper()
	r, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Content-Type", "application/x-amz-json-1.1")
	r.Header.Set("X-Amz-Target", target)
	return r
}

func sdkSign(t testing.TB, r *http.Request, body string, at time.Time, akid, secret string) {
	t.Helper()
	sum := sha256.Sum256([]byte(body))
	err := v4.NewSigner().SignHTTP(context.Background(),
		aws.Credentials{AccessKeyID: akid, SecretAccessKey: secret},
		r, hex.EncodeToString(sum[:]), "ecs", "us-east-1", at)
	if err != nil {
		t.Fatal(err)
	}
}

// authServer runs the verifier behind a real net/http server, so Host and
// Content-Length handling is what production sees.
type authResult struct {
	caller Caller
	err    error
}

func authServer(t testing.TB, now time.Time) (*httptest.Server, <-chan authResult) {
	t.Helper()
	auth := NewSigV4(testCreds, fixedClock(now))
	ch := make(chan authResult, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		c, err := auth.Authenticate(r, body)
		ch <- authResult{c, err}
	}))
	t.Cleanup(srv.Close)
	return srv, ch
}

func roundTrip(t testing.TB, r *http.Request, ch <-chan authResult) authResult {
	t.Helper()
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return <-ch
}

func wantErr(t testing.TB, err error, code errs.Code, msg string) {
	t.Helper()
	var e *errs.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T), want *errs.Error %s", err, err, code)
	}
	if e.Code != code {
		t.Fatalf("code %s (%q), want %s", e.Code, e.Message, code)
	}
	if msg != "" && e.Message != msg {
		t.Fatalf("message\n got %q\nwant %q", e.Message, msg)
	}
	if s := StatusOf(e.Code); s < 400 || s > 499 {
		t.Fatalf("status %d for %s", s, e.Code)
	}
}

const mismatchMsg = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."

func TestSigV4AcceptsSDKSignedRequest(t *testing.T) {
	srv, ch := authServer(t, signTime)
	body := `{"clusters":["default"]}`
	r := newJSONRequest(t, srv.URL, "AmazonEC2ContainerServiceV20141113.DescribeClusters", body)
	// Headers the Go SDK has at signing time, all of which it signs.
	r.Header.Set("Amz-Sdk-Invocation-Id", "5b3a8f0e-5c0e-4a8e-9e1d-0d0f1b2c3d4e")
	r.Header.Set("Amz-Sdk-Request", "attempt=1; max=3")
	r.Header.Add("X-Multi", "a  b   c")
	r.Header.Add("X-Multi", " second ")
	sdkSign(t, r, body, signTime, testAKID, testSecret)
	if sh := r.Header.Get("Authorization"); !strings.Contains(sh, "content-length") || !strings.Contains(sh, "amz-sdk-invocation-id") || !strings.Contains(sh, "x-multi") {
		t.Fatalf("the SDK did not sign the headers this test is about: %s", sh)
	}
	res := roundTrip(t, r, ch)
	if res.err != nil {
		t.Fatal(res.err)
	}
	want := Caller{AccessKeyID: testAKID, Account: testAccount, Region: "us-east-1", Service: "ecs"}
	if res.caller != want {
		t.Fatalf("caller %+v, want %+v", res.caller, want)
	}
}

func TestSigV4UnsignedHeadersAddedAfterSigningAreIgnored(t *testing.T) {
	srv, ch := authServer(t, signTime)
	body := `{}`
	r := newJSONRequest(t, srv.URL, "AmazonEC2ContainerServiceV20141113.ListClusters", body)
	sdkSign(t, r, body, signTime, testAKID, testSecret)
	r.Header.Set("Amz-Sdk-Invocation-Id", "added-after-signing")
	r.Header.Set("User-Agent", "aws-cli/1.45.11")
	if res := roundTrip(t, r, ch); res.err != nil {
		t.Fatal(res.err)
	}
}

func TestSigV4Tampering(t *testing.T) {
	body := `{"clusters":["default"]}`
	target := "AmazonEC2ContainerServiceV20141113.DescribeClusters"
	cases := []struct {
		name   string
		mutate func(r *http.Request) *http.Request
		code   errs.Code
		msg    string
	}{
		{"body", func(r *http.Request) *http.Request {
			nb := `{"clusters":["other"]}`
			r.Body = io.NopCloser(strings.NewReader(nb))
			r.ContentLength = int64(len(nb))
			return r
		}, errs.InvalidSignature, mismatchMsg},
		{"signed header", func(r *http.Request) *http.Request {
			r.Header.Set("X-Amz-Target", "AmazonEC2ContainerServiceV20141113.DeleteCluster")
			return r
		}, errs.InvalidSignature, mismatchMsg},
		{"date by one second", func(r *http.Request) *http.Request {
			r.Header.Set("X-Amz-Date", signTime.Add(time.Second).Format(amzDateFormat))
			return r
		}, errs.InvalidSignature, mismatchMsg},
		{"date on another day", func(r *http.Request) *http.Request {
			r.Header.Set("X-Amz-Date", "20261120T171512Z")
			return r
		}, errs.InvalidSignature, "Signature expired: 20261120T171512Z is now earlier than 20261121T171012Z (20261121T171512Z - 5 min.)"},
		{"signature", func(r *http.Request) *http.Request {
			a := r.Header.Get("Authorization")
			r.Header.Set("Authorization", a[:len(a)-4]+"0000")
			return r
		}, errs.InvalidSignature, mismatchMsg},
		{"signature not hex", func(r *http.Request) *http.Request {
			a := r.Header.Get("Authorization")
			r.Header.Set("Authorization", a[:len(a)-4]+"zzzz")
			return r
		}, errs.InvalidSignature, mismatchMsg},
		{"host", func(r *http.Request) *http.Request {
			r.Host = "ecs.us-east-1.amazonaws.com"
			return r
		}, errs.InvalidSignature, mismatchMsg},
		{"content sha256 header lies", func(r *http.Request) *http.Request {
			r.Header.Set("X-Amz-Content-Sha256", sha256Hex([]byte("{}")))
			return r
		}, errs.InvalidSignature, mismatchMsg},
		{"unsigned payload", func(r *http.Request) *http.Request {
			r.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
			return r
		}, errs.InvalidSignature, mismatchMsg},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, ch := authServer(t, signTime)
			r := newJSONRequest(t, srv.URL, target, body)
			sdkSign(t, r, body, signTime, testAKID, testSecret)
			r = tc.mutate(r)
			res := roundTrip(t, r, ch)
			wantErr(t, res.err, tc.code, tc.msg)
		})
	}
}

func TestSigV4WrongSecretAndUnknownKey(t *testing.T) {
	body := `{}`
	srv, ch := authServer(t, signTime)
	r := newJSONRequest(t, srv.URL, "AmazonEC2ContainerServiceV20141113.ListClusters", body)
	sdkSign(t, r, body, signTime, testAKID, "not-the-secret")
	wantErr(t, roundTrip(t, r, ch).err, errs.InvalidSignature, mismatchMsg)

	r = newJSONRequest(t, srv.URL, "AmazonEC2ContainerServiceV20141113.ListClusters", body)
	sdkSign(t, r, body, signTime, "AKIDUNKNOWN", testSecret)
	wantErr(t, roundTrip(t, r, ch).err, errs.UnrecognizedClient, "The security token included in the request is invalid.")
}

func TestSigV4ClockSkew(t *testing.T) {
	body := `{}`
	cases := []struct {
		name string
		now  time.Time
		msg  string // "" means accepted
	}{
		{"exact", signTime, ""},
		{"server 5m ahead", signTime.Add(5 * time.Minute), ""},
		{"server 5m1s ahead", signTime.Add(5*time.Minute + time.Second),
			"Signature expired: 20261121T171512Z is now earlier than 20261121T171513Z (20261121T172013Z - 5 min.)"},
		{"server 5m behind", signTime.Add(-5 * time.Minute), ""},
		{"server 5m1s behind", signTime.Add(-5*time.Minute - time.Second),
			"Signature not yet current: 20261121T171512Z is still later than 20261121T171511Z (20261121T171011Z + 5 min.)"},
		{"server a day ahead", signTime.Add(24 * time.Hour),
			"Signature expired: 20261121T171512Z is now earlier than 20261122T171012Z (20261122T171512Z - 5 min.)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, ch := authServer(t, tc.now)
			r := newJSONRequest(t, srv.URL, "AmazonEC2ContainerServiceV20141113.ListClusters", body)
			sdkSign(t, r, body, signTime, testAKID, testSecret)
			res := roundTrip(t, r, ch)
			if tc.msg == "" {
				if res.err != nil {
					t.Fatal(res.err)
				}
				return
			}
			wantErr(t, res.err, errs.InvalidSignature, tc.msg)
		})
	}
}

// TestSigV4HostWithPort uses requests built in-process, so the Host value is
// whatever we choose, including odd ports and a Host header that differs from
// the URL.
func TestSigV4HostWithPort(t *testing.T) {
	auth := NewSigV4(testCreds, fixedClock(signTime))
	for _, host := range []string{"127.0.0.1:5000", "localhost:8443", "ecs.local", "[::1]:4566"} {
		body := `{}`
		r := httptest.NewRequest(http.MethodPost, "http://"+host+"/", strings.NewReader(body))
		r.Header.Set("X-Amz-Target", "AmazonEC2ContainerServiceV20141113.ListClusters")
		signReq := r.Clone(context.Background())
		signReq.URL.Host = host
		sdkSign(t, signReq, body, signTime, testAKID, testSecret)
		r.Header = signReq.Header
		if _, err := auth.Authenticate(r, []byte(body)); err != nil {
			t.Fatalf("%s: %v", host, err)
		}
		r.Host = strings.Split(host, ":")[0] + ":1"
		if _, err := auth.Authenticate(r, []byte(body)); errs.CodeOf(err) != errs.InvalidSignature {
			t.Fatalf("%s: port change: %v", host, err)
		}
	}
}

func TestSigV4QueryAndPath(t *testing.T) {
	for _, target := range []string{
		"/?b=2&a=1&a=0&empty=&sp=a%20b&tilde=~x&plus=a%2Bb",
		"/schedules/my%20name/x",
		"/a/b/../c",
		"/a//b/",
	} {
		srv, ch := authServer(t, signTime)
		r, err := http.NewRequest(http.MethodGet, srv.URL+target, nil)
		if err != nil {
			t.Fatal(err)
		}
		sdkSign(t, r, "", signTime, testAKID, testSecret)
		if res := roundTrip(t, r, ch); res.err != nil {
			t.Fatalf("%s: %v", target, res.err)
		}
	}
}

func TestSigV4Presigned(t *testing.T) {
	srv, ch := authServer(t, signTime.Add(10*time.Minute))
	r, _ := http.NewRequest(http.MethodGet, srv.URL+"/?Action=Test", nil)
	sum := sha256.Sum256(nil)
	u, _, err := v4.NewSigner().PresignHTTP(context.Background(),
		aws.Credentials{AccessKeyID: testAKID, SecretAccessKey: testSecret},
		r, hex.EncodeToString(sum[:]), "ecs", "us-east-1", signTime)
	if err != nil {
		t.Fatal(err)
	}
	// The SDK leaves X-Amz-Expires to the caller; add it as the signed
	// query would carry it.
	r2, _ := http.NewRequest(http.MethodGet, u, nil)
	q := r2.URL.Query()
	if q.Get("X-Amz-Expires") == "" {
		r.URL.RawQuery += "&X-Amz-Expires=900"
		u, _, err = v4.NewSigner().PresignHTTP(context.Background(),
			aws.Credentials{AccessKeyID: testAKID, SecretAccessKey: testSecret},
			r, hex.EncodeToString(sum[:]), "ecs", "us-east-1", signTime)
		if err != nil {
			t.Fatal(err)
		}
		r2, _ = http.NewRequest(http.MethodGet, u, nil)
	}
	res := roundTrip(t, r2, ch)
	if res.err != nil {
		t.Fatal(res.err)
	}
	if res.caller.AccessKeyID != testAKID {
		t.Fatalf("caller %+v", res.caller)
	}

	// Past X-Amz-Expires.
	srv2, ch2 := authServer(t, signTime.Add(16*time.Minute))
	r3, _ := http.NewRequest(http.MethodGet, srv2.URL+r2.URL.RequestURI(), nil)
	r3.Host = r2.URL.Host
	wantErr(t, roundTrip(t, r3, ch2).err, errs.InvalidSignature, "")
}

// TestSigV4KnownVector is the get-vanilla case of the AWS SigV4 test suite.
func TestSigV4KnownVector(t *testing.T) {
	creds := staticCreds{"AKIDEXAMPLE": {"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "111122223333"}}
	when, _ := time.Parse(amzDateFormat, "20150830T123600Z")
	auth := NewSigV4(creds, fixedClock(when))
	r := httptest.NewRequest(http.MethodGet, "http://example.amazonaws.com/", nil)
	r.Header.Set("X-Amz-Date", "20150830T123600Z")
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")
	c, err := auth.Authenticate(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Service != "service" || c.Region != "us-east-1" || c.Account != "111122223333" {
		t.Fatalf("caller %+v", c)
	}
}

func TestSigV4MalformedAuthorization(t *testing.T) {
	auth := NewSigV4(testCreds, fixedClock(signTime))
	good := "AWS4-HMAC-SHA256 Credential=" + testAKID + "/20261121/us-east-1/ecs/aws4_request, SignedHeaders=host;x-amz-date, Signature=" + strings.Repeat("0", 64)
	cases := []struct {
		name   string
		authz  string
		noDate bool
		date   string
		code   errs.Code
		msg    string
	}{
		{name: "none", authz: "", code: errs.MissingAuthToken, msg: "Missing Authentication Token"},
		{name: "bearer", authz: "Bearer abc.def", code: errs.IncompleteSignature,
			msg: "'abc.def' not a valid key=value pair (missing equal-sign) in Authorization header: 'Bearer abc.def'."},
		{name: "space in access key", authz: "AWS4-HMAC-SHA256 Credential=AKID /20261121/us-east-1/ecs/aws4_request, SignedHeaders=host;x-amz-date, Signature=00",
			code: errs.IncompleteSignature,
			msg:  "'/20261121/us-east-1/ecs/aws4_request' not a valid key=value pair (missing equal-sign) in Authorization header: 'AWS4-HMAC-SHA256 Credential=AKID /20261121/us-east-1/ecs/aws4_request, SignedHeaders=host;x-amz-date, Signature=00'."},
		{name: "token only", authz: "eyJhbGciOi", code: errs.IncompleteSignature,
			msg: "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization=eyJhbGciOi"},
		{name: "credential only", authz: "AWS4-HMAC-SHA256 Credential=ABCDEF", code: errs.IncompleteSignature,
			msg: "Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization=AWS4-HMAC-SHA256 Credential=ABCDEF"},
		{name: "no date", authz: good, noDate: true, code: errs.IncompleteSignature,
			msg: "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=" + good},
		{name: "bad date", authz: good, date: "yesterday", code: errs.IncompleteSignature,
			msg: "Date must be in ISO-8601 'basic format'. Got 'yesterday'. See http://en.wikipedia.org/wiki/ISO_8601"},
		{name: "short credential", authz: strings.Replace(good, "/ecs/aws4_request", "/aws4_request", 1), code: errs.IncompleteSignature,
			msg: "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '" + testAKID + "/20261121/us-east-1/aws4_request'"},
		{name: "terminator", authz: strings.Replace(good, "aws4_request", "aws5_request", 1), code: errs.InvalidSignature,
			msg: "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws5_request'."},
		{name: "host not signed", authz: strings.Replace(good, "host;", "", 1), code: errs.InvalidSignature,
			msg: "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."},
		{name: "algorithm", authz: strings.Replace(good, "AWS4-HMAC-SHA256", "AWS4-HMAC-SHA512", 1), code: errs.IncompleteSignature,
			msg: "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA512' (only AWS4-HMAC-SHA256 for now)."},
		{name: "trailing slash in credential", authz: strings.Replace(good, "aws4_request,", "aws4_request/,", 1), code: errs.InvalidSignature, msg: mismatchMsg},
		{name: "bad scope", authz: strings.Replace(good, "/20261121/us-east-1/ecs/aws4_request", "/20261120/US_East/ecs/aws5_request", 1), code: errs.InvalidSignature,
			msg: "Credential should be scoped to a valid region, not 'US_East'. Credential should be scoped with a valid terminator: 'aws4_request', not 'aws5_request'. Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20261120' != '20261121', from '20261121T171512Z'."},
		{name: "unknown key", authz: strings.Replace(good, testAKID, "AKIDNOPE", 1), code: errs.UnrecognizedClient, msg: "The security token included in the request is invalid."},
		{name: "skew wins over unknown key", authz: strings.Replace(good, testAKID, "AKIDNOPE", 1), date: "20261121T160000Z", code: errs.InvalidSignature,
			msg: "Signature expired: 20261121T160000Z is now earlier than 20261121T171012Z (20261121T171512Z - 5 min.)"},
		{name: "zero signature", authz: good, code: errs.InvalidSignature, msg: mismatchMsg},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:5000/", strings.NewReader("{}"))
			if tc.authz != "" {
				r.Header.Set("Authorization", tc.authz)
			}
			switch {
			case tc.date != "":
				r.Header.Set("X-Amz-Date", tc.date)
			case !tc.noDate:
				r.Header.Set("X-Amz-Date", signTime.Format(amzDateFormat))
			}
			_, err := auth.Authenticate(r, []byte("{}"))
			wantErr(t, err, tc.code, tc.msg)
		})
	}
}

func TestSigV4DateHeaderFallback(t *testing.T) {
	auth := NewSigV4(testCreds, fixedClock(signTime))
	body := []byte("{}")
	r := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:5000/", bytes.NewReader(body))
	r.Header.Set("Date", signTime.Format(http.TimeFormat))
	// Compute the signature by hand: the SDK always uses X-Amz-Date.
	canon := canonicalRequest("POST", "/", "", "date:"+signTime.Format(http.TimeFormat)+"\nhost:127.0.0.1:5000\n",
		[]string{"date", "host"}, sha256Hex(body))
	sts := "AWS4-HMAC-SHA256\n20261121T171512Z\n20261121/us-east-1/ecs/aws4_request\n" + sha256Hex([]byte(canon))
	sig := hex.EncodeToString(hmacSHA256(signingKey(testSecret, "20261121", "us-east-1", "ecs"), sts))
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+testAKID+"/20261121/us-east-1/ecs/aws4_request, SignedHeaders=date;host, Signature="+sig)
	if _, err := auth.Authenticate(r, body); err != nil {
		t.Fatal(err)
	}
}

// --- real clients against a Router -------------------------------------

func ecsTestRouter(t testing.TB, now func() time.Time) *Router {
	t.Helper()
	rt := NewRouter(Config{Auth: NewSigV4(testCreds, now), Account: testAccount})
	rt.AddJSON(&JSONService{
		Model: mustECSModel(t),
		Handlers: map[string]Handler{
			"ListClusters": func(ctx context.Context, body []byte) (any, error) {
				c, _ := CallerFrom(ctx)
				return map[string]any{"clusterArns": []string{
					"arn:aws:ecs:" + c.Region + ":" + c.Account + ":cluster/quayside-test",
				}}, nil
			},
		},
	})
	return rt
}

func TestSigV4GoSDKClient(t *testing.T) {
	srv := httptest.NewServer(ecsTestRouter(t, time.Now))
	defer srv.Close()
	client := ecs.New(ecs.Options{
		Region:       "eu-west-3",
		BaseEndpoint: aws.String(srv.URL),
		Credentials:  credentials.NewStaticCredentialsProvider(testAKID, testSecret, ""),
	})
	out, err := client.ListClusters(context.Background(), &ecs.ListClustersInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.ClusterArns) != 1 || out.ClusterArns[0] != "arn:aws:ecs:eu-west-3:"+testAccount+":cluster/quayside-test" {
		t.Fatalf("clusterArns %v", out.ClusterArns)
	}

	bad := ecs.New(ecs.Options{
		Region:       "eu-west-3",
		BaseEndpoint: aws.String(srv.URL),
		Credentials:  credentials.NewStaticCredentialsProvider(testAKID, "wrong", ""),
	})
	_, err = bad.ListClusters(context.Background(), &ecs.ListClustersInput{})
	if err == nil || !strings.Contains(err.Error(), "InvalidSignatureException") {
		t.Fatalf("wrong secret: %v", err)
	}
}

func runCLI(t *testing.T, bin, endpoint, secret string, args ...string) (string, error) {
	t.Helper()
	home := t.TempDir()
	cmd := exec.Command(bin, append([]string{"--endpoint-url", endpoint, "--region", "us-east-1", "--output", "json"}, args...)...)
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") && !strings.HasPrefix(kv, "HOME=") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env,
		"AWS_ACCESS_KEY_ID="+testAKID,
		"AWS_SECRET_ACCESS_KEY="+secret,
		"AWS_CONFIG_FILE="+filepath.Join(home, "config"),
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(home, "credentials"),
		"AWS_PAGER=",
		"AWS_MAX_ATTEMPTS=1",
		"AWS_EC2_METADATA_DISABLED=true",
		"HOME="+home,
	)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func testCLI(t *testing.T, bin string) {
	srv := httptest.NewServer(ecsTestRouter(t, time.Now))
	defer srv.Close()
	out, err := runCLI(t, bin, srv.URL, testSecret, "ecs", "list-clusters")
	if err != nil {
		t.Fatalf("%s ecs list-clusters: %v\n%s", bin, err, out)
	}
	var got struct{ ClusterArns []string }
	if err := json.Unmarshal([]byte(out), &got); err != nil || len(got.ClusterArns) != 1 ||
		got.ClusterArns[0] != "arn:aws:ecs:us-east-1:"+testAccount+":cluster/quayside-test" {
		t.Fatalf("%s output: %v\n%s", bin, err, out)
	}

	out, err = runCLI(t, bin, srv.URL, "wrong-secret", "ecs", "list-clusters")
	if err == nil || !strings.Contains(out, "InvalidSignatureException") || !strings.Contains(out, "does not match the signature you provided") {
		t.Fatalf("%s with a wrong secret: %v\n%s", bin, err, out)
	}
}

func TestSigV4AWSCLIv1(t *testing.T) {
	bin, err := exec.LookPath("aws")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("aws CLI not on PATH")
		}
		t.Skip("aws CLI not on PATH")
	}
	testCLI(t, bin)
}

func TestSigV4AWSCLIv2(t *testing.T) {
	const bin = "/usr/bin/aws"
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("/usr/bin/aws (aws-cli v2) is missing")
		}
		t.Skip("/usr/bin/aws (aws-cli v2) is missing")
	}
	testCLI(t, bin)
}

func BenchmarkSigV4(b *testing.B) {
	auth := NewSigV4(testCreds, fixedClock(signTime))
	body := `{"clusters":["default"]}`
	r := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:5000/", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-amz-json-1.1")
	r.Header.Set("X-Amz-Target", "AmazonEC2ContainerServiceV20141113.DescribeClusters")
	sdkSign(b, r, body, signTime, testAKID, testSecret)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := auth.Authenticate(r, []byte(body)); err != nil {
			b.Fatal(err)
		}
	}
}

func TestSigV4ScopeDateMismatchAcrossMidnight(t *testing.T) {
	now := time.Date(2026, 11, 21, 0, 1, 0, 0, time.UTC)
	auth := NewSigV4(testCreds, fixedClock(now))
	r := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:5000/", strings.NewReader("{}"))
	r.Header.Set("X-Amz-Date", "20261121T000100Z")
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+testAKID+"/20261120/us-east-1/ecs/aws4_request, SignedHeaders=host;x-amz-date, Signature="+strings.Repeat("a", 64))
	_, err := auth.Authenticate(r, []byte("{}"))
	wantErr(t, err, errs.InvalidSignature, "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20261120' != '20261121', from '20261121T000100Z'.")
}
