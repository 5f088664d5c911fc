package ecs_test

import (
	"context"
	"errors"
	"fmt"
	"go/token"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/quayside/quayside/internal/server/servertest"
)

const tdARNPrefix = "arn:aws:ecs:us-east-1:000000000000:task-definition/"

// tdWantErr fails unless err is the API error code with exactly msg ("" =
// any message).
func tdWantErr(t *testing.T, err error, code, msg string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("got error %v, want %s %q", err, code, msg)
	}
	if ae.ErrorCode() != code || (msg != "" && ae.ErrorMessage() != msg) {
		t.Fatalf("got %s %q\nwant %s %q", ae.ErrorCode(), ae.ErrorMessage(), code, msg)
	}
}

// tdInput is a minimal valid definition of family.
func tdInput(family string) *ecs.RegisterTaskDefinitionInput {
	return &ecs.RegisterTaskDefinitionInput{
		Family: aws.String(family),
		ContainerDefinitions: []types.ContainerDefinition{{
			Name: aws.String("app"), Image: aws.String("busybox:1.36"), Memory: aws.Int32(64),
		}},
	}
}

func tdRegister(t *testing.T, h *servertest.Harness, in *ecs.RegisterTaskDefinitionInput) *types.TaskDefinition {
	t.Helper()
	out, err := h.ECS.RegisterTaskDefinition(h.Ctx(), in)
	if err != nil {
		t.Fatalf("register %s: %v", aws.ToString(in.Family), err)
	}
	return out.TaskDefinition
}

func tdDeregister(t *testing.T, h *servertest.Harness, ref string) *types.TaskDefinition {
	t.Helper()
	out, err := h.ECS.DeregisterTaskDefinition(h.Ctx(), &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String(ref)})
	if err != nil {
		t.Fatalf("deregister %s: %v", ref, err)
	}
	return out.TaskDefinition
}

func TestTaskDefinitionRegisterAndDescribe(t *testing.T) {
	h := servertest.Start(t)
	ctx := h.Ctx()
	in := tdInput("web")
	in.Tags = []types.Tag{{Key: aws.String("team"), Value: aws.String("edge")}}
	out, err := h.ECS.RegisterTaskDefinition(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	td := out.TaskDefinition
	if td.Revision != 1 || aws.ToString(td.TaskDefinitionArn) != tdARNPrefix+"web:1" || td.Status != types.TaskDefinitionStatusActive {
		t.Fatalf("registered %s rev %d status %s", aws.ToString(td.TaskDefinitionArn), td.Revision, td.Status)
	}
	if td.RegisteredAt == nil || !strings.HasPrefix(aws.ToString(td.RegisteredBy), "arn:aws:iam::") {
		t.Errorf("registeredAt %v registeredBy %q", td.RegisteredAt, aws.ToString(td.RegisteredBy))
	}
	if !slices.Equal(td.Compatibilities, []types.Compatibility{types.CompatibilityExternal, types.CompatibilityEc2}) {
		t.Errorf("compatibilities = %v, want [EXTERNAL EC2]", td.Compatibilities)
	}
	c := td.ContainerDefinitions[0]
	if c.Cpu != 0 || !aws.ToBool(c.Essential) || c.PortMappings == nil || c.Environment == nil || c.MountPoints == nil ||
		c.VolumesFrom == nil || c.SystemControls == nil {
		t.Errorf("container defaults not filled in: %+v", c)
	}
	if len(out.Tags) != 1 || aws.ToString(out.Tags[0].Key) != "team" {
		t.Errorf("register tags = %v", out.Tags)
	}
	tdRegister(t, h, tdInput("web"))
	for ref, want := range map[string]int32{"web": 2, "web:1": 1, tdARNPrefix + "web:2": 2} {
		d, err := h.ECS.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(ref)})
		if err != nil || d.TaskDefinition.Revision != want || d.Tags != nil {
			t.Fatalf("describe %s: %v, revision %v, tags %v", ref, err, d, d.Tags)
		}
	}
	d, err := h.ECS.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{
		TaskDefinition: aws.String("web:1"), Include: []types.TaskDefinitionField{types.TaskDefinitionFieldTags}})
	if err != nil || len(d.Tags) != 1 || aws.ToString(d.Tags[0].Value) != "edge" {
		t.Fatalf("describe with tags: %v %v", err, d)
	}
	d, err = h.ECS.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{
		TaskDefinition: aws.String("web:2"), Include: []types.TaskDefinitionField{types.TaskDefinitionFieldTags}})
	if err != nil || d.Tags == nil || len(d.Tags) != 0 {
		t.Fatalf("describe untagged with TAGS: %v, tags %#v", err, d.Tags)
	}
	for _, ref := range []string{"nope", "web:9", tdARNPrefix + "nope:1", "bad name"} {
		_, err := h.ECS.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(ref)})
		tdWantErr(t, err, "ClientException", "Unable to describe task definition.")
	}
	h.Restart()
	d, err = h.ECS.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("web")})
	if err != nil || d.TaskDefinition.Revision != 2 {
		t.Fatalf("describe after restart: %v %v", err, d)
	}
}

