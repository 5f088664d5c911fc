package elbv2

import (
	"slices"
	"strconv"
	"strings"

	"github.com/quayside/quayside/internal/errs"
	"github.com/quayside/quayside/internal/store"
)

// fixedResponseTypes are the content types a fixed-response action may
// declare.
var fixedResponseTypes = []string{"text/plain", "text/css", "text/html", "application/javascript", "application/json"}

// actionsIn checks the actions of a listener (default actions) or rule of
// lb and returns them as stored. used is store.TargetGroupUsers(tx), for the rule that a
// target group serves one load balancer.
func (a *API) actionsIn(tx store.ReadTx, lb *store.LoadBalancerRecord, protocol string, acts []Action, used map[string][]string) ([]store.Action, error) {
	if len(acts) == 0 {
		return nil, validation("At least one action must be specified")
	}
	// An authenticate action comes before a forward one, so the reason a
	// pair is refused is the authenticate action: HTTPS only.
	for _, in := range acts {
		switch t := string(in.Type); t {
		case "authenticate-oidc", "authenticate-cognito", "jwt-validation":
			return nil, errs.New(errInvalidAction, "The action type '%s' is only supported on HTTPS listeners, which Quayside does not serve", t)
		}
	}
	if len(acts) > 1 {
		return nil, validation("Only one action can be specified: Quayside supports the terminal actions forward, redirect and fixed-response")
	}
	var out []store.Action
	for i, in := range acts {
		act := store.Action{Type: string(in.Type), Order: int32(i + 1)}
		if in.Order != nil {
			act.Order = *in.Order
		}
		if lb.Type == store.LBTypeNetwork && act.Type != store.ActionForward {
			return nil, errs.New(errInvalidAction, "The action type '%s' is not supported by network load balancers", act.Type)
		}
		var err error
		switch act.Type {
		case store.ActionForward:
			err = a.forwardIn(tx, lb, protocol, in, &act, used)
		case store.ActionFixedResponse:
			err = fixedResponseIn(in, &act)
		case store.ActionRedirect:
			err = redirectIn(in, &act)
		default:
			err = validation("Action type '%s' must be one of '[forward, redirect, fixed-response]'", act.Type)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, act)
	}
	return out, nil
}

func (a *API) forwardIn(tx store.ReadTx, lb *store.LoadBalancerRecord, protocol string, in Action, act *store.Action, used map[string][]string) error {
	if in.FixedResponseConfig != nil || in.RedirectConfig != nil {
		return validation("A forward action cannot have a redirect or fixed-response configuration")
	}
	var tuples []TargetGroupTuple
	if in.ForwardConfig != nil {
		tuples = in.ForwardConfig.TargetGroups
	}
	switch {
	case in.TargetGroupArn != "" && len(tuples) == 0:
		tuples = []TargetGroupTuple{{TargetGroupArn: in.TargetGroupArn}}
	case in.TargetGroupArn != "" && (len(tuples) != 1 || tuples[0].TargetGroupArn != in.TargetGroupArn):
		return validation("You cannot specify both a target group ARN and a forward configuration with other target groups")
	case len(tuples) == 0:
		return validation("A target group ARN must be specified")
	}
	if len(tuples) > maxTGsPerAction {
		return errs.New(errTooManyTGs, "A forward action can have at most %d target groups", maxTGsPerAction)
	}
	if lb.Type == store.LBTypeNetwork && len(tuples) > 1 {
		return validation("A forward action of a network load balancer can have only one target group")
	}
	fc := &store.ForwardConfig{}
	seen := map[string]bool{}
	for _, t := range tuples {
		if t.TargetGroupArn == "" {
			return validation("A target group ARN must be specified")
		}
		if seen[t.TargetGroupArn] {
			return validation("Target group '%s' is specified more than once", t.TargetGroupArn)
		}
		seen[t.TargetGroupArn] = true
		w := int32(1)
		if t.Weight != nil {
			w = *t.Weight
		}
		if w < 0 || w > 999 {
			return validation("Target group weight '%d' must be between 0 and 999", w)
		}
		tg, err := a.getTG(tx, t.TargetGroupArn)
		if err != nil {
			return err
		}
		if tg.Protocol != compatibleTG(protocol) {
			return errs.New(errIncompatible, "The target group '%s' uses protocol '%s', which is incompatible with the listener protocol '%s'", tg.Arn, tg.Protocol, protocol)
		}
		for _, other := range used[tg.ID] {
			if other != lb.Arn {
				return errs.New(errTGAssociation, "The following target groups cannot be associated with more than one load balancer: '%s'", tg.Arn)
			}
		}
		fc.TargetGroups = append(fc.TargetGroups, store.WeightedTargetGroup{Arn: tg.Arn, ID: tg.ID, Weight: w})
	}
	if in.ForwardConfig != nil && in.ForwardConfig.TargetGroupStickinessConfig != nil {
		st := in.ForwardConfig.TargetGroupStickinessConfig
		if st.Enabled != nil && *st.Enabled {
			if lb.Type == store.LBTypeNetwork {
				return validation("Target group stickiness is not supported by network load balancers")
			}
			if st.DurationSeconds == nil || *st.DurationSeconds < 1 || *st.DurationSeconds > 604800 {
				return validation("Target group stickiness duration must be between 1 and 604800 seconds")
			}
			fc.Stickiness = store.GroupStickiness{Enabled: true, DurationSeconds: *st.DurationSeconds}
		}
	}
	act.TargetGroupArn = in.TargetGroupArn
	act.Forward = fc
	return nil
}

