package awsproto

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/quayside/quayside/internal/errs"
	"github.com/quayside/quayside/internal/model"
)

// ecsValidationModel is the ECS model configured as the ECS package
// configures it: constraint violations are InvalidParameterException.
var ecsValidationModel = sync.OnceValues(func() (*Model, error) {
	raw, err := os.ReadFile(filepath.Join("..", "ecs", "ecs-2014-11-13.json.gz"))
	if err != nil {
		return nil, err
	}
	m, err := LoadModel(raw)
	if err != nil {
		return nil, err
	}
	m.ValidationErrorCode = errs.InvalidParameter
	return m, nil
})

func mustValidationModel(t testing.TB) *Model {
	t.Helper()
	m, err := ecsValidationModel()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

type validateCase struct {
	name string
	op   string
	body string
	code errs.Code // "" means valid
	msg  string    // exact message; "" means only the code is checked
}

func runValidateCases(t *testing.T, m *Model, cases []validateCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := m.Validate(tc.op, []byte(tc.body))
			if tc.code == "" {
				if err != nil {
					t.Fatalf("%s %s: %v", tc.op, tc.body, err)
				}
				return
			}
			var e *errs.Error
			if !errors.As(err, &e) {
				t.Fatalf("%s %s: error %v, want %s", tc.op, tc.body, err, tc.code)
			}
			if e.Code != tc.code || (tc.msg != "" && e.Message != tc.msg) {
				t.Fatalf("%s %s:\n got %s: %s\nwant %s: %s", tc.op, tc.body, e.Code, e.Message, tc.code, tc.msg)
			}
			if s := StatusOf(e.Code); s != 400 {
				t.Fatalf("status %d", s)
			}
		})
	}
}

func TestValidateAccepts(t *testing.T) {
	m := mustValidationModel(t)
	runValidateCases(t, m, []validateCase{
		{name: "empty object", op: "ListClusters", body: `{}`},
		{name: "null body", op: "ListClusters", body: `null`},
		{name: "whitespace", op: "ListClusters", body: " \n\t{ } \r\n"},
		{name: "unknown members ignored", op: "ListClusters", body: `{"bogus":[1,{"x":[true,null,"s",-1.5e3]}],"other":{}}`},
		{name: "null member is absent", op: "ListClusters", body: `{"maxResults":null,"nextToken":null}`},
		{name: "describe clusters", op: "DescribeClusters", body: `{"clusters":["default","arn:aws:ecs:us-east-1:123456789012:cluster/x"],"include":["TAGS","SETTINGS"]}`},
		{name: "run task", op: "RunTask", body: `{"taskDefinition":"web:3","count":10,"launchType":"FARGATE","tags":[{"key":"team","value":"a b:c/d=e+f-g@h_i.j"}],"overrides":{"containerOverrides":[{"name":"app","environment":[{"name":"A","value":"1"}]}]}}`},
		{name: "register task definition", op: "RegisterTaskDefinition", body: `{"family":"web","containerDefinitions":[{"name":"app","image":"nginx","memory":512,"portMappings":[{"containerPort":80,"hostPort":0,"protocol":"tcp"}],"dockerLabels":{"a":"b"},"essential":true}],"cpu":"256"}`},
		{name: "integer bounds inclusive", op: "CreateCapacityProvider", body: `{"name":"cp","autoScalingGroupProvider":{"autoScalingGroupArn":"arn","managedScaling":{"targetCapacity":100,"minimumScalingStepSize":1,"maximumScalingStepSize":10000}}}`},
		{name: "timestamp number", op: "SubmitTaskStateChange", body: `{"pullStartedAt":1431444514.347,"pullStoppedAt":1431444514,"executionStoppedAt":0}`},
		{name: "escaped strings", op: "DescribeClusters", body: `{"clusters":["\u0064efault","a\"b\\c\/d\n"],"include":["\u0054AGS"]}`},
		{name: "int32 extremes", op: "RunTask", body: `{"taskDefinition":"x","count":2147483647}`},
		{name: "tags at max", op: "TagResource", body: `{"resourceArn":"arn","tags":[` + strings.TrimSuffix(strings.Repeat(`{"key":"k","value":"v"},`, 50), ",") + `]}`},
		{name: "case-insensitive member as encoding/json matches it", op: "ListClusters", body: `{"MaxResults":10}`},
		{name: "tag key of 128 letters outside the BMP counts twice each", op: "TagResource", body: `{"resourceArn":"a","tags":[{"key":"` + strings.Repeat("é", 128) + `","value":""}]}`},
	})
}

