package elbv2_test

import (
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

func TestTags(t *testing.T) {
	e := start(t)
	out, err := e.c.CreateLoadBalancer(e.ctx, &elb.CreateLoadBalancerInput{Name: aws.String("web"),
		Tags: []types.Tag{{Key: aws.String("env"), Value: aws.String("prod")}}})
	if err != nil {
		t.Fatal(err)
	}
	lb := aws.ToString(out.LoadBalancers[0].LoadBalancerArn)
	tg := aws.ToString(e.tg("web", types.ProtocolEnumHttp, types.TargetTypeEnumIp).TargetGroupArn)
	l := aws.ToString(e.listener(lb, e.port(), types.ProtocolEnumHttp, forward(tg)).ListenerArn)
	rule, err := e.c.CreateRule(e.ctx, &elb.CreateRuleInput{ListenerArn: aws.String(l), Priority: aws.Int32(1), Conditions: pathIs("/a"),
		Actions: forward(tg), Tags: []types.Tag{{Key: aws.String("r"), Value: aws.String("1")}}})
	if err != nil {
		t.Fatal(err)
	}
	r := aws.ToString(rule.Rules[0].RuleArn)
	all := []string{lb, tg, l, r}
	if _, err := e.c.AddTags(e.ctx, &elb.AddTagsInput{ResourceArns: all,
		Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("core")}, {Key: aws.String("env"), Value: aws.String("dev")}}}); err != nil {
		t.Fatal(err)
	}
	d, err := e.c.DescribeTags(e.ctx, &elb.DescribeTagsInput{ResourceArns: all})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"env=dev team=core", "team=core env=dev", "team=core env=dev", "r=1 team=core env=dev"}
	for i, td := range d.TagDescriptions {
		s := ""
		for j, tag := range td.Tags {
			if j > 0 {
				s += " "
			}
			s += aws.ToString(tag.Key) + "=" + aws.ToString(tag.Value)
		}
		if aws.ToString(td.ResourceArn) != all[i] || s != want[i] {
			t.Errorf("%s: %q, want %q", aws.ToString(td.ResourceArn), s, want[i])
		}
	}
	if _, err := e.c.RemoveTags(e.ctx, &elb.RemoveTagsInput{ResourceArns: []string{lb}, TagKeys: []string{"env", "absent"}}); err != nil {
		t.Fatal(err)
	}
	d, _ = e.c.DescribeTags(e.ctx, &elb.DescribeTagsInput{ResourceArns: []string{lb}})
	if len(d.TagDescriptions[0].Tags) != 1 || aws.ToString(d.TagDescriptions[0].Tags[0].Key) != "team" {
		t.Errorf("after remove %+v", d.TagDescriptions[0].Tags)
	}

	// The listener's default rule has tags of its own.
	rules, err := e.c.DescribeRules(e.ctx, &elb.DescribeRulesInput{ListenerArn: aws.String(l)})
	if err != nil {
		t.Fatal(err)
	}
	def := aws.ToString(rules.Rules[len(rules.Rules)-1].RuleArn)
	if _, err := e.c.AddTags(e.ctx, &elb.AddTagsInput{ResourceArns: []string{def}, Tags: []types.Tag{{Key: aws.String("d"), Value: aws.String("1")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.RemoveTags(e.ctx, &elb.RemoveTagsInput{ResourceArns: []string{def}, TagKeys: []string{"team"}}); err != nil {
		t.Fatal(err)
	}
	d, err = e.c.DescribeTags(e.ctx, &elb.DescribeTagsInput{ResourceArns: []string{l, def}})
	if err != nil || len(d.TagDescriptions) != 2 || len(d.TagDescriptions[0].Tags) != 2 || len(d.TagDescriptions[1].Tags) != 1 ||
		aws.ToString(d.TagDescriptions[1].Tags[0].Key) != "d" {
		t.Errorf("listener and default rule tags: %+v, %v", d, err)
	}

	for _, c := range []struct {
		arn, code string
	}{{lb + "0", "LoadBalancerNotFound"}, {tg + "0", "TargetGroupNotFound"}, {l + "0", "ListenerNotFound"}, {r + "0", "RuleNotFound"},
		{"arn:aws:ecs:us-east-1:000000000000:cluster/x", "ValidationError"}} {
		_, err := e.c.DescribeTags(e.ctx, &elb.DescribeTagsInput{ResourceArns: []string{c.arn}})
		wantCode(t, err, c.code)
	}
	_, err = e.c.AddTags(e.ctx, &elb.AddTagsInput{ResourceArns: []string{lb}, Tags: []types.Tag{{Key: aws.String("k")}, {Key: aws.String("k")}}})
	wantCode(t, err, "DuplicateTagKeys")
	_, err = e.c.AddTags(e.ctx, &elb.AddTagsInput{ResourceArns: []string{lb}, Tags: []types.Tag{{Key: aws.String("aws:x")}}})
	wantCode(t, err, "ValidationError", "reserved")
	var many []types.Tag
	for i := range 50 {
		many = append(many, types.Tag{Key: aws.String(fmt.Sprintf("k%d", i))})
	}
	_, err = e.c.AddTags(e.ctx, &elb.AddTagsInput{ResourceArns: []string{lb}, Tags: many})
	wantCode(t, err, "TooManyTags")
	_, err = e.c.AddTags(e.ctx, &elb.AddTagsInput{ResourceArns: []string{lb}, Tags: []types.Tag{{Key: aws.String("bad\x01")}}})
	wantCode(t, err, "ValidationError", "Member must satisfy regular expression pattern")
}
