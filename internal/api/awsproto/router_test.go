package awsproto

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/quayside/quayside/internal/errs"
	"github.com/quayside/quayside/internal/model"
)

const ecsTarget = "AmazonEC2ContainerServiceV20141113."

// routerServer serves the ECS model with ListClusters and RunTask
// implemented and the given body limit.
func routerServer(t *testing.T, maxBody int64) *httptest.Server {
	t.Helper()
	rt := NewRouter(Config{Auth: NewSigV4(testCreds, time.Now), Account: testAccount, MaxBody: maxBody})
	rt.AddJSON(&JSONService{
		Model: mustValidationModel(t),
		Handlers: map[string]Handler{
			"ListClusters": func(ctx context.Context, body []byte) (any, error) {
				return map[string]any{"clusterArns": []string{}}, nil
			},
			"RunTask": Typed(func(ctx context.Context, in *model.RunTaskRequest) (*model.RunTaskResponse, error) {
				if in.TaskDefinition == "missing" {
					return nil, errs.New(errs.ClusterNotFound, "Cluster not found.")
				}
				if in.TaskDefinition == "boom" {
					return nil, io.ErrUnexpectedEOF // not an *errs.Error
				}
				return &model.RunTaskResponse{}, nil
			}),
		},
	})
	srv := httptest.NewServer(rt)
	t.Cleanup(srv.Close)
	return srv
}

type apiResponse struct {
	status    int
	requestID string
	ctype     string
	errType   string
	message   string
	raw       string
}

func call(t *testing.T, srv *httptest.Server, target, body string, sign bool) apiResponse {
	t.Helper()
	r := newJSONRequest(t, srv.URL, target, body)
	if sign {
		sdkSign(t, r, body, time.Now(), testAKID, testSecret)
	}
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := apiResponse{
		status:    resp.StatusCode,
		requestID: resp.Header.Get("x-amzn-RequestId"),
		ctype:     resp.Header.Get("Content-Type"),
		raw:       string(raw),
	}
	if resp.StatusCode != http.StatusOK {
		var e map[string]any
		if err := json.Unmarshal(raw, &e); err != nil {
			t.Fatalf("error body is not JSON: %q", raw)
		}
		out.errType, _ = e["__type"].(string)
		out.message, _ = e["message"].(string)
		if out.errType == "" || out.message == "" {
			t.Fatalf("error body lacks __type or message: %s", raw)
		}
	}
	if out.requestID == "" {
		t.Fatalf("no x-amzn-RequestId on a %d response", resp.StatusCode)
	}
	return out
}

