package elbv2

import (
	"context"
	"slices"
	"strconv"

	"github.com/quayside/quayside/internal/api/awsproto"
	"github.com/quayside/quayside/internal/errs"
	"github.com/quayside/quayside/internal/store"
)

func (a *API) ruleOps() map[string]awsproto.Handler {
	return map[string]awsproto.Handler{
		"CreateRule":        awsproto.Typed(a.createRule),
		"DescribeRules":     awsproto.Typed(a.describeRules),
		"ModifyRule":        awsproto.Typed(a.modifyRule),
		"DeleteRule":        awsproto.Typed(a.deleteRule),
		"SetRulePriorities": awsproto.Typed(a.setRulePriorities),
	}
}

// ruleRef is a rule as read for an operation: a stored rule, or a
// listener's default rule (rule nil).
type ruleRef struct {
	rule     *store.RuleRecord
	listener *store.ListenerRecord
	lb       *store.LoadBalancerRecord
}

func (a *API) getRule(tx store.ReadTx, s string) (ruleRef, error) {
	r, err := a.parseARN(s, "listener-rule")
	if err != nil {
		return ruleRef{}, err
	}
	notFound := errs.New(errRuleNotFound, msgRuleNotFound)
	if !r.ours {
		return ruleRef{}, notFound
	}
	var l store.ListenerRecord
	var lb store.LoadBalancerRecord
	if _, ok, err := store.GetJSON(tx, store.ListenerKey(r.lb, r.listener), &l); err != nil || !ok {
		if err == nil {
			err = notFound
		}
		return ruleRef{}, err
	}
	if _, ok, err := store.GetJSON(tx, store.LoadBalancerKey(r.lb), &lb); err != nil || !ok {
		if err == nil {
			err = notFound
		}
		return ruleRef{}, err
	}
	if r.rule == l.DefaultRuleID {
		if a.ruleARN(&lb, l.ID, l.DefaultRuleID) != s {
			return ruleRef{}, notFound
		}
		return ruleRef{listener: &l, lb: &lb}, nil
	}
	var rule store.RuleRecord
	_, ok, err := store.GetJSON(tx, store.RuleKey(r.lb, r.listener, r.rule), &rule)
	if err != nil {
		return ruleRef{}, err
	}
	if !ok || rule.Arn != s {
		return ruleRef{}, notFound
	}
	return ruleRef{rule: &rule, listener: &l, lb: &lb}, nil
}

func (a *API) ruleOut(ref ruleRef) Rule {
	if ref.rule == nil {
		return Rule{RuleArn: a.ruleARN(ref.lb, ref.listener.ID, ref.listener.DefaultRuleID), Priority: "default",
			IsDefault: ptr(true), Conditions: []RuleCondition{}, Actions: actionsOut(ref.listener.DefaultActions)}
	}
	r := ref.rule
	return Rule{RuleArn: r.Arn, Priority: strconv.Itoa(int(r.Priority)), IsDefault: ptr(false),
		Conditions: conditionsOut(r.Conditions), Actions: actionsOut(r.Actions)}
}

func checkRuleListener(l *store.ListenerRecord) error {
	if l.Protocol != store.ProtocolHTTP && l.Protocol != store.ProtocolHTTPS {
		return validation("Rules can be added only to listeners of application load balancers; listener '%s' uses protocol '%s'", l.Arn, l.Protocol)
	}
	return nil
}