func TestTaskDefinitionRegisterErrors(t *testing.T) {
	h := servertest.Start(t)
	ctx := h.Ctx()
	cases := []struct {
		name string
		mod  func(*ecs.RegisterTaskDefinitionInput)
		code string
		msg  string
	}{
		{"fargate bridge", func(in *ecs.RegisterTaskDefinitionInput) {
			in.RequiresCompatibilities = []types.Compatibility{types.CompatibilityFargate}
			in.NetworkMode = types.NetworkModeBridge
			in.Cpu, in.Memory = aws.String("256"), aws.String("512")
		}, "ClientException", "Fargate only supports network mode ‘awsvpc’."},
		{"fargate size", func(in *ecs.RegisterTaskDefinitionInput) {
			in.RequiresCompatibilities = []types.Compatibility{types.CompatibilityFargate}
			in.NetworkMode = types.NetworkModeAwsvpc
			in.Cpu, in.Memory = aws.String("1 vCPU"), aws.String("1GB")
		}, "ClientException", "No Fargate configuration exists for given values: 1024 CPU, 1024 memory. See the Amazon ECS documentation for the valid values."},
		{"no memory", func(in *ecs.RegisterTaskDefinitionInput) { in.ContainerDefinitions[0].Memory = nil },
			"ClientException", "Invalid setting for container 'app'. At least one of 'memory' or 'memoryReservation' must be specified."},
		{"hostname awsvpc", func(in *ecs.RegisterTaskDefinitionInput) {
			in.NetworkMode = types.NetworkModeAwsvpc
			in.ContainerDefinitions[0].Hostname = aws.String("app")
		}, "ClientException", "hostname is not supported on container when networkMode=awsvpc."},
		{"no image", func(in *ecs.RegisterTaskDefinitionInput) { in.ContainerDefinitions[0].Image = nil },
			"ClientException", "Container.image should not be null or empty."},
		{"no essential", func(in *ecs.RegisterTaskDefinitionInput) { in.ContainerDefinitions[0].Essential = aws.Bool(false) },
			"ClientException", "Task definition doesn't have any essential container."},
		{"bad family", func(in *ecs.RegisterTaskDefinitionInput) { in.Family = aws.String("web/1") },
			"ClientException", "Family contains invalid characters."},
		{"reserved tag", func(in *ecs.RegisterTaskDefinitionInput) {
			in.Tags = []types.Tag{{Key: aws.String("aws:x"), Value: aws.String("y")}}
		}, "InvalidParameterException", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := tdInput("bad")
			tc.mod(in)
			_, err := h.ECS.RegisterTaskDefinition(ctx, in)
			tdWantErr(t, err, tc.code, tc.msg)
		})
	}
	// Nothing was stored and no revision was used by the failed calls.
	if got := tdRegister(t, h, tdInput("bad")); got.Revision != 1 {
		t.Fatalf("first good registration got revision %d, want 1", got.Revision)
	}
}

func TestTaskDefinitionRevisionsAreNeverReused(t *testing.T) {
	h := servertest.Start(t)
	ctx := h.Ctx()
	tdRegister(t, h, tdInput("job"))
	tdRegister(t, h, tdInput("job"))
	tdDeregister(t, h, "job:2")
	if got := tdRegister(t, h, tdInput("job")).Revision; got != 3 {
		t.Fatalf("after deregistering 2, got revision %d, want 3", got)
	}
	for _, rev := range []string{"job:1", "job:3"} {
		tdDeregister(t, h, rev)
	}
	if _, err := h.ECS.DeleteTaskDefinitions(ctx, &ecs.DeleteTaskDefinitionsInput{TaskDefinitions: []string{"job:1", "job:2", "job:3"}}); err != nil {
		t.Fatal(err)
	}
	if got := tdRegister(t, h, tdInput("job")).Revision; got != 4 {
		t.Fatalf("after deleting every revision, got revision %d, want 4", got)
	}
}