func TestValidateSerialization(t *testing.T) {
	m := mustValidationModel(t)
	ser := errs.Serialization
	runValidateCases(t, m, []validateCase{
		{name: "empty body", op: "ListClusters", body: ``, code: ser,
			msg: "Unexpected end-of-input: the request body must be a JSON object (at offset 0)"},
		{name: "list body", op: "ListClusters", body: `[]`, code: ser, msg: "Start of list found where not expected"},
		{name: "string body", op: "ListClusters", body: `"x"`, code: ser, msg: "Expected structure or null"},
		{name: "trailing comma", op: "ListClusters", body: `{"maxResults":1,}`, code: ser,
			msg: "Unexpected character ('}' (code 125)): was expecting double-quote to start field name (at offset 16)"},
		{name: "garbage after object", op: "ListClusters", body: `{} x`, code: ser,
			msg: "Unexpected character ('x' (code 120)): expected end of input after the JSON object (at offset 3)"},
		{name: "truncated", op: "ListClusters", body: `{"maxResults":1`, code: ser,
			msg: "Unexpected end-of-input: expected close marker for OBJECT (at offset 15)"},
		{name: "single quotes", op: "ListClusters", body: `{'a':1}`, code: ser},
		{name: "bad unknown member value", op: "ListClusters", body: `{"x":[1,2,}`, code: ser},
		{name: "leading zero", op: "ListClusters", body: `{"x":01}`, code: ser},
		{name: "bad escape", op: "ListClusters", body: `{"x":"\q"}`, code: ser},
		{name: "raw control character", op: "ListClusters", body: "{\"x\":\"a\tb\"}", code: ser},
		{name: "NaN", op: "ListClusters", body: `{"maxResults":NaN}`, code: ser},

		{name: "string for integer", op: "ListClusters", body: `{"maxResults":"10"}`, code: ser,
			msg: "STRING_VALUE cannot be converted to Integer at 'maxResults'"},
		{name: "decimal for integer", op: "RunTask", body: `{"taskDefinition":"x","count":1.5}`, code: ser,
			msg: "DECIMAL_VALUE cannot be converted to Integer at 'count'"},
		{name: "exponent for integer", op: "RunTask", body: `{"taskDefinition":"x","count":1e2}`, code: ser,
			msg: "DECIMAL_VALUE cannot be converted to Integer at 'count'"},
		{name: "bool for integer", op: "ListClusters", body: `{"maxResults":false}`, code: ser,
			msg: "FALSE_VALUE cannot be converted to Integer at 'maxResults'"},
		{name: "number for string", op: "ListClusters", body: `{"nextToken":5}`, code: ser,
			msg: "NUMBER_VALUE cannot be converted to String at 'nextToken'"},
		{name: "object for string", op: "ListClusters", body: `{"nextToken":{}}`, code: ser,
			msg: "Start of structure or map found where not expected at 'nextToken'"},
		{name: "list for string", op: "ListClusters", body: `{"nextToken":[]}`, code: ser,
			msg: "Start of list found where not expected at 'nextToken'"},
		{name: "string for boolean", op: "RunTask", body: `{"taskDefinition":"x","enableExecuteCommand":"true"}`, code: ser,
			msg: "STRING_VALUE cannot be converted to Boolean at 'enableExecuteCommand'"},
		{name: "string for list", op: "DescribeClusters", body: `{"clusters":"default"}`, code: ser,
			msg: "Expected list or null at 'clusters'"},
		{name: "object for list", op: "DescribeClusters", body: `{"clusters":{"a":"b"}}`, code: ser,
			msg: "Start of structure or map found where not expected at 'clusters'"},
		{name: "number in string list", op: "DescribeClusters", body: `{"clusters":["a",7]}`, code: ser,
			msg: "NUMBER_VALUE cannot be converted to String at 'clusters.2.member'"},
		{name: "string for structure", op: "RunTask", body: `{"taskDefinition":"x","overrides":"none"}`, code: ser,
			msg: "Expected structure or null at 'overrides'"},
		{name: "list for map", op: "RegisterTaskDefinition", body: `{"family":"f","containerDefinitions":[{"dockerLabels":[]}]}`, code: ser,
			msg: "Start of list found where not expected at 'containerDefinitions.1.member.dockerLabels'"},
		{name: "number in map", op: "RegisterTaskDefinition", body: `{"family":"f","containerDefinitions":[{"dockerLabels":{"a":1}}]}`, code: ser,
			msg: "NUMBER_VALUE cannot be converted to String at 'containerDefinitions.1.member.dockerLabels.a.member'"},
		{name: "nested wrong type", op: "RegisterTaskDefinition", body: `{"family":"f","containerDefinitions":[{"name":"a"},{"name":"b","portMappings":[{"containerPort":"80"}]}]}`, code: ser,
			msg: "STRING_VALUE cannot be converted to Integer at 'containerDefinitions.2.member.portMappings.1.member.containerPort'"},
		{name: "ISO string for timestamp", op: "SubmitTaskStateChange", body: `{"pullStartedAt":"2026-11-21T17:15:12Z"}`, code: ser,
			msg: "STRING_VALUE cannot be converted to Timestamp at 'pullStartedAt'"},
		{name: "double out of range", op: "SubmitTaskStateChange", body: `{"pullStartedAt":1e400}`, code: ser,
			msg: "DECIMAL_VALUE cannot be converted to Timestamp: out of range at 'pullStartedAt'"},
		{name: "serialization wins over validation", op: "RunTask", body: `{"launchType":"X","count":"1"}`, code: ser,
			msg: "STRING_VALUE cannot be converted to Integer at 'count'"},
		{name: "case-insensitive member is type-checked", op: "ListClusters", body: `{"MAXRESULTS":"x"}`, code: ser,
			msg: "STRING_VALUE cannot be converted to Integer at 'maxResults'"},
		{name: "too deep", op: "ListClusters", body: `{"x":` + strings.Repeat("[", 10001) + strings.Repeat("]", 10001) + `}`, code: ser},
	})
}