// compatibleTG is the target group protocol a listener protocol forwards
// to.
func compatibleTG(listenerProtocol string) string {
	if listenerProtocol == store.ProtocolTCP {
		return store.ProtocolTCP
	}
	return store.ProtocolHTTP
}

func fixedResponseIn(in Action, act *store.Action) error {
	c := in.FixedResponseConfig
	if c == nil {
		return validation("A fixed-response action must have a fixed-response configuration")
	}
	if in.TargetGroupArn != "" || in.ForwardConfig != nil || in.RedirectConfig != nil {
		return validation("A fixed-response action cannot have a target group or a redirect configuration")
	}
	if c.ContentType != "" && !slices.Contains(fixedResponseTypes, c.ContentType) {
		return validation("Content type '%s' must be one of '%s'", c.ContentType, strings.Join(fixedResponseTypes, ", "))
	}
	act.FixedResponse = &store.FixedResponse{StatusCode: c.StatusCode, ContentType: c.ContentType, MessageBody: c.MessageBody}
	return nil
}

func redirectIn(in Action, act *store.Action) error {
	c := in.RedirectConfig
	if c == nil {
		return validation("A redirect action must have a redirect configuration")
	}
	if in.TargetGroupArn != "" || in.ForwardConfig != nil || in.FixedResponseConfig != nil {
		return validation("A redirect action cannot have a target group or a fixed-response configuration")
	}
	if c.Port != "" && c.Port != "#{port}" {
		if n, err := strconv.Atoi(c.Port); err != nil || n < 1 || n > 65535 {
			return validation("Redirect port '%s' must be '#{port}' or a port between 1 and 65535", c.Port)
		}
	}
	if c.Path != "" && !strings.HasPrefix(c.Path, "/") {
		return validation("Redirect path '%s' must start with a '/' character", c.Path)
	}
	if strings.HasPrefix(c.Query, "?") {
		return validation("Redirect query '%s' must not start with a '?' character", c.Query)
	}
	r := &store.Redirect{Protocol: c.Protocol, Host: c.Host, Port: c.Port, Path: c.Path, Query: c.Query, StatusCode: string(c.StatusCode)}
	if r.Protocol == "" {
		r.Protocol = "#{protocol}"
	}
	if r.Host == "" {
		r.Host = "#{host}"
	}
	if r.Port == "" {
		r.Port = "#{port}"
	}
	if r.Path == "" {
		r.Path = "/#{path}"
	}
	if r.Query == "" {
		r.Query = "#{query}"
	}
	if r.Protocol == "#{protocol}" && r.Host == "#{host}" && r.Port == "#{port}" && r.Path == "/#{path}" {
		return errs.New(errInvalidAction, "The redirect configuration is not valid: it must change at least one of protocol, host, port or path, or it would redirect to itself")
	}
	act.Redirect = r
	return nil
}