func TestTaskDefinitionDeregister(t *testing.T) {
	h := servertest.Start(t)
	ctx := h.Ctx()
	tdRegister(t, h, tdInput("web"))
	tdRegister(t, h, tdInput("web"))
	_, err := h.ECS.DeregisterTaskDefinition(ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String("web")})
	tdWantErr(t, err, "ClientException", "Revision is missing.")
	_, err = h.ECS.DeregisterTaskDefinition(ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String("web:7")})
	tdWantErr(t, err, "ClientException", "Unable to describe task definition.")
	td := tdDeregister(t, h, tdARNPrefix+"web:2")
	if td.Status != types.TaskDefinitionStatusInactive || td.DeregisteredAt == nil {
		t.Fatalf("deregistered: status %s deregisteredAt %v", td.Status, td.DeregisteredAt)
	}
	again := tdDeregister(t, h, "web:2")
	if again.Status != types.TaskDefinitionStatusInactive || !cmp.Equal(again.DeregisteredAt, td.DeregisteredAt, withinAMillisecond) {
		t.Fatalf("second deregister changed it: %s %v", again.Status, again.DeregisteredAt)
	}
	d, err := h.ECS.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("web")})
	if err != nil || d.TaskDefinition.Revision != 1 {
		t.Fatalf("bare family should now be revision 1: %v %v", err, d)
	}
	d, err = h.ECS.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("web:2")})
	if err != nil || d.TaskDefinition.Status != types.TaskDefinitionStatusInactive {
		t.Fatalf("an INACTIVE revision stays describable: %v %v", err, d)
	}
	tdDeregister(t, h, "web:1")
	_, err = h.ECS.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("web")})
	tdWantErr(t, err, "ClientException", "Unable to describe task definition.")
}

