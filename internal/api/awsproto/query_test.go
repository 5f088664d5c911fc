package awsproto

import (
	"encoding/json"
	"encoding/xml"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/quayside/quayside/internal/errs"
)

// elbModelForTest loads the real ELBv2 model shipped with internal/api/elbv2.
var elbModelForTest = sync.OnceValues(func() (*Model, error) {
	raw, err := os.ReadFile(filepath.Join("..", "elbv2", "elasticloadbalancingv2-2015-12-01.json.gz"))
	if err != nil {
		return nil, err
	}
	m, err := LoadModel(raw)
	if err == nil {
		m.ValidationErrorCode = "ValidationError"
	}
	return m, err
})

func mustELBModel(t testing.TB) *Model {
	t.Helper()
	m, err := elbModelForTest()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func decodeForm(t *testing.T, m *Model, op, body string) map[string]any {
	t.Helper()
	form, err := url.ParseQuery(body)
	if err != nil {
		t.Fatal(err)
	}
	js, err := m.DecodeQuery(op, form)
	if err != nil {
		t.Fatalf("DecodeQuery: %v", err)
	}
	var v map[string]any
	if err := json.Unmarshal(js, &v); err != nil {
		t.Fatalf("not JSON: %s: %v", js, err)
	}
	return v
}

func TestDecodeQueryELB(t *testing.T) {
	m := mustELBModel(t)
	got := decodeForm(t, m, "CreateTargetGroup", "Action=CreateTargetGroup&Version=2015-12-01&Name=web&Protocol=HTTP&Port=80"+
		"&HealthCheckEnabled=TRUE&HealthCheckIntervalSeconds=10&Matcher.HttpCode=200-299"+
		"&Tags.member.2.Key=b&Tags.member.2.Value=2&Tags.member.1.Key=a&Unknown.Param=1")
	want := map[string]any{
		"Name": "web", "Protocol": "HTTP", "Port": 80.0, "HealthCheckEnabled": true, "HealthCheckIntervalSeconds": 10.0,
		"Matcher": map[string]any{"HttpCode": "200-299"},
		"Tags":    []any{map[string]any{"Key": "a"}, map[string]any{"Key": "b", "Value": "2"}},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("CreateTargetGroup (-want +got):\n%s", d)
	}

	// Elements ordered by index (10 after 2), an empty list, nested lists.
	got = decodeForm(t, m, "DescribeLoadBalancers", "Names.member.10=c&Names.member.2=b&Names.member.1=a&LoadBalancerArns=")
	want = map[string]any{"Names": []any{"a", "b", "c"}, "LoadBalancerArns": []any{}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("DescribeLoadBalancers (-want +got):\n%s", d)
	}
	got = decodeForm(t, m, "CreateRule", "ListenerArn=l&Priority=5"+
		"&Conditions.member.1.Field=path-pattern&Conditions.member.1.PathPatternConfig.Values.member.1=%2Fapi%2F*"+
		"&Actions.member.1.Type=forward&Actions.member.1.ForwardConfig.TargetGroups.member.1.TargetGroupArn=tg&Actions.member.1.ForwardConfig.TargetGroups.member.1.Weight=3")
	want = map[string]any{
		"ListenerArn": "l", "Priority": 5.0,
		"Conditions": []any{map[string]any{"Field": "path-pattern", "PathPatternConfig": map[string]any{"Values": []any{"/api/*"}}}},
		"Actions": []any{map[string]any{"Type": "forward", "ForwardConfig": map[string]any{
			"TargetGroups": []any{map[string]any{"TargetGroupArn": "tg", "Weight": 3.0}}}}},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("CreateRule (-want +got):\n%s", d)
	}
}

func TestDecodeQueryErrors(t *testing.T) {
	m := mustELBModel(t)
	for _, c := range []struct{ op, body, msg string }{
		{"CreateTargetGroup", "Name=x&Port=eighty", "Value 'eighty' at 'port' failed to satisfy constraint: Member must be an integer"},
		{"CreateTargetGroup", "Name=x&Port=99999999999", "at 'port'"},
		{"CreateTargetGroup", "Name=x&HealthCheckEnabled=yes", "at 'healthCheckEnabled'"},
		{"CreateTargetGroup", "Name=x&Tags.member.1.Key=k&Tags.member.1.Value=v&Matcher.HttpCode=1&Tags.member.2.Key=k2&Port=1x", "at 'port'"},
	} {
		form, _ := url.ParseQuery(c.body)
		_, err := m.DecodeQuery(c.op, form)
		if errs.CodeOf(err) != "ValidationError" || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s %q: err %v, want ValidationError with %q", c.op, c.body, err, c.msg)
		}
	}
	// Validate words its paths lowerCamel for a Query model.
	js, err := m.DecodeQuery("CreateTargetGroup", url.Values{"Protocol": {"SMTP"}})
	if err != nil {
		t.Fatal(err)
	}
	err = m.Validate("CreateTargetGroup", js)
	if errs.CodeOf(err) != "ValidationError" || !strings.Contains(err.Error(), "Value null at 'name' failed to satisfy constraint: Member must not be null") ||
		!strings.Contains(err.Error(), "Value 'SMTP' at 'protocol' failed to satisfy constraint: Member must satisfy enum value set") {
		t.Errorf("Validate: %v", err)
	}
}

