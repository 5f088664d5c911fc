package ecs_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsecs "github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

func tkTarget(ci types.ContainerInstance, name, value string) types.Attribute {
	a := tkAttr(name, value)
	a.TargetId = ci.ContainerInstanceArn
	return a
}

func tkListAttributes(t *testing.T, e *tkEnv, in awsecs.ListAttributesInput) []string {
	t.Helper()
	in.Cluster = aws.String("web")
	in.TargetType = types.TargetTypeContainerInstance
	var out []string
	p := awsecs.NewListAttributesPaginator(e.ECS, &in)
	for p.HasMorePages() {
		page, err := p.NextPage(e.ctx())
		if err != nil {
			t.Fatalf("ListAttributes %+v: %v", in, err)
		}
		for _, a := range page.Attributes {
			id := aws.ToString(a.TargetId)
			out = append(out, id[len(id)-4:]+" "+aws.ToString(a.Name)+"="+aws.ToString(a.Value))
			if a.TargetType != types.TargetTypeContainerInstance {
				t.Errorf("targetType = %q", a.TargetType)
			}
		}
	}
	return out
}

func TestAttributes(t *testing.T) {
	e := startTK(t)
	e.createCluster("web")
	a := e.register("web", 1, 1, tkAttr("ecs.os-type", "linux"))
	b := e.register("web", 1, 1, tkAttr("ecs.os-type", "linux"))
	if aws.ToString(a.ContainerInstanceArn) > aws.ToString(b.ContainerInstanceArn) {
		a, b = b, a // listing is in instance id order
	}
	short := func(ci types.ContainerInstance) string {
		s := aws.ToString(ci.ContainerInstanceArn)
		return s[len(s)-4:]
	}
	bID := aws.ToString(b.ContainerInstanceArn)[len(aws.ToString(b.ContainerInstanceArn))-32:]

	put, err := e.ECS.PutAttributes(e.ctx(), &awsecs.PutAttributesInput{Cluster: aws.String("web"), Attributes: []types.Attribute{
		tkTarget(a, "stack", "prod"), tkTarget(a, "team", "blue"), tkTarget(a, "gpu", ""),
		{Name: aws.String("stack"), Value: aws.String("dev"), TargetId: aws.String(bID), TargetType: types.TargetTypeContainerInstance},
	}})
	if err != nil || len(put.Attributes) != 4 {
		t.Fatalf("PutAttributes = %+v %v", put, err)
	}
	// Put replaces a value.
	if _, err := e.ECS.PutAttributes(e.ctx(), &awsecs.PutAttributesInput{Cluster: aws.String("web"), Attributes: []types.Attribute{tkTarget(a, "team", "red")}}); err != nil {
		t.Fatal(err)
	}
	ci := e.describeInstance("web", aws.ToString(a.ContainerInstanceArn))
	if v, _ := tkAttrValue(ci.Attributes, "team"); v != "red" || ci.Version != a.Version+2 {
		t.Errorf("attributes %+v version %d", ci.Attributes, ci.Version)
	}

	all := []string{short(a) + " ecs.os-type=linux", short(a) + " gpu=", short(a) + " stack=prod", short(a) + " team=red",
		short(b) + " ecs.os-type=linux", short(b) + " stack=dev"}
	for _, max := range []int32{1, 2, 100} {
		if got := tkListAttributes(t, e, awsecs.ListAttributesInput{MaxResults: aws.Int32(max)}); !slices.Equal(got, all) {
			t.Errorf("maxResults %d: %v, want %v", max, got, all)
		}
	}
	if got := tkListAttributes(t, e, awsecs.ListAttributesInput{AttributeName: aws.String("stack")}); !slices.Equal(got, []string{short(a) + " stack=prod", short(b) + " stack=dev"}) {
		t.Errorf("by name: %v", got)
	}
	if got := tkListAttributes(t, e, awsecs.ListAttributesInput{AttributeName: aws.String("stack"), AttributeValue: aws.String("dev"), MaxResults: aws.Int32(1)}); !slices.Equal(got, []string{short(b) + " stack=dev"}) {
		t.Errorf("by name and value: %v", got)
	}

	del, err := e.ECS.DeleteAttributes(e.ctx(), &awsecs.DeleteAttributesInput{Cluster: aws.String("web"), Attributes: []types.Attribute{
		tkTarget(a, "stack", ""), tkTarget(a, "never-set", ""),
	}})
	if err != nil || len(del.Attributes) != 2 {
		t.Fatalf("DeleteAttributes = %+v %v", del, err)
	}
	if got := tkListAttributes(t, e, awsecs.ListAttributesInput{AttributeName: aws.String("stack")}); !slices.Equal(got, []string{short(b) + " stack=dev"}) {
		t.Errorf("after delete: %v", got)
	}

	// Placement sees attributes set with PutAttributes.
	e.simpleTaskDef("web", 0, 0)
	out := e.runTask(&awsecs.RunTaskInput{Cluster: aws.String("web"), TaskDefinition: aws.String("web"),
		PlacementConstraints: []types.PlacementConstraint{{Type: types.PlacementConstraintTypeMemberOf, Expression: aws.String("attribute:team == red")}}})
	if len(out.Tasks) != 1 || aws.ToString(out.Tasks[0].ContainerInstanceArn) != aws.ToString(a.ContainerInstanceArn) {
		t.Errorf("placement by attribute = %+v", tkFailures(out.Failures))
	}

	// A deregistered instance's attributes are no longer listed or settable.
	if _, err := e.ECS.DeregisterContainerInstance(e.ctx(), &awsecs.DeregisterContainerInstanceInput{Cluster: aws.String("web"), ContainerInstance: b.ContainerInstanceArn}); err != nil {
		t.Fatal(err)
	}
	if got := tkListAttributes(t, e, awsecs.ListAttributesInput{AttributeName: aws.String("stack")}); len(got) != 0 {
		t.Errorf("INACTIVE instance attributes listed: %v", got)
	}
	_, err = e.ECS.PutAttributes(e.ctx(), &awsecs.PutAttributesInput{Cluster: aws.String("web"), Attributes: []types.Attribute{tkTarget(b, "x", "y")}})
	tkWantErr(t, err, "TargetNotFoundException", "")
}