func TestDeleteTaskDefinitions(t *testing.T) {
	h := servertest.Start(t)
	ctx := h.Ctx()
	for range 3 {
		tdRegister(t, h, tdInput("svc"))
	}
	tdDeregister(t, h, "svc:1")
	tdDeregister(t, h, "svc:3")
	out, err := h.ECS.DeleteTaskDefinitions(ctx, &ecs.DeleteTaskDefinitionsInput{
		TaskDefinitions: []string{"svc:1", "svc:2", tdARNPrefix + "svc:3", "svc:9", "svc", "svc:1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	var deleted []string
	for _, td := range out.TaskDefinitions {
		if td.Status != types.TaskDefinitionStatusDeleteInProgress || td.DeleteRequestedAt == nil {
			t.Errorf("%s: status %s deleteRequestedAt %v", aws.ToString(td.TaskDefinitionArn), td.Status, td.DeleteRequestedAt)
		}
		deleted = append(deleted, aws.ToString(td.TaskDefinitionArn))
	}
	if want := []string{tdARNPrefix + "svc:1", tdARNPrefix + "svc:3"}; !slices.Equal(deleted, want) {
		t.Errorf("deleted %v, want %v", deleted, want)
	}
	gotFailures := map[string]string{}
	for _, f := range out.Failures {
		gotFailures[aws.ToString(f.Arn)] = aws.ToString(f.Reason)
	}
	wantFailures := map[string]string{
		tdARNPrefix + "svc:2": "The specified task definition is still in ACTIVE status. Please deregister the target and try again.",
		tdARNPrefix + "svc:9": "The specified task definition does not exist. Specify a valid account, family, revision and try again.",
		"svc":                 "The specified task definition identifier is invalid. Specify a valid name or ARN and try again.",
	}
	if diff := cmp.Diff(wantFailures, gotFailures); diff != "" {
		t.Errorf("failures (-want +got):\n%s", diff)
	}
	d, err := h.ECS.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("svc:1")})
	if err != nil || d.TaskDefinition.Status != types.TaskDefinitionStatusDeleteInProgress {
		t.Fatalf("describe deleted: %v %v", err, d)
	}
	refs := make([]string, 11)
	for i := range refs {
		refs[i] = fmt.Sprintf("svc:%d", i+1)
	}
	_, err = h.ECS.DeleteTaskDefinitions(ctx, &ecs.DeleteTaskDefinitionsInput{TaskDefinitions: refs})
	tdWantErr(t, err, "InvalidParameterException", "")
	empty, err := h.ECS.DeleteTaskDefinitions(ctx, &ecs.DeleteTaskDefinitionsInput{TaskDefinitions: []string{"svc:2"}})
	if err != nil || empty.TaskDefinitions == nil || len(empty.TaskDefinitions) != 0 || len(empty.Failures) != 1 {
		t.Fatalf("lists must be present even when empty: %v %#v", err, empty)
	}
}

// tdListAll pages through ListTaskDefinitions with page size 2.
func tdListAll(t *testing.T, h *servertest.Harness, in ecs.ListTaskDefinitionsInput) []string {
	t.Helper()
	in.MaxResults = aws.Int32(2)
	var all []string
	pages := 0
	for p := ecs.NewListTaskDefinitionsPaginator(h.ECS, &in); p.HasMorePages(); pages++ {
		out, err := p.NextPage(h.Ctx())
		if err != nil {
			t.Fatal(err)
		}
		if len(out.TaskDefinitionArns) > 2 {
			t.Fatalf("page of %d, want at most 2", len(out.TaskDefinitionArns))
		}
		all = append(all, out.TaskDefinitionArns...)
	}
	if want := (len(all) + 1) / 2; len(all) > 0 && pages != want {
		t.Errorf("%d pages for %d items, want %d", pages, len(all), want)
	}
	return all
}

func tdARNs(refs ...string) []string {
	out := make([]string, len(refs))
	for i, r := range refs {
		out[i] = tdARNPrefix + r
	}
	return out
}

func TestListTaskDefinitions(t *testing.T) {
	h := servertest.Start(t)
	// "a-b" sorts after "a" by family name although its keys sort first.
	for _, f := range []string{"b", "a", "a-b", "a", "b", "a"} {
		tdRegister(t, h, tdInput(f))
	}
	for i := 4; i <= 11; i++ { // revisions 4..11 of a: revision 10 must sort after 9
		tdRegister(t, h, tdInput("a"))
	}
	tdDeregister(t, h, "a:2")
	asc := tdARNs("a:1", "a:3", "a:4", "a:5", "a:6", "a:7", "a:8", "a:9", "a:10", "a:11", "a-b:1", "b:1", "b:2")
	if got := tdListAll(t, h, ecs.ListTaskDefinitionsInput{}); !slices.Equal(got, asc) {
		t.Errorf("ASC:\n got %v\nwant %v", got, asc)
	}
	desc := slices.Clone(asc)
	slices.Reverse(desc)
	if got := tdListAll(t, h, ecs.ListTaskDefinitionsInput{Sort: types.SortOrderDesc}); !slices.Equal(got, desc) {
		t.Errorf("DESC:\n got %v\nwant %v", got, desc)
	}
	if got := tdListAll(t, h, ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String("b")}); !slices.Equal(got, tdARNs("b:1", "b:2")) {
		t.Errorf("familyPrefix b: %v", got)
	}
	if got := tdListAll(t, h, ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String("a-")}); len(got) != 0 {
		t.Errorf("familyPrefix is an exact family name, got %v", got)
	}
	if got := tdListAll(t, h, ecs.ListTaskDefinitionsInput{Status: types.TaskDefinitionStatusInactive}); !slices.Equal(got, tdARNs("a:2")) {
		t.Errorf("INACTIVE: %v", got)
	}
	out, err := h.ECS.ListTaskDefinitions(h.Ctx(), &ecs.ListTaskDefinitionsInput{Status: types.TaskDefinitionStatusDeleteInProgress})
	if err != nil || out.TaskDefinitionArns == nil || len(out.TaskDefinitionArns) != 0 || out.NextToken != nil {
		t.Errorf("DELETE_IN_PROGRESS: %v %#v", err, out)
	}
	_, err = h.ECS.ListTaskDefinitions(h.Ctx(), &ecs.ListTaskDefinitionsInput{MaxResults: aws.Int32(101)})
	tdWantErr(t, err, "InvalidParameterException", "")
	_, err = h.ECS.ListTaskDefinitions(h.Ctx(), &ecs.ListTaskDefinitionsInput{NextToken: aws.String("garbage!")})
	tdWantErr(t, err, "InvalidParameterException", "")
}

