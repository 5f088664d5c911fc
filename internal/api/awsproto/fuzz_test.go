package awsproto

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/quayside/quayside/internal/errs"
	"github.com/quayside/quayside/internal/model"
)

// fuzzOps are operations with their generated request types, to check that
// what Validate accepts decodes.
var fuzzOps = []struct {
	op  string
	new func() any
}{
	{"RunTask", func() any { return new(model.RunTaskRequest) }},
	{"RegisterTaskDefinition", func() any { return new(model.RegisterTaskDefinitionRequest) }},
	{"DescribeClusters", func() any { return new(model.DescribeClustersRequest) }},
	{"CreateService", func() any { return new(model.CreateServiceRequest) }},
	{"UpdateService", func() any { return new(model.UpdateServiceRequest) }},
	{"ListClusters", func() any { return new(model.ListClustersRequest) }},
	{"PutAttributes", func() any { return new(model.PutAttributesRequest) }},
	{"TagResource", func() any { return new(model.TagResourceRequest) }},
	{"SubmitTaskStateChange", func() any { return new(model.SubmitTaskStateChangeRequest) }},
	{"CreateCapacityProvider", func() any { return new(model.CreateCapacityProviderRequest) }},
	{"StartTask", func() any { return new(model.StartTaskRequest) }},
}

func check4xx(t *testing.T, what string, err error, allowed ...errs.Code) {
	t.Helper()
	var e *errs.Error
	if !errors.As(err, &e) {
		t.Fatalf("%s: error %v (%T) is not *errs.Error", what, err, err)
	}
	if s := StatusOf(e.Code); s < 400 || s > 499 {
		t.Fatalf("%s: %s maps to HTTP %d", what, e.Code, s)
	}
	if len(allowed) == 0 {
		return
	}
	for _, c := range allowed {
		if e.Code == c {
			return
		}
	}
	t.Fatalf("%s: unexpected code %s: %s", what, e.Code, e.Message)
}

// FuzzValidate feeds arbitrary bodies to Validate and to the decoding
// handlers do (awsproto.Typed). Properties:
//   - no panic; every error is an *errs.Error of a 4xx kind;
//   - a body Validate accepts decodes into the generated request type;
//   - for members the model does not know, Validate agrees with
//     encoding/json on what is valid JSON.
func FuzzValidate(f *testing.F) {
	for _, seed := range []string{
		`{}`, `null`, `[]`, `{"taskDefinition":"x","count":3}`,
		`{"clusters":["a"],"include":["TAGS"]}`,
		`{"family":"f","containerDefinitions":[{"name":"a","portMappings":[{"containerPort":80}],"dockerLabels":{"k":"v"}}]}`,
		`{"taskDefinition":"\u00e9\ud800","Count":1e3}`,
		`{"resourceArn":"a","tags":[{"key":"k","value":"v"}]}`,
		`{"pullStartedAt":1.5,"attachments":[{"attachmentArn":"a","status":"s"}]}`,
		`{"x":[[[{"y":null}]]],"maxResults":-0}`,
	} {
		for i := range fuzzOps {
			f.Add([]byte(seed), uint8(i))
		}
	}
	m := mustValidationModel(f)
	m.Precompile()
	f.Fuzz(func(t *testing.T, body []byte, opIdx uint8) {
		op := fuzzOps[int(opIdx)%len(fuzzOps)]
		err := m.Validate(op.op, body)
		if err != nil {
			check4xx(t, "Validate", err, errs.Serialization, errs.InvalidParameter)
		} else {
			dst := op.new()
			if derr := json.Unmarshal(body, dst); derr != nil {
				t.Fatalf("Validate accepted %q for %s but decoding fails: %v", body, op.op, derr)
			}
		}
		// The decoding path handlers use never yields a non-4xx error.
		h := Typed(func(_ context.Context, in *model.RunTaskRequest) (*struct{}, error) { return &struct{}{}, nil })
		if _, herr := h(context.Background(), body); herr != nil {
			check4xx(t, "Typed", herr, errs.Serialization)
		}

		// Syntax agreement with encoding/json, through an unknown member.
		wrapped := append(append([]byte(`{"zzUnknownMember":`), body...), '}')
		werr := m.Validate("ListClusters", wrapped)
		if valid := json.Valid(wrapped); valid != (werr == nil) {
			t.Fatalf("json.Valid=%v but Validate: %v (body %q)", valid, werr, body)
		}
	})
}