// traitsModel exercises the serialization traits ELBv2 does not use:
// locationName, flattened lists, maps with named keys, timestamps, blobs.
const traitsModel = `{
 "metadata": {"apiVersion": "2020-01-01", "protocol": "query", "xmlNamespace": "urn:test", "signingName": "test"},
 "operations": {"Op": {"name": "Op", "input": {"shape": "In"}, "output": {"shape": "Out", "resultWrapper": "OpResult"}},
                "Bare": {"name": "Bare"}},
 "shapes": {
  "In": {"type": "structure", "members": {
    "Renamed": {"shape": "Str", "locationName": "Other"},
    "Flat": {"shape": "FlatList"},
    "Named": {"shape": "NamedList"},
    "Attrs": {"shape": "Attrs"},
    "When": {"shape": "Time"},
    "Data": {"shape": "Blob"},
    "Ratio": {"shape": "Dbl"}}},
  "Out": {"type": "structure", "members": {
    "Renamed": {"shape": "Str", "locationName": "Other"},
    "Flat": {"shape": "FlatList"},
    "Named": {"shape": "NamedList"},
    "Attrs": {"shape": "Attrs"},
    "When": {"shape": "Time"},
    "Data": {"shape": "Blob"},
    "Ratio": {"shape": "Dbl"}}},
  "Str": {"type": "string"},
  "Dbl": {"type": "double"},
  "Blob": {"type": "blob"},
  "Time": {"type": "timestamp"},
  "FlatList": {"type": "list", "member": {"shape": "Str"}, "flattened": true},
  "NamedList": {"type": "list", "member": {"shape": "Str", "locationName": "item"}},
  "Attrs": {"type": "map", "key": {"shape": "Str", "locationName": "Name"}, "value": {"shape": "Str", "locationName": "Value"}},
  "Err": {"type": "structure", "members": {}, "exception": true, "error": {"code": "Wrong", "httpStatusCode": 404, "senderFault": true}}
 }
}`