func (a *API) createRule(ctx context.Context, in *CreateRuleInput) (*CreateRuleOutput, error) {
	if len(in.Transforms) > 0 {
		return nil, validation("Rule transforms are not supported by Quayside")
	}
	if in.Priority == nil {
		return nil, validation("A rule priority must be specified")
	}
	conds, err := conditionsIn(in.Conditions)
	if err != nil {
		return nil, err
	}
	tags, err := tagsIn(in.Tags)
	if err != nil {
		return nil, err
	}
	var ref ruleRef
	err = a.update(ctx, func(tx store.Tx) error {
		l, lb, err := a.getListener(tx, in.ListenerArn)
		if err != nil {
			return err
		}
		if err := checkRuleListener(l); err != nil {
			return err
		}
		rules, err := scanAll[store.RuleRecord](tx, store.RulesOfKey(lb.ID, l.ID))
		if err != nil {
			return err
		}
		for _, r := range rules {
			if r.Priority == *in.Priority {
				return errs.New(errPriorityInUse, "Priority '%d' is currently in use", *in.Priority)
			}
		}
		n := 0
		if err := tx.Scan(store.RulesPrefix+lb.ID+"/", "", func(store.KV) (bool, error) { n++; return true, nil }); err != nil {
			return err
		}
		if n >= maxRulesPerLB {
			return errs.New(errTooManyRules, "The maximum number of rules per load balancer (%d) has been reached", maxRulesPerLB)
		}
		used, err := store.TargetGroupUsers(tx)
		if err != nil {
			return err
		}
		acts, err := a.actionsIn(tx, lb, l.Protocol, in.Actions, used)
		if err != nil {
			return err
		}
		r := &store.RuleRecord{ID: newID(), ListenerArn: l.Arn, ListenerID: l.ID, LoadBalancerID: lb.ID,
			Priority: *in.Priority, Conditions: conds, Actions: acts, Tags: tags}
		if err := checkUniqueTGs(tx, lb, actionsOwner{rule: r.ID}, acts); err != nil {
			return err
		}
		r.Arn = a.ruleARN(lb, l.ID, r.ID)
		ref = ruleRef{rule: r, listener: l, lb: lb}
		return store.PutJSON(tx, store.RuleKey(lb.ID, l.ID, r.ID), r)
	})
	if err != nil {
		return nil, err
	}
	return &CreateRuleOutput{Rules: []Rule{a.ruleOut(ref)}}, nil
}