// FuzzSigV4Parse throws arbitrary Authorization headers, dates, hosts and
// bodies at the verifier (no panic, only 4xx *errs.Error), and checks that
// requests the AWS SDK signs with arbitrary paths, queries and header
// values are accepted.
func FuzzSigV4Parse(f *testing.F) {
	good := "AWS4-HMAC-SHA256 Credential=" + testAKID + "/20261121/us-east-1/ecs/aws4_request, SignedHeaders=host;x-amz-date, Signature=" + strings.Repeat("ab", 32)
	f.Add(good, "20261121T171512Z", "127.0.0.1:5000", "/", "a=b&c=d", "v", []byte("{}"))
	f.Add("", "", "", "/", "", "", []byte(""))
	f.Add("Bearer x", "20261121T171512Z", "h", "/x/../y", "X-Amz-Signature=ab&X-Amz-Credential=a/b", "  a  b  ", []byte("x"))
	f.Add("AWS4-HMAC-SHA256 Credential=a/b/c/d/e/f,,,SignedHeaders=;;;,Signature=zz", "Mon, 02 Jan 2006 15:04:05 GMT", "[::1]:1", "/%2F%zz", "=&==&a", "\tx\t", []byte{0xff})
	auth := NewSigV4(testCreds, fixedClock(signTime))
	f.Fuzz(func(t *testing.T, authz, date, host, path, query, hval string, body []byte) {
		// 1. Arbitrary input: never panics, errors are 4xx.
		r := &http.Request{
			Method: http.MethodPost,
			Host:   host,
			Header: http.Header{},
			URL:    &url.URL{Path: path, RawPath: path, RawQuery: query},
		}
		r.ContentLength = int64(len(body))
		if authz != "" {
			r.Header.Set("Authorization", authz)
		}
		if date != "" {
			r.Header.Set("X-Amz-Date", date)
		}
		r.Header.Set("X-Custom", hval)
		if _, err := auth.Authenticate(r, body); err != nil {
			check4xx(t, "Authenticate", err, errs.MissingAuthToken, errs.IncompleteSignature, errs.InvalidSignature, errs.UnrecognizedClient)
		}

		// 2. A request the SDK signs is accepted.
		if !printable(hval) || !printable(path) || !printable(query) || strings.ContainsAny(path+query, "#?") {
			return
		}
		req, err := http.NewRequest(http.MethodPost, "http://127.0.0.1:5000/"+strings.TrimPrefix(path, "/")+"?"+query, strings.NewReader(string(body)))
		if err != nil {
			return
		}
		req.Header.Set("X-Custom", hval)
		req.Header.Set("X-Amz-Target", "AmazonEC2ContainerServiceV20141113.ListClusters")
		sum := sha256Hex(body)
		if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: testAKID, SecretAccessKey: testSecret},
			req, sum, "ecs", "us-east-1", signTime); err != nil {
			return
		}
		// What a server sees: Host out of the header map, values trimmed by
		// the wire parser.
		srvReq := httptest.NewRequest(http.MethodPost, req.URL.RequestURI(), strings.NewReader(string(body)))
		srvReq.Host = req.URL.Host
		srvReq.Header = req.Header.Clone()
		srvReq.Header.Set("X-Custom", strings.Trim(hval, " \t"))
		if _, err := auth.Authenticate(srvReq, body); err != nil {
			t.Fatalf("SDK-signed request rejected: %v\npath %q query %q header %q\n%s", err, path, query, hval, req.Header.Get("Authorization"))
		}
	})
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