func TestQueryTraitsRoundTrip(t *testing.T) {
	m, err := LoadModel([]byte(traitsModel))
	if err != nil {
		t.Fatal(err)
	}
	got := decodeForm(t, m, "Op", "Other=r&Renamed=ignored&Flat.1=x&Flat.2=y&Named.item.1=p"+
		"&Attrs.entry.1.Name=k1&Attrs.entry.1.Value=v1&Attrs.entry.2.Name=k2&Attrs.entry.2.Value=v2"+
		"&When=2026-11-21T17:15:12.345Z&Data=aGk%3D&Ratio=0.5")
	want := map[string]any{
		"Renamed": "r", "Flat": []any{"x", "y"}, "Named": []any{"p"},
		"Attrs": map[string]any{"k1": "v1", "k2": "v2"}, "When": 1795281312.345, "Data": "aGk=", "Ratio": 0.5,
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("decode (-want +got):\n%s", d)
	}
	doc, err := m.EncodeQueryResponse("Op", got, "req-1")
	if err != nil {
		t.Fatal(err)
	}
	wantXML := `<OpResponse xmlns="urn:test"><OpResult>` +
		`<Attrs><entry><Name>k1</Name><Value>v1</Value></entry><entry><Name>k2</Name><Value>v2</Value></entry></Attrs>` +
		`<Data>aGk=</Data><Flat>x</Flat><Flat>y</Flat><Named><item>p</item></Named><Ratio>0.5</Ratio><Other>r</Other>` +
		`<When>2026-11-21T17:15:12.345Z</When></OpResult><ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata></OpResponse>`
	if string(doc) != wantXML {
		t.Errorf("encode:\n got %s\nwant %s", doc, wantXML)
	}
	doc, _ = m.EncodeQueryResponse("Bare", nil, "r<2>")
	if want := `<BareResponse xmlns="urn:test"><ResponseMetadata><RequestId>r&lt;2&gt;</RequestId></ResponseMetadata></BareResponse>`; string(doc) != want {
		t.Errorf("no output: %s", doc)
	}
	if code, status, _ := QueryErrorOf(m, errs.New("Err", "x")); code != "Wrong" || status != 404 {
		t.Errorf("model error: %s %d", code, status)
	}
}

func TestQueryErrorCodes(t *testing.T) {
	m := mustELBModel(t)
	for _, c := range []struct {
		in     errs.Code
		code   string
		status int
	}{
		{"LoadBalancerNotFoundException", "LoadBalancerNotFound", 400},
		{"LoadBalancerNotFound", "LoadBalancerNotFound", 400},
		{"PriorRequestNotCompleteException", "PriorRequestNotComplete", 429},
		{"HealthUnavailableException", "HealthUnavailable", 500},
		{errs.Validation, "ValidationError", 400},
		{errs.Serialization, "ValidationError", 400},
		{errs.InvalidSignature, "SignatureDoesNotMatch", 403},
		{errs.UnrecognizedClient, "InvalidClientTokenId", 403},
		{errs.IncompleteSignature, "IncompleteSignature", 400},
		{errs.MissingAuthToken, "MissingAuthenticationToken", 403},
		{errs.UnknownOperation, "InvalidAction", 400},
		{errs.Server, "InternalFailure", 500},
	} {
		code, status, _ := QueryErrorOf(m, errs.New(c.in, "m"))
		if code != c.code || status != c.status {
			t.Errorf("%s: %s %d, want %s %d", c.in, code, status, c.code, c.status)
		}
	}
	// Every exception of the model maps to its own error.code.
	raw, _ := os.ReadFile(filepath.Join("..", "elbv2", "elasticloadbalancingv2-2015-12-01.json.gz"))
	fresh, _ := LoadModel(raw)
	for name, s := range fresh.Shapes {
		if s.Exception && s.Error != nil {
			if code, status, _ := QueryErrorOf(m, errs.New(errs.Code(name), "m")); code != s.Error.Code || status != s.Error.HTTPStatusCode {
				t.Errorf("%s → %s %d, model says %s %d", name, code, status, s.Error.Code, s.Error.HTTPStatusCode)
			}
		}
	}
}

func TestQueryErrorXML(t *testing.T) {
	doc := QueryErrorXML("urn:x", "Sender", "Bad", "a < b & c", "id")
	var e struct {
		XMLName xml.Name `xml:"ErrorResponse"`
		Error   struct{ Type, Code, Message string }
		ID      string `xml:"RequestId"`
	}
	if err := xml.Unmarshal(doc, &e); err != nil {
		t.Fatal(err)
	}
	if e.Error.Type != "Sender" || e.Error.Code != "Bad" || e.Error.Message != "a < b & c" || e.ID != "id" {
		t.Errorf("%+v", e)
	}
}