func (a *API) describeRules(ctx context.Context, in *DescribeRulesInput) (*DescribeRulesOutput, error) {
	if in.ListenerArn == "" && len(in.RuleArns) == 0 {
		return nil, validation("You must specify either listener ARN or rule ARNs")
	}
	if in.ListenerArn != "" && len(in.RuleArns) > 0 {
		return nil, validation("Listener ARN and rule ARNs cannot be specified at the same time")
	}
	var refs []ruleRef
	err := a.view(ctx, func(tx store.ReadTx) error {
		if in.ListenerArn != "" {
			l, lb, err := a.getListener(tx, in.ListenerArn)
			if err != nil {
				return err
			}
			rules, err := scanAll[store.RuleRecord](tx, store.RulesOfKey(lb.ID, l.ID))
			if err != nil {
				return err
			}
			slices.SortFunc(rules, func(x, y *store.RuleRecord) int { return int(x.Priority) - int(y.Priority) })
			for _, r := range rules {
				refs = append(refs, ruleRef{rule: r, listener: l, lb: lb})
			}
			refs = append(refs, ruleRef{listener: l, lb: lb})
			return nil
		}
		for _, s := range in.RuleArns {
			ref, err := a.getRule(tx, s)
			if err != nil {
				return err
			}
			refs = append(refs, ref)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	key := func(r ruleRef) string {
		if r.rule == nil {
			return r.listener.DefaultRuleID
		}
		return r.rule.ID
	}
	pg, next, err := page(refs, key, in.Marker, in.PageSize)
	if err != nil {
		return nil, err
	}
	out := &DescribeRulesOutput{Rules: []Rule{}, NextMarker: next}
	for _, r := range pg {
		out.Rules = append(out.Rules, a.ruleOut(r))
	}
	return out, nil
}

func (a *API) modifyRule(ctx context.Context, in *ModifyRuleInput) (*ModifyRuleOutput, error) {
	if len(in.Transforms) > 0 {
		return nil, validation("Rule transforms are not supported by Quayside")
	}
	var conds []store.Condition
	if in.Conditions != nil {
		var err error
		if conds, err = conditionsIn(in.Conditions); err != nil {
			return nil, err
		}
	}
	var ref ruleRef
	err := a.update(ctx, func(tx store.Tx) (err error) {
		if ref, err = a.getRule(tx, in.RuleArn); err != nil {
			return err
		}
		if ref.rule == nil {
			return errs.New(errOpNotPermitted, "The default rule '%s' cannot be modified; use ModifyListener to change its actions", in.RuleArn)
		}
		if in.Conditions != nil {
			ref.rule.Conditions = conds
		}
		if in.Actions != nil {
			used, err := store.TargetGroupUsers(tx)
			if err != nil {
				return err
			}
			if ref.rule.Actions, err = a.actionsIn(tx, ref.lb, ref.listener.Protocol, in.Actions, used); err != nil {
				return err
			}
			if err := checkUniqueTGs(tx, ref.lb, actionsOwner{rule: ref.rule.ID}, ref.rule.Actions); err != nil {
				return err
			}
		}
		return store.PutJSON(tx, store.RuleKey(ref.lb.ID, ref.listener.ID, ref.rule.ID), ref.rule)
	})
	if err != nil {
		return nil, err
	}
	return &ModifyRuleOutput{Rules: []Rule{a.ruleOut(ref)}}, nil
}

func (a *API) deleteRule(ctx context.Context, in *DeleteRuleInput) (*DeleteRuleOutput, error) {
	err := a.update(ctx, func(tx store.Tx) error {
		ref, err := a.getRule(tx, in.RuleArn)
		if err != nil {
			return err
		}
		if ref.rule == nil {
			return errs.New(errOpNotPermitted, "Default rule '%s' cannot be deleted", in.RuleArn)
		}
		return tx.Delete(store.RuleKey(ref.lb.ID, ref.listener.ID, ref.rule.ID))
	})
	if err != nil {
		return nil, err
	}
	return &DeleteRuleOutput{}, nil
}

func (a *API) setRulePriorities(ctx context.Context, in *SetRulePrioritiesInput) (*SetRulePrioritiesOutput, error) {
	if len(in.RulePriorities) == 0 {
		return nil, validation("At least one rule priority must be specified")
	}
	var refs []ruleRef
	err := a.update(ctx, func(tx store.Tx) error {
		want := map[string]int32{} // rule ID → new priority
		var listener *store.ListenerRecord
		for _, p := range in.RulePriorities {
			if p.RuleArn == "" || p.Priority == nil {
				return validation("Each rule priority pair must have a rule ARN and a priority")
			}
			if *p.Priority < 1 || *p.Priority > 50000 {
				return validation("Priority '%d' must be between 1 and 50000", *p.Priority)
			}
			ref, err := a.getRule(tx, p.RuleArn)
			if err != nil {
				return err
			}
			if ref.rule == nil {
				return errs.New(errOpNotPermitted, "The priority of the default rule '%s' cannot be changed", p.RuleArn)
			}
			if listener != nil && listener.ID != ref.listener.ID {
				return validation("All rules must belong to the same listener")
			}
			listener = ref.listener
			if _, dup := want[ref.rule.ID]; dup {
				return validation("Rule '%s' is specified more than once", p.RuleArn)
			}
			want[ref.rule.ID] = *p.Priority
			refs = append(refs, ref)
		}
		all, err := scanAll[store.RuleRecord](tx, store.RulesOfKey(listener.LoadBalancerID, listener.ID))
		if err != nil {
			return err
		}
		taken := map[int32]bool{}
		for _, r := range all {
			if p, ok := want[r.ID]; ok {
				r.Priority = p
			}
			if taken[r.Priority] {
				return errs.New(errPriorityInUse, "Priority '%d' is currently in use", r.Priority)
			}
			taken[r.Priority] = true
		}
		for _, ref := range refs {
			ref.rule.Priority = want[ref.rule.ID]
			if err := store.PutJSON(tx, store.RuleKey(ref.lb.ID, ref.listener.ID, ref.rule.ID), ref.rule); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := &SetRulePrioritiesOutput{Rules: []Rule{}}
	for _, r := range refs {
		out.Rules = append(out.Rules, a.ruleOut(r))
	}
	return out, nil
}