// actionsOut shows stored actions as ELBv2 does: a forward action has its
// ForwardConfig, and its TargetGroupArn when it has one target group.
func actionsOut(acts []store.Action) []Action {
	out := make([]Action, 0, len(acts))
	for _, act := range acts {
		o := Action{Type: ActionTypeEnum(act.Type), Order: ptr(act.Order)}
		switch {
		case act.Forward != nil:
			fc := &ForwardActionConfig{TargetGroupStickinessConfig: &TargetGroupStickinessConfig{Enabled: ptr(act.Forward.Stickiness.Enabled)}}
			if act.Forward.Stickiness.Enabled {
				fc.TargetGroupStickinessConfig.DurationSeconds = ptr(act.Forward.Stickiness.DurationSeconds)
			}
			for _, g := range act.Forward.TargetGroups {
				fc.TargetGroups = append(fc.TargetGroups, TargetGroupTuple{TargetGroupArn: g.Arn, Weight: ptr(g.Weight)})
			}
			o.ForwardConfig = fc
			if len(act.Forward.TargetGroups) == 1 {
				o.TargetGroupArn = act.Forward.TargetGroups[0].Arn
			}
		case act.FixedResponse != nil:
			o.FixedResponseConfig = &FixedResponseActionConfig{StatusCode: act.FixedResponse.StatusCode,
				ContentType: act.FixedResponse.ContentType, MessageBody: act.FixedResponse.MessageBody}
		case act.Redirect != nil:
			r := act.Redirect
			o.RedirectConfig = &RedirectActionConfig{Protocol: r.Protocol, Host: r.Host, Port: r.Port, Path: r.Path, Query: r.Query,
				StatusCode: RedirectActionStatusCodeEnum(r.StatusCode)}
		}
		out = append(out, o)
	}
	return out
}

// actionsOwner names whose actions a request replaces: a listener's
// default actions or a rule's (the zero value: new actions of no one).
type actionsOwner struct{ listener, rule string }

// checkUniqueTGs checks that lb, with acts replacing owner's actions,
// forwards to at most maxTGsPerALB target groups over all its listeners
// and rules. "If a target group is used by multiple actions for a load
// balancer, it is counted as only one use" (API reference,
// TooManyUniqueTargetGroupsPerLoadBalancerException). The quota is the
// Application Load Balancer's; a Network Load Balancer's listeners have
// one target group each, fewer than that.
func checkUniqueTGs(tx store.ReadTx, lb *store.LoadBalancerRecord, owner actionsOwner, acts []store.Action) error {
	if lb.Type != store.LBTypeApplication {
		return nil
	}
	tgs := map[string]bool{}
	note := func(acts []store.Action) {
		for _, act := range acts {
			if act.Forward != nil {
				for _, g := range act.Forward.TargetGroups {
					tgs[g.ID] = true
				}
			}
		}
	}
	note(acts)
	if len(tgs) == 0 {
		return nil
	}
	err := store.ScanJSON(tx, store.ListenersOfKey(lb.ID), "", func(_ string, l *store.ListenerRecord) (bool, error) {
		if l.ID != owner.listener {
			note(l.DefaultActions)
		}
		return true, nil
	})
	if err != nil {
		return err
	}
	err = store.ScanJSON(tx, store.RulesPrefix+lb.ID+"/", "", func(_ string, r *store.RuleRecord) (bool, error) {
		if r.ID != owner.rule {
			note(r.Actions)
		}
		return true, nil
	})
	if err != nil {
		return err
	}
	if len(tgs) > maxTGsPerALB {
		return errs.New(errTooManyUniqueTGs, "You have reached the maximum number of unique target groups that you can associate with a load balancer of type '%s': [%d]", lb.Type, maxTGsPerALB)
	}
	return nil
}