func TestRouterResponses(t *testing.T) {
	srv := routerServer(t, 0)
	cases := []struct {
		name    string
		target  string
		body    string
		unsign  bool
		status  int
		errType string
		msg     string // substring
	}{
		{name: "ok", target: ecsTarget + "ListClusters", body: `{}`, status: 200},
		{name: "typed handler", target: ecsTarget + "RunTask", body: `{"taskDefinition":"web"}`, status: 200},
		{name: "unknown prefix", target: "DynamoDB_20120810.ListTables", body: `{}`, status: 400,
			errType: "UnknownOperationException", msg: "DynamoDB_20120810.ListTables"},
		{name: "unknown operation", target: ecsTarget + "FlyToTheMoon", body: `{}`, status: 400,
			errType: "UnknownOperationException", msg: "FlyToTheMoon"},
		{name: "no target", target: "", body: `{}`, status: 400, errType: "UnknownOperationException"},
		{name: "model operation without handler", target: ecsTarget + "DeleteCluster", body: `{"cluster":"x"}`, status: 400,
			errType: "UnsupportedFeatureException", msg: "DeleteCluster"},
		{name: "validation", target: ecsTarget + "RunTask", body: `{}`, status: 400,
			errType: "InvalidParameterException", msg: "1 validation error detected: Value null at 'taskDefinition' failed to satisfy constraint: Member must not be null"},
		{name: "serialization", target: ecsTarget + "RunTask", body: `{"taskDefinition":1}`, status: 400,
			errType: "SerializationException", msg: "NUMBER_VALUE cannot be converted to String at 'taskDefinition'"},
		{name: "malformed", target: ecsTarget + "RunTask", body: `{"taskDefinition":`, status: 400, errType: "SerializationException"},
		{name: "handler error", target: ecsTarget + "RunTask", body: `{"taskDefinition":"missing"}`, status: 400,
			errType: "ClusterNotFoundException", msg: "Cluster not found."},
		{name: "internal error", target: ecsTarget + "RunTask", body: `{"taskDefinition":"boom"}`, status: 500,
			errType: "ServerException"},
		{name: "unsigned", target: ecsTarget + "ListClusters", body: `{}`, unsign: true, status: 403,
			errType: "MissingAuthenticationTokenException", msg: "Missing Authentication Token"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := call(t, srv, tc.target, tc.body, !tc.unsign)
			if got.status != tc.status || got.errType != tc.errType || !strings.Contains(got.message, tc.msg) {
				t.Fatalf("got %d %s %q (%s), want %d %s %q", got.status, got.errType, got.message, got.raw, tc.status, tc.errType, tc.msg)
			}
			if !strings.HasPrefix(got.ctype, "application/x-amz-json-1.1") {
				t.Fatalf("Content-Type %q", got.ctype)
			}
		})
	}
}

func TestRouterRequestIDsAreUnique(t *testing.T) {
	srv := routerServer(t, 0)
	seen := map[string]bool{}
	for i := 0; i < 20; i++ {
		id := call(t, srv, ecsTarget+"ListClusters", `{}`, true).requestID
		if seen[id] {
			t.Fatalf("request id %s repeated", id)
		}
		seen[id] = true
	}
}

func TestRouterBodyLimit(t *testing.T) {
	srv := routerServer(t, 64)
	small := `{"taskDefinition":"web"}`
	if got := call(t, srv, ecsTarget+"RunTask", small, true); got.status != 200 {
		t.Fatalf("small body: %d %s", got.status, got.raw)
	}
	big := `{"taskDefinition":"` + strings.Repeat("x", 100) + `"}`
	got := call(t, srv, ecsTarget+"RunTask", big, true)
	if got.status != http.StatusRequestEntityTooLarge || got.errType != "RequestEntityTooLargeException" {
		t.Fatalf("big body: %d %s", got.status, got.raw)
	}
	// A body over the limit is refused before authentication: unsigned
	// gets the same answer.
	if got := call(t, srv, ecsTarget+"RunTask", big, false); got.status != http.StatusRequestEntityTooLarge {
		t.Fatalf("big unsigned body: %d %s", got.status, got.raw)
	}
}

func TestRouterMethodNotPost(t *testing.T) {
	srv := routerServer(t, 0)
	resp, err := http.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusForbidden || resp.Header.Get("x-amzn-RequestId") == "" || !strings.Contains(string(raw), "MissingAuthenticationTokenException") {
		t.Fatalf("GET: %d %s", resp.StatusCode, raw)
	}
}

func TestStatusOf(t *testing.T) {
	for code, want := range map[errs.Code]int{
		errs.Server:                500,
		errs.InternalFailure:       500,
		errs.MissingAuthToken:      403,
		errs.RequestEntityTooLarge: 413,
		errs.InvalidSignature:      400,
		errs.IncompleteSignature:   400,
		errs.UnrecognizedClient:    400,
		errs.Serialization:         400,
		errs.InvalidParameter:      400,
		errs.UnknownOperation:      400,
		errs.UnsupportedFeature:    400,
	} {
		if got := StatusOf(code); got != want {
			t.Errorf("StatusOf(%s) = %d, want %d", code, got, want)
		}
	}
}
