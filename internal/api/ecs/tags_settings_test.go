package ecs_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/quayside/quayside/internal/server/servertest"
)

func TestTagging(t *testing.T) {
	h := servertest.Start(t)
	ctx := h.Ctx()
	c, err := h.ECS.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("tagged")})
	if err != nil {
		t.Fatal(err)
	}
	arn := c.Cluster.ClusterArn
	tag := func(k, v string) types.Tag { return types.Tag{Key: aws.String(k), Value: aws.String(v)} }
	if _, err := h.ECS.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: arn, Tags: []types.Tag{tag("a", "1"), tag("b", "2")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.ECS.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: arn, Tags: []types.Tag{tag("a", "3")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.ECS.UntagResource(ctx, &ecs.UntagResourceInput{ResourceArn: arn, TagKeys: []string{"b"}}); err != nil {
		t.Fatal(err)
	}
	l, err := h.ECS.ListTagsForResource(ctx, &ecs.ListTagsForResourceInput{ResourceArn: arn})
	if err != nil || len(l.Tags) != 1 || aws.ToString(l.Tags[0].Key) != "a" || aws.ToString(l.Tags[0].Value) != "3" {
		t.Fatalf("tags: %v %+v", err, l)
	}
	_, err = h.ECS.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: arn, Tags: []types.Tag{tag("AWS:x", "1")}})
	wantCode(t, err, "InvalidParameterException")
	var many []types.Tag
	for i := range 50 {
		many = append(many, tag(fmt.Sprint("k", i), "v"))
	}
	_, err = h.ECS.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: arn, Tags: many})
	wantCode(t, err, "LimitExceededException")
	_, err = h.ECS.ListTagsForResource(ctx, &ecs.ListTagsForResourceInput{ResourceArn: aws.String("arn:aws:ecs:us-east-1:000000000000:cluster/ghost")})
	wantCode(t, err, "ClusterNotFoundException")
	_, err = h.ECS.ListTagsForResource(ctx, &ecs.ListTagsForResourceInput{ResourceArn: aws.String("not-an-arn")})
	wantCode(t, err, "InvalidParameterException")
	_, err = h.ECS.ListTagsForResource(ctx, &ecs.ListTagsForResourceInput{ResourceArn: aws.String("arn:aws:ecs:us-east-1:000000000000:task/tagged/0123456789abcdef0123456789abcdef")})
	wantCode(t, err, "ResourceNotFoundException")
	// The failed calls left the stored tags alone.
	l, err = h.ECS.ListTagsForResource(ctx, &ecs.ListTagsForResourceInput{ResourceArn: arn})
	if err != nil || len(l.Tags) != 1 {
		t.Fatalf("tags after failures: %v %+v", err, l)
	}
	if _, err := h.ECS.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: arn}); err != nil {
		t.Fatal(err)
	}
	_, err = h.ECS.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: arn, Tags: []types.Tag{tag("c", "1")}})
	wantCode(t, err, "InvalidParameterException")
}

func TestTagTaskDefinition(t *testing.T) {
	h := servertest.Start(t)
	ctx := h.Ctx()
	td, err := h.ECS.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("tagme"),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("c"), Image: aws.String("img"), Memory: aws.Int32(32)}}})
	if err != nil {
		t.Fatal(err)
	}
	arn := td.TaskDefinition.TaskDefinitionArn
	if _, err := h.ECS.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: arn, Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}}); err != nil {
		t.Fatal(err)
	}
	d, err := h.ECS.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: arn, Include: []types.TaskDefinitionField{types.TaskDefinitionFieldTags}})
	if err != nil || len(d.Tags) != 1 {
		t.Fatalf("describe tags: %v %+v", err, d)
	}
}

