package awsproto

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"testing"

	"github.com/quayside/quayside/internal/errs"
)

// openAuth accepts every request as a caller of service.
type openAuth struct{ service string }

func (a openAuth) Authenticate(*http.Request, []byte) (Caller, error) {
	return Caller{AccessKeyID: "AKID", Region: "us-east-1", Service: a.service}, nil
}

// FuzzQueryDecode feeds arbitrary form bodies to the Query layer with the
// ELBv2 model. Properties: DecodeQuery, Validate and EncodeQueryResponse
// never panic; their errors are *errs.Error values that go on the wire as
// 4xx; what DecodeQuery returns is a JSON object; the XML written for it is
// well formed; and a whole request through the router (every operation
// implemented by an echo handler) never answers 5xx.
func FuzzQueryDecode(f *testing.F) {
	m := mustELBModel(f)
	ops := make([]string, 0, len(m.Operations))
	for op := range m.Operations {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	handlers := map[string]Handler{}
	for _, op := range ops {
		handlers[op] = func(_ context.Context, body []byte) (any, error) { return json.RawMessage(body), nil }
	}
	rt := NewRouter(Config{Auth: openAuth{"elasticloadbalancing"}, Account: testAccount, Logger: discardLogger()})
	rt.AddQuery(&QueryService{Model: m, Handlers: handlers})

	for _, s := range []string{
		"Name=web&Protocol=HTTP&Port=80&Matcher.HttpCode=200&Tags.member.1.Key=a&Tags.member.1.Value=b",
		"Names.member.1=a&Names.member.2=b&PageSize=10",
		"LoadBalancerArns=&Names.member.x=1&Names.member.0=2&Names.member.99999999999999999999=3",
		"ListenerArn=l&Priority=1&Conditions.member.1.Field=host-header&Conditions.member.1.HostHeaderConfig.Values.member.1=a.b" +
			"&Actions.member.1.Type=forward&Actions.member.1.ForwardConfig.TargetGroups.member.1.Weight=1" +
			"&Actions.member.1.AuthenticateOidcConfig.AuthenticationRequestExtraParams.entry.1.key=k" +
			"&Actions.member.1.AuthenticateOidcConfig.AuthenticationRequestExtraParams.entry.1.value=v",
		"Attributes.member.1.Key=deregistration_delay.timeout_seconds&Attributes.member.1.Value=30&TargetGroupArn=t",
		"Port=-1&HealthCheckEnabled=maybe&Targets.member.1.Port=1e3",
		"a..b=1&.=2&Tags.member.1=3&Tags=&Matcher=4&%zz",
	} {
		for i := range 4 {
			f.Add(uint8(i*13), s)
		}
	}
	f.Fuzz(func(t *testing.T, opIdx uint8, body string) {
		op := ops[int(opIdx)%len(ops)]
		form, err := url.ParseQuery(body)
		if err != nil {
			form = url.Values{}
		}
		js, err := m.DecodeQuery(op, form)
		if err != nil {
			queryCheck4xx(t, m, "DecodeQuery", err)
		} else {
			var v map[string]any
			if err := json.Unmarshal(js, &v); err != nil {
				t.Fatalf("DecodeQuery(%s) wrote invalid JSON %q: %v", op, js, err)
			}
			if err := m.Validate(op, js); err != nil {
				queryCheck4xx(t, m, "Validate", err)
			}
			doc, err := m.EncodeQueryResponse(op, json.RawMessage(js), "id")
			if err != nil {
				t.Fatalf("EncodeQueryResponse: %v", err)
			}
			dec := xml.NewDecoder(bytes.NewReader(doc))
			for {
				if _, err := dec.Token(); err == io.EOF {
					break
				} else if err != nil {
					t.Fatalf("XML not well formed: %v\n%s", err, doc)
				}
			}
		}
		full := "Action=" + url.QueryEscape(op) + "&Version=2015-12-01&" + body
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(full))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		rt.ServeHTTP(w, r)
		if w.Code >= 500 {
			t.Fatalf("%s %q: HTTP %d %s", op, body, w.Code, w.Body.String())
		}
	})
}

func queryCheck4xx(t *testing.T, m *Model, what string, err error) {
	t.Helper()
	var e *errs.Error
	if !errors.As(err, &e) {
		t.Fatalf("%s: %v (%T) is not *errs.Error", what, err, err)
	}
	if _, status, _ := QueryErrorOf(m, err); status < 400 || status > 499 {
		t.Fatalf("%s: %s maps to HTTP %d", what, e.Code, status)
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