func TestListTaskDefinitionFamilies(t *testing.T) {
	h := servertest.Start(t)
	for _, f := range []string{"web", "web-canary", "worker", "db"} {
		tdRegister(t, h, tdInput(f))
	}
	tdDeregister(t, h, "worker:1")
	tdDeregister(t, h, "db:1")
	if _, err := h.ECS.DeleteTaskDefinitions(h.Ctx(), &ecs.DeleteTaskDefinitionsInput{TaskDefinitions: []string{"db:1"}}); err != nil {
		t.Fatal(err)
	}
	list := func(in ecs.ListTaskDefinitionFamiliesInput) []string {
		t.Helper()
		in.MaxResults = aws.Int32(1)
		var all []string
		for p := ecs.NewListTaskDefinitionFamiliesPaginator(h.ECS, &in); p.HasMorePages(); {
			out, err := p.NextPage(h.Ctx())
			if err != nil {
				t.Fatal(err)
			}
			if len(out.Families) > 1 {
				t.Fatalf("page of %d, want 1", len(out.Families))
			}
			all = append(all, out.Families...)
		}
		return all
	}
	for _, c := range []struct {
		in   ecs.ListTaskDefinitionFamiliesInput
		want []string
	}{
		{ecs.ListTaskDefinitionFamiliesInput{}, []string{"db", "web", "web-canary", "worker"}},
		{ecs.ListTaskDefinitionFamiliesInput{Status: types.TaskDefinitionFamilyStatusAll}, []string{"db", "web", "web-canary", "worker"}},
		{ecs.ListTaskDefinitionFamiliesInput{Status: types.TaskDefinitionFamilyStatusActive}, []string{"web", "web-canary"}},
		{ecs.ListTaskDefinitionFamiliesInput{Status: types.TaskDefinitionFamilyStatusInactive}, []string{"db", "worker"}},
		{ecs.ListTaskDefinitionFamiliesInput{FamilyPrefix: aws.String("w")}, []string{"web", "web-canary", "worker"}},
		{ecs.ListTaskDefinitionFamiliesInput{FamilyPrefix: aws.String("web"), Status: types.TaskDefinitionFamilyStatusActive}, []string{"web", "web-canary"}},
		{ecs.ListTaskDefinitionFamiliesInput{FamilyPrefix: aws.String("x")}, nil},
	} {
		if got := list(c.in); !slices.Equal(got, c.want) {
			t.Errorf("prefix %q status %q: got %v, want %v", aws.ToString(c.in.FamilyPrefix), c.in.Status, got, c.want)
		}
	}
	tdRegister(t, h, tdInput("worker"))
	if got := list(ecs.ListTaskDefinitionFamiliesInput{Status: types.TaskDefinitionFamilyStatusInactive}); !slices.Equal(got, []string{"db"}) {
		t.Errorf("after a new worker revision, INACTIVE families = %v, want [db]", got)
	}
}

func TestConcurrentRegistrationInOneFamily(t *testing.T) {
	h := servertest.Start(t)
	const n = 20
	revs := make(chan int32, n)
	errc := make(chan error, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			out, err := h.ECS.RegisterTaskDefinition(context.WithoutCancel(h.Ctx()), tdInput("race"))
			if err != nil {
				errc <- err
				return
			}
			revs <- out.TaskDefinition.Revision
		})
	}
	wg.Wait()
	close(revs)
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	var got []int32
	for r := range revs {
		got = append(got, r)
	}
	slices.Sort(got)
	for i, r := range got {
		if r != int32(i+1) {
			t.Fatalf("revisions %v, want 1..%d each once", got, n)
		}
	}
	if all := tdListAll(t, h, ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String("race")}); len(all) != n {
		t.Fatalf("listed %d revisions, want %d", len(all), n)
	}
}

// ignoreUnexported skips the SDK types' unexported bookkeeping fields.
var ignoreUnexported = cmp.FilterPath(func(p cmp.Path) bool {
	sf, ok := p.Last().(cmp.StructField)
	return ok && !token.IsExported(sf.Name())
}, cmp.Ignore())

// withinAMillisecond tolerates the millisecond model.Time can lose when a
// stored timestamp is decoded (it truncates float seconds instead of
// rounding them); see the report on internal/model/time.go.
var withinAMillisecond = cmpopts.EquateApproxTime(time.Millisecond)

// TestTaskDefinitionRoundTrip registers a definition using many fields and
// checks that the SDK reads back exactly what was sent plus ECS's defaults.
func TestTaskDefinitionRoundTrip(t *testing.T) {
	h := servertest.Start(t)
	in, want := tdRichDefinition()
	reg := tdRegister(t, h, in)
	d, err := h.ECS.DescribeTaskDefinition(h.Ctx(), &ecs.DescribeTaskDefinitionInput{TaskDefinition: reg.TaskDefinitionArn})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(reg, d.TaskDefinition, ignoreUnexported, withinAMillisecond); diff != "" {
		t.Errorf("describe differs from register (-register +describe):\n%s", diff)
	}
	got := *d.TaskDefinition
	want.TaskDefinitionArn, want.RegisteredAt, want.RegisteredBy = got.TaskDefinitionArn, got.RegisteredAt, got.RegisteredBy
	if diff := cmp.Diff(want, got, ignoreUnexported); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}