func TestAccountSettings(t *testing.T) {
	h := servertest.Start(t)
	ctx := h.Ctx()
	eff, err := h.ECS.ListAccountSettings(ctx, &ecs.ListAccountSettingsInput{EffectiveSettings: true, Name: types.SettingNameTaskLongArnFormat})
	if err != nil || len(eff.Settings) != 1 || aws.ToString(eff.Settings[0].Value) != "enabled" || eff.Settings[0].Type != types.SettingTypeAwsManaged {
		t.Fatalf("effective default: %v %+v", err, eff)
	}
	if _, err := h.ECS.PutAccountSettingDefault(ctx, &ecs.PutAccountSettingDefaultInput{Name: types.SettingNameContainerInsights, Value: aws.String("enhanced")}); err != nil {
		t.Fatal(err)
	}
	user := "arn:aws:iam::000000000000:user/alice"
	if _, err := h.ECS.PutAccountSetting(ctx, &ecs.PutAccountSettingInput{Name: types.SettingNameContainerInsights, Value: aws.String("disabled"), PrincipalArn: aws.String(user)}); err != nil {
		t.Fatal(err)
	}
	alice, err := h.ECS.ListAccountSettings(ctx, &ecs.ListAccountSettingsInput{EffectiveSettings: true, PrincipalArn: aws.String(user), Name: types.SettingNameContainerInsights})
	if err != nil || aws.ToString(alice.Settings[0].Value) != "disabled" {
		t.Fatalf("alice: %v %+v", err, alice)
	}
	root, err := h.ECS.ListAccountSettings(ctx, &ecs.ListAccountSettingsInput{EffectiveSettings: true, Name: types.SettingNameContainerInsights})
	if err != nil || aws.ToString(root.Settings[0].Value) != "enhanced" {
		t.Fatalf("root: %v %+v", err, root)
	}
	var all []types.Setting
	p := ecs.NewListAccountSettingsPaginator(h.ECS, &ecs.ListAccountSettingsInput{EffectiveSettings: true, MaxResults: 4})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page.Settings...)
	}
	if len(all) != 11 {
		t.Fatalf("paged %d effective settings, want 11", len(all))
	}
	if _, err := h.ECS.DeleteAccountSetting(ctx, &ecs.DeleteAccountSettingInput{Name: types.SettingNameContainerInsights, PrincipalArn: aws.String(user)}); err != nil {
		t.Fatal(err)
	}
	alice, err = h.ECS.ListAccountSettings(ctx, &ecs.ListAccountSettingsInput{EffectiveSettings: true, PrincipalArn: aws.String(user), Name: types.SettingNameContainerInsights})
	if err != nil || aws.ToString(alice.Settings[0].Value) != "enhanced" {
		t.Fatalf("alice after delete: %v %+v", err, alice)
	}
	_, err = h.ECS.PutAccountSetting(ctx, &ecs.PutAccountSettingInput{Name: types.SettingNameTaskLongArnFormat, Value: aws.String("disabled")})
	wantCode(t, err, "InvalidParameterException")
	_, err = h.ECS.PutAccountSetting(ctx, &ecs.PutAccountSettingInput{Name: types.SettingNameContainerInsights, Value: aws.String("x"), PrincipalArn: aws.String("arn:aws:iam::999999999999:user/bob")})
	wantCode(t, err, "InvalidParameterException")
	_, err = h.ECS.DeleteAccountSetting(ctx, &ecs.DeleteAccountSettingInput{Name: types.SettingNameAwsvpcTrunking})
	wantCode(t, err, "InvalidParameterException")
	_, err = h.ECS.ListAccountSettings(ctx, &ecs.ListAccountSettingsInput{MaxResults: 11})
	wantCode(t, err, "InvalidParameterException")
}

// Tag limits count characters, as the request validator does, not bytes.
func TestTagLimitsCountCharacters(t *testing.T) {
	e := svcSetup(t)
	arn := aws.String("arn:aws:ecs:us-east-1:000000000000:cluster/c1")
	tag := func(k, v string) []types.Tag { return []types.Tag{{Key: aws.String(k), Value: aws.String(v)}} }
	if _, err := e.ECS.TagResource(e.ctx, &ecs.TagResourceInput{ResourceArn: arn,
		Tags: tag(strings.Repeat("ü", 128), strings.Repeat("é", 256))}); err != nil {
		t.Fatalf("128-character key, 256-character value: %v", err)
	}
	_, err := e.ECS.TagResource(e.ctx, &ecs.TagResourceInput{ResourceArn: arn, Tags: tag("k", strings.Repeat("é", 257))})
	svcWantErr(t, err, "InvalidParameterException", "")
	_, err = e.ECS.UntagResource(e.ctx, &ecs.UntagResourceInput{ResourceArn: arn, TagKeys: []string{strings.Repeat("ü", 128)}})
	if err != nil {
		t.Fatalf("untag 128-character key: %v", err)
	}
}

// A principal's settings are its own, not those of the roles under its
// name as a path (role/service-role vs role/service-role/foo).
func TestAccountSettingsOfNestedPrincipals(t *testing.T) {
	h := servertest.Start(t)
	ctx := h.Ctx()
	parent, child := "arn:aws:iam::000000000000:role/service-role", "arn:aws:iam::000000000000:role/service-role/foo"
	if _, err := h.ECS.PutAccountSetting(ctx, &ecs.PutAccountSettingInput{Name: types.SettingNameAwsvpcTrunking,
		Value: aws.String("enabled"), PrincipalArn: aws.String(child)}); err != nil {
		t.Fatal(err)
	}
	own, err := h.ECS.ListAccountSettings(ctx, &ecs.ListAccountSettingsInput{PrincipalArn: aws.String(parent)})
	if err != nil || len(own.Settings) != 0 {
		t.Fatalf("settings of %s: %v %+v", parent, err, own.Settings)
	}
	eff, err := h.ECS.ListAccountSettings(ctx, &ecs.ListAccountSettingsInput{PrincipalArn: aws.String(parent),
		EffectiveSettings: true, Name: types.SettingNameAwsvpcTrunking})
	if err != nil || len(eff.Settings) != 1 || aws.ToString(eff.Settings[0].Value) != "disabled" {
		t.Fatalf("effective setting of %s: %v %+v", parent, err, eff.Settings)
	}
	_, err = h.ECS.ListAccountSettings(ctx, &ecs.ListAccountSettingsInput{Value: aws.String("enabled")})
	wantCode(t, err, "InvalidParameterException")
}