func TestValidateConstraints(t *testing.T) {
	m := mustValidationModel(t)
	ip := errs.InvalidParameter
	runValidateCases(t, m, []validateCase{
		{name: "required missing", op: "RunTask", body: `{}`, code: ip,
			msg: "1 validation error detected: Value null at 'taskDefinition' failed to satisfy constraint: Member must not be null"},
		{name: "required null", op: "RunTask", body: `{"taskDefinition":null}`, code: ip,
			msg: "1 validation error detected: Value null at 'taskDefinition' failed to satisfy constraint: Member must not be null"},
		{name: "required only in another case", op: "RunTask", body: `{"TaskDefinition":"x"}`, code: ip,
			msg: "1 validation error detected: Value null at 'taskDefinition' failed to satisfy constraint: Member must not be null"},
		{name: "enum", op: "RunTask", body: `{"taskDefinition":"x","launchType":"X"}`, code: ip,
			msg: "1 validation error detected: Value 'X' at 'launchType' failed to satisfy constraint: Member must satisfy enum value set: [EC2, FARGATE, EXTERNAL, MANAGED_INSTANCES]"},
		{name: "enum is case-sensitive", op: "RunTask", body: `{"taskDefinition":"x","launchType":"fargate"}`, code: ip},
		{name: "enum in list", op: "DescribeClusters", body: `{"include":["TAGS","BOGUS"]}`, code: ip,
			msg: "1 validation error detected: Value 'BOGUS' at 'include.2.member' failed to satisfy constraint: Member must satisfy enum value set: [ATTACHMENTS, CONFIGURATIONS, SETTINGS, STATISTICS, TAGS]"},
		{name: "integer above max", op: "CreateService", body: `{"serviceName":"s","serviceConnectConfiguration":{"enabled":true,"services":[{"portName":"p","clientAliases":[{"port":65536}]}]}}`, code: ip,
			msg: "1 validation error detected: Value '65536' at 'serviceConnectConfiguration.services.1.member.clientAliases.1.member.port' failed to satisfy constraint: Member must have value less than or equal to 65535"},
		{name: "integer below min", op: "CreateService", body: `{"serviceName":"s","serviceConnectConfiguration":{"enabled":true,"services":[{"portName":"p","ingressPortOverride":-1}]}}`, code: ip,
			msg: "1 validation error detected: Value '-1' at 'serviceConnectConfiguration.services.1.member.ingressPortOverride' failed to satisfy constraint: Member must have value greater than or equal to 0"},
		{name: "integer out of int32", op: "RunTask", body: `{"taskDefinition":"x","count":2147483648}`, code: ip,
			msg: "1 validation error detected: Value '2147483648' at 'count' failed to satisfy constraint: Member must have value less than or equal to 2147483647"},
		{name: "integer below int32", op: "RunTask", body: `{"taskDefinition":"x","count":-2147483649}`, code: ip,
			msg: "1 validation error detected: Value '-2147483649' at 'count' failed to satisfy constraint: Member must have value greater than or equal to -2147483648"},
		{name: "integer beyond int64", op: "RunTask", body: `{"taskDefinition":"x","count":99999999999999999999999}`, code: ip,
			msg: "1 validation error detected: Value '99999999999999999999999' at 'count' failed to satisfy constraint: Member must have value less than or equal to 2147483647"},
		{name: "model max wins over int32 range", op: "CreateCapacityProvider", body: `{"name":"cp","autoScalingGroupProvider":{"autoScalingGroupArn":"a","managedScaling":{"targetCapacity":99999999999}}}`, code: ip,
			msg: "1 validation error detected: Value '99999999999' at 'autoScalingGroupProvider.managedScaling.targetCapacity' failed to satisfy constraint: Member must have value less than or equal to 100"},
		{name: "string too short", op: "TagResource", body: `{"resourceArn":"a","tags":[{"key":"","value":"v"}]}`, code: ip,
			msg: "1 validation error detected: Value '' at 'tags.1.member.key' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{name: "string too long", op: "TagResource", body: `{"resourceArn":"a","tags":[{"key":"` + strings.Repeat("k", 129) + `","value":"v"}]}`, code: ip,
			msg: "1 validation error detected: Value '" + strings.Repeat("k", 129) + "' at 'tags.1.member.key' failed to satisfy constraint: Member must have length less than or equal to 128"},
		{name: "pattern", op: "TagResource", body: `{"resourceArn":"a","tags":[{"key":"a*b","value":"v"}]}`, code: ip,
			msg: `1 validation error detected: Value 'a*b' at 'tags.1.member.key' failed to satisfy constraint: Member must satisfy regular expression pattern: ([\p{L}\p{Z}\p{N}_.:/=+\-@]*)`},
		{name: "list too long", op: "TagResource", body: `{"resourceArn":"a","tags":[` + strings.TrimSuffix(strings.Repeat(`{"key":"k","value":"v"},`, 51), ",") + `]}`, code: ip,
			msg: "1 validation error detected: Value '[" + strings.TrimSuffix(strings.Repeat("{key=k, value=v}, ", 51), ", ") + "]' at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50"},
		{name: "null list member", op: "DescribeClusters", body: `{"clusters":["a",null]}`, code: ip,
			msg: "1 validation error detected: Value null at 'clusters.2.member' failed to satisfy constraint: Member must not be null"},
		{name: "nested required", op: "RegisterTaskDefinition", body: `{"family":"f","containerDefinitions":[{"name":"a","environment":[{"name":"A"}],"dependsOn":[{"containerName":"b"}]}]}`, code: ip,
			msg: "1 validation error detected: Value null at 'containerDefinitions.1.member.dependsOn.1.member.condition' failed to satisfy constraint: Member must not be null"},
		{name: "several errors", op: "RunTask", body: `{"launchType":"X","count":3000000000,"propagateTags":"ALL"}`, code: ip,
			msg: "4 validation errors detected: " +
				"Value 'X' at 'launchType' failed to satisfy constraint: Member must satisfy enum value set: [EC2, FARGATE, EXTERNAL, MANAGED_INSTANCES]; " +
				"Value '3000000000' at 'count' failed to satisfy constraint: Member must have value less than or equal to 2147483647; " +
				"Value 'ALL' at 'propagateTags' failed to satisfy constraint: Member must satisfy enum value set: [TASK_DEFINITION, SERVICE, NONE]; " +
				"Value null at 'taskDefinition' failed to satisfy constraint: Member must not be null"},
		{name: "at most ten errors", op: "DescribeClusters", body: `{"include":[` + strings.TrimSuffix(strings.Repeat(`"X",`, 20), ",") + `]}`, code: ip},
		{name: "double bounds print like Java", op: "CreateDaemon", body: `{"daemonName":"d","daemonTaskDefinitionArn":"a","capacityProviderArns":["c"],"deploymentConfiguration":{"drainPercent":100.5}}`, code: ip,
			msg: "1 validation error detected: Value '100.5' at 'deploymentConfiguration.drainPercent' failed to satisfy constraint: Member must have value less than or equal to 100.0"},
	})

	err := m.Validate("DescribeClusters", []byte(`{"include":[`+strings.TrimSuffix(strings.Repeat(`"X",`, 20), ",")+`]}`))
	if errs.CodeOf(err) != errs.InvalidParameter || !strings.HasPrefix(err.(*errs.Error).Message, "10 validation errors detected: ") {
		t.Fatalf("cap: %v", err)
	}
}