func TestAttributeLimitsAndErrors(t *testing.T) {
	e := startTK(t)
	e.createCluster("web")
	e.createCluster("other")
	ci := e.register("web", 1, 1)
	foreign := e.register("other", 1, 1)
	var ten []types.Attribute
	for i := range 10 {
		ten = append(ten, tkTarget(ci, fmt.Sprintf("c%d", i), "v"))
	}
	if _, err := e.ECS.PutAttributes(e.ctx(), &awsecs.PutAttributesInput{Cluster: aws.String("web"), Attributes: ten}); err != nil {
		t.Fatalf("ten custom attributes: %v", err)
	}
	// ECS's own names do not count against the limit; an eleventh custom one does.
	if _, err := e.ECS.PutAttributes(e.ctx(), &awsecs.PutAttributesInput{Cluster: aws.String("web"), Attributes: []types.Attribute{
		tkTarget(ci, "ecs.instance-type", "t3.large"), tkTarget(ci, "c0", "replaced")}}); err != nil {
		t.Fatalf("built-in attribute: %v", err)
	}
	_, err := e.ECS.PutAttributes(e.ctx(), &awsecs.PutAttributesInput{Cluster: aws.String("web"), Attributes: []types.Attribute{
		tkTarget(ci, "c1", "changed"), tkTarget(ci, "c10", "v")}})
	tkWantErr(t, err, "AttributeLimitExceededException", "")
	got := e.describeInstance("web", aws.ToString(ci.ContainerInstanceArn))
	if v, _ := tkAttrValue(got.Attributes, "c1"); v != "v" {
		t.Errorf("refused call wrote c1 = %q", v)
	}

	missing := e.scope.ContainerInstance("web", strings.Repeat("9", 32))
	cases := []struct {
		name string
		ats  []types.Attribute
		code string
	}{
		{"empty", []types.Attribute{}, "InvalidParameterException"},
		{"eleven in one call", append(slices.Clone(ten), tkTarget(ci, "c11", "v")), "InvalidParameterException"},
		{"no target", []types.Attribute{tkAttr("a", "b")}, "InvalidParameterException"},
		{"short id without type", []types.Attribute{{Name: aws.String("a"), TargetId: aws.String(strings.Repeat("9", 32))}}, "InvalidParameterException"},
		{"bad name", []types.Attribute{tkTarget(ci, "a b", "c")}, "InvalidParameterException"},
		{"bad value", []types.Attribute{tkTarget(ci, "a", "x#y")}, "InvalidParameterException"},
		{"long value", []types.Attribute{tkTarget(ci, "a", strings.Repeat("v", 129))}, "InvalidParameterException"},
		{"unknown target", []types.Attribute{{Name: aws.String("a"), TargetId: aws.String(missing)}}, "TargetNotFoundException"},
		{"other cluster's instance", []types.Attribute{tkTarget(foreign, "a", "b")}, "TargetNotFoundException"},
		{"one bad target spoils all", []types.Attribute{tkTarget(ci, "zz", "b"), {Name: aws.String("a"), TargetId: aws.String(missing)}}, "TargetNotFoundException"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := e.ECS.PutAttributes(e.ctx(), &awsecs.PutAttributesInput{Cluster: aws.String("web"), Attributes: c.ats})
			tkWantErr(t, err, c.code, "")
		})
	}
	if _, ok := tkAttrValue(e.describeInstance("web", aws.ToString(ci.ContainerInstanceArn)).Attributes, "zz"); ok {
		t.Errorf("attribute written by a refused call")
	}
	_, err = e.ECS.DeleteAttributes(e.ctx(), &awsecs.DeleteAttributesInput{Cluster: aws.String("web"), Attributes: []types.Attribute{{Name: aws.String("a"), TargetId: aws.String(missing)}}})
	tkWantErr(t, err, "TargetNotFoundException", "")
	_, err = e.ECS.PutAttributes(e.ctx(), &awsecs.PutAttributesInput{Cluster: aws.String("nope"), Attributes: []types.Attribute{tkTarget(ci, "a", "b")}})
	tkWantErr(t, err, "ClusterNotFoundException", "")
	_, err = e.ECS.ListAttributes(e.ctx(), &awsecs.ListAttributesInput{Cluster: aws.String("web"), TargetType: types.TargetTypeContainerInstance, AttributeValue: aws.String("v")})
	tkWantErr(t, err, "InvalidParameterException", "")
	_, err = e.ECS.ListAttributes(e.ctx(), &awsecs.ListAttributesInput{Cluster: aws.String("web"), TargetType: types.TargetTypeContainerInstance, NextToken: aws.String("L2Vjcy9jbHVzdGVycy8")})
	tkWantErr(t, err, "InvalidParameterException", "")
}