func TestValidateDefaultCodeIsValidationException(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "ecs", "ecs-2014-11-13.json.gz"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := LoadModel(raw)
	if err != nil {
		t.Fatal(err)
	}
	m.ValidationErrorCode = ""
	if c := errs.CodeOf(m.Validate("RunTask", []byte(`{}`))); c != errs.Validation {
		t.Fatalf("code %s", c)
	}
}

func TestValidateUnknownOperation(t *testing.T) {
	m := mustValidationModel(t)
	if c := errs.CodeOf(m.Validate("NoSuchOperation", []byte(`{}`))); c != errs.UnknownOperation {
		t.Fatalf("code %s", c)
	}
}

// TestValidateDoubleBounds checks Java-style bound formatting on a double
// shape with min 0.0 and max 100.0, wherever the model uses one.
func TestValidateDoubleBounds(t *testing.T) {
	if got := fmtBound(vDouble, 100); got != "100.0" {
		t.Fatal(got)
	}
	if got := fmtBound(vInteger, 65535); got != "65535" {
		t.Fatal(got)
	}
	if got := fmtBound(vDouble, 0.5); got != "0.5" {
		t.Fatal(got)
	}
}

// TestValidatedBodiesDecode: whatever Validate accepts decodes into the
// generated Go types, so handlers (awsproto.Typed) never turn an accepted
// request into an error.
func TestValidatedBodiesDecode(t *testing.T) {
	m := mustValidationModel(t)
	for _, body := range []string{
		`{"taskDefinition":"x","count":2147483647,"Count":5,"cOUNT":-2147483648,"overrides":{"cpu":"1"}}`,
		`{"taskDefinition":"\ud800x","tags":[],"startedBy":"\u00ff\ufffd"}`,
		"{\"taskDefinition\":\"\xff\xfe\"}",
	} {
		if err := m.Validate("RunTask", []byte(body)); err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		var v model.RunTaskRequest
		if err := json.Unmarshal([]byte(body), &v); err != nil {
			t.Fatalf("%s: decode: %v", body, err)
		}
	}
}

func TestValidateCompilesEveryOperation(t *testing.T) {
	m := mustValidationModel(t)
	for op := range m.Operations {
		err := m.Validate(op, []byte(`{}`))
		if err != nil && errs.CodeOf(err) != errs.InvalidParameter {
			t.Fatalf("%s {}: %v", op, err)
		}
	}
}

func BenchmarkValidateDescribeClusters(b *testing.B) {
	m := mustValidationModel(b)
	body := []byte(`{"clusters":["default","prod"],"include":["TAGS","SETTINGS"]}`)
	m.Precompile()
	b.ReportAllocs()
	for b.Loop() {
		if err := m.Validate("DescribeClusters", body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkValidateRegisterTaskDefinition(b *testing.B) {
	m := mustValidationModel(b)
	var cds []string
	for i := 0; i < 10; i++ {
		cds = append(cds, `{"name":"app","image":"nginx:1.27","cpu":128,"memory":512,"essential":true,
			"portMappings":[{"containerPort":80,"hostPort":0,"protocol":"tcp"},{"containerPort":443,"protocol":"tcp"}],
			"environment":[{"name":"A","value":"1"},{"name":"B","value":"2"},{"name":"C","value":"3"}],
			"dockerLabels":{"team":"web","tier":"frontend"},
			"logConfiguration":{"logDriver":"awslogs","options":{"awslogs-group":"g","awslogs-region":"us-east-1"}},
			"healthCheck":{"command":["CMD-SHELL","curl -f http://localhost/ || exit 1"],"interval":30,"timeout":5,"retries":3}}`)
	}
	body := []byte(`{"family":"web","networkMode":"bridge","requiresCompatibilities":["EC2"],"containerDefinitions":[` + strings.Join(cds, ",") + `],"tags":[{"key":"a","value":"b"}]}`)
	m.Precompile()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if err := m.Validate("RegisterTaskDefinition", body); err != nil {
			b.Fatal(err)
		}
	}
}
