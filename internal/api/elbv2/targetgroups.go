package elbv2

import (
	"context"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/quayside/quayside/internal/api/awsproto"
	"github.com/quayside/quayside/internal/errs"
	"github.com/quayside/quayside/internal/store"
)

func (a *API) targetGroupOps() map[string]awsproto.Handler {
	return map[string]awsproto.Handler{
		"CreateTargetGroup":    awsproto.Typed(a.createTargetGroup),
		"DescribeTargetGroups": awsproto.Typed(a.describeTargetGroups),
		"ModifyTargetGroup":    awsproto.Typed(a.modifyTargetGroup),
		"DeleteTargetGroup":    awsproto.Typed(a.deleteTargetGroup),
	}
}

func validateTGName(name string) error {
	switch {
	case len(name) > 32:
		return validation("Target group name '%s' cannot be longer than '32' characters", name)
	case !nameRE.MatchString(name):
		return validation("Target group name '%s' can only contain characters that are alphanumeric characters or hyphens(-)", name)
	case strings.HasPrefix(name, "-") || strings.HasSuffix(name, "-"):
		return validation("Target group name '%s' cannot begin or end with '-'", name)
	}
	return nil
}

// healthIn is the health check part of CreateTargetGroup and
// ModifyTargetGroup.
type healthIn struct {
	enabled                               *bool
	protocol, port, path                  string
	interval, timeout, healthy, unhealthy *int32
	matcher                               *Matcher
}

// defaultHealthCheck is ELBv2's default for a target group's protocol.
func defaultHealthCheck(protocol string) store.HealthCheck {
	if protocol == store.ProtocolTCP {
		return store.HealthCheck{Enabled: true, Protocol: store.ProtocolTCP, Port: "traffic-port",
			IntervalSeconds: 30, TimeoutSeconds: 10, HealthyThreshold: 5, UnhealthyThreshold: 2}
	}
	return store.HealthCheck{Enabled: true, Protocol: store.ProtocolHTTP, Port: "traffic-port", Path: "/",
		IntervalSeconds: 30, TimeoutSeconds: 5, HealthyThreshold: 5, UnhealthyThreshold: 2, Matcher: "200"}
}

// applyHealth applies in to hc and checks the result for a target group of
// protocol.
func applyHealth(hc *store.HealthCheck, protocol string, in healthIn) error {
	if in.enabled != nil {
		if !*in.enabled {
			return validation("Health checks cannot be disabled for target groups with target type 'instance' or 'ip'")
		}
		hc.Enabled = true
	}
	if in.protocol != "" {
		switch {
		case in.protocol == store.ProtocolHTTP, in.protocol == store.ProtocolHTTPS:
		case in.protocol == store.ProtocolTCP && protocol == store.ProtocolTCP:
		default:
			return validation("Health check protocol '%s' is not supported for target groups with the '%s' protocol", in.protocol, protocol)
		}
		if in.protocol == store.ProtocolHTTPS {
			return errs.New(errUnsupportedProto, "Health check protocol 'HTTPS' is not supported by Quayside")
		}
		if hc.Protocol == store.ProtocolTCP && in.protocol != store.ProtocolTCP {
			if hc.Path == "" {
				hc.Path = "/"
			}
			if hc.Matcher == "" {
				hc.Matcher = "200-399"
			}
		}
		hc.Protocol = in.protocol
	}
	if in.port != "" {
		if in.port != "traffic-port" {
			if n, err := strconv.Atoi(in.port); err != nil || n < 1 || n > 65535 {
				return validation("Health check port '%s' must be 'traffic-port' or a port between 1 and 65535", in.port)
			}
		}
		hc.Port = in.port
	}
	if in.path != "" {
		if hc.Protocol == store.ProtocolTCP {
			return validation("A health check path cannot be set for the 'TCP' health check protocol")
		}
		if !strings.HasPrefix(in.path, "/") {
			return validation("Health check path '%s' must begin with a '/' character", in.path)
		}
		hc.Path = in.path
	}
	if in.interval != nil {
		hc.IntervalSeconds = *in.interval
	}
	if in.timeout != nil {
		hc.TimeoutSeconds = *in.timeout
	}
	if in.healthy != nil {
		hc.HealthyThreshold = *in.healthy
	}
	if in.unhealthy != nil {
		hc.UnhealthyThreshold = *in.unhealthy
	}
	if hc.TimeoutSeconds >= hc.IntervalSeconds {
		return validation("Health check interval must be greater than the timeout.")
	}
	if in.matcher != nil {
		if in.matcher.GrpcCode != "" {
			return validation("gRPC health check codes are not supported by Quayside")
		}
		if hc.Protocol == store.ProtocolTCP {
			return validation("A health check matcher cannot be set for the 'TCP' health check protocol")
		}
		if err := checkMatcher(in.matcher.HttpCode, protocol); err != nil {
			return err
		}
		hc.Matcher = in.matcher.HttpCode
	}
	if hc.Protocol == store.ProtocolTCP {
		hc.Path, hc.Matcher = "", ""
	}
	return nil
}

// checkMatcher accepts "200", "200,202" and "200-299" with codes 200–499
// for HTTP target groups (Application Load Balancers) and 200–599 for TCP
// ones (Network Load Balancers), as the API reference's Matcher says.
func checkMatcher(m, protocol string) error {
	hi := 499
	if protocol == store.ProtocolTCP {
		hi = 599
	}
	bad := validation("Health check matcher HTTP code '%s' must be a code, a comma-separated list or a range of codes between 200 and %d", m, hi)
	code := func(s string) (int, bool) {
		n, err := strconv.Atoi(s)
		return n, err == nil && len(s) == 3 && n >= 200 && n <= hi
	}
	if m == "" {
		return bad
	}
	if lo, hi, ok := strings.Cut(m, "-"); ok {
		l, ok1 := code(lo)
		h, ok2 := code(hi)
		if !ok1 || !ok2 || l > h {
			return bad
		}
		return nil
	}
	for _, c := range strings.Split(m, ",") {
		if _, ok := code(c); !ok {
			return bad
		}
	}
	return nil
}

func (a *API) createTargetGroup(ctx context.Context, in *CreateTargetGroupInput) (*CreateTargetGroupOutput, error) {
	if err := validateTGName(in.Name); err != nil {
		return nil, err
	}
	tt := string(in.TargetType)
	if tt == "" {
		tt = store.TargetTypeInstance
	}
	if tt != store.TargetTypeInstance && tt != store.TargetTypeIP {
		return nil, validation("Target type '%s' is not supported; Quayside target groups have target type 'instance' or 'ip'", tt)
	}
	proto := string(in.Protocol)
	if proto == "" {
		return nil, validation("A protocol must be specified")
	}
	if proto != store.ProtocolHTTP && proto != store.ProtocolTCP {
		return nil, errs.New(errUnsupportedProto, "Protocol '%s' is not supported; Quayside target groups use 'HTTP' or 'TCP'", proto)
	}
	if in.Port == nil {
		return nil, validation("A port must be specified")
	}
	if in.ProtocolVersion != "" && in.ProtocolVersion != "HTTP1" {
		return nil, validation("Protocol version '%s' is not supported; Quayside target groups use 'HTTP1'", in.ProtocolVersion)
	}
	if in.IpAddressType != "" && in.IpAddressType != "ipv4" {
		return nil, validation("IP address type '%s' is not supported; Quayside target groups use 'ipv4'", in.IpAddressType)
	}
	tags, err := tagsIn(in.Tags)
	if err != nil {
		return nil, err
	}
	tg := &store.TargetGroupRecord{
		ID: newID(), Name: in.Name, Protocol: proto, Port: *in.Port, VpcID: in.VpcId, TargetType: tt,
		IPAddressType: "ipv4", HealthCheck: defaultHealthCheck(proto), CreatedTime: a.at(), Tags: tags,
	}
	if proto == store.ProtocolHTTP {
		tg.ProtocolVersion = "HTTP1"
	}
	if tg.VpcID == "" {
		tg.VpcID = defaultVPC
	}
	tg.Arn = a.tgARN(tg.Name, tg.ID)
	tg.Attributes = defaultTGAttributes(tg)
	err = applyHealth(&tg.HealthCheck, proto, healthIn{
		enabled: in.HealthCheckEnabled, protocol: string(in.HealthCheckProtocol), port: in.HealthCheckPort, path: in.HealthCheckPath,
		interval: in.HealthCheckIntervalSeconds, timeout: in.HealthCheckTimeoutSeconds,
		healthy: in.HealthyThresholdCount, unhealthy: in.UnhealthyThresholdCount, matcher: in.Matcher,
	})
	if err != nil {
		return nil, err
	}
	var out *store.TargetGroupRecord
	err = a.update(ctx, func(tx store.Tx) error {
		all, err := scanAll[store.TargetGroupRecord](tx, store.TargetGroupsPrefix)
		if err != nil {
			return err
		}
		for _, o := range all {
			if o.Name != tg.Name {
				continue
			}
			// CreateTargetGroup is idempotent for the same settings.
			if o.Protocol == tg.Protocol && o.Port == tg.Port && o.TargetType == tg.TargetType &&
				o.VpcID == tg.VpcID && reflect.DeepEqual(o.HealthCheck, tg.HealthCheck) {
				out = o
				return nil
			}
			return errs.New(errDuplicateTGName, "A target group with the same name '%s' exists, but with different settings", tg.Name)
		}
		if len(all) >= maxTargetGroups {
			return errs.New(errTooManyTGs, "The maximum number of target groups (%d) has been reached", maxTargetGroups)
		}
		out = tg
		return store.PutJSON(tx, store.TargetGroupKey(tg.ID), tg)
	})
	if err != nil {
		return nil, err
	}
	return &CreateTargetGroupOutput{TargetGroups: []TargetGroup{a.tgOut(out, nil)}}, nil
}

// getTG reads the target group an ARN names.
func (a *API) getTG(tx store.ReadTx, s string) (*store.TargetGroupRecord, error) {
	r, err := a.parseARN(s, "targetgroup")
	if err != nil {
		return nil, err
	}
	var tg store.TargetGroupRecord
	if r.ours {
		_, ok, err := store.GetJSON(tx, store.TargetGroupKey(r.tg), &tg)
		if err != nil {
			return nil, err
		}
		if ok && tg.Arn == s {
			return &tg, nil
		}
	}
	return nil, errs.New(errTGNotFound, "Target groups '%s' not found", s)
}

func (a *API) describeTargetGroups(ctx context.Context, in *DescribeTargetGroupsInput) (*DescribeTargetGroupsOutput, error) {
	n := 0
	for _, set := range []bool{in.LoadBalancerArn != "", len(in.TargetGroupArns) > 0, len(in.Names) > 0} {
		if set {
			n++
		}
	}
	if n > 1 {
		return nil, validation("A load balancer ARN, target group ARNs and target group names cannot be specified at the same time")
	}
	var tgs []*store.TargetGroupRecord
	var used map[string][]string
	err := a.view(ctx, func(tx store.ReadTx) error {
		var err error
		if used, err = store.TargetGroupUsers(tx); err != nil {
			return err
		}
		if len(in.TargetGroupArns) > 0 {
			for _, s := range in.TargetGroupArns {
				tg, err := a.getTG(tx, s)
				if errs.CodeOf(err) == errTGNotFound {
					return errs.New(errTGNotFound, msgTGNotFound)
				}
				if err != nil {
					return err
				}
				tgs = append(tgs, tg)
			}
			return nil
		}
		all, err := scanByCreation[store.TargetGroupRecord](tx, store.TargetGroupsPrefix)
		if err != nil {
			return err
		}
		switch {
		case in.LoadBalancerArn != "":
			lb, err := a.getLB(tx, in.LoadBalancerArn)
			if err != nil {
				return err
			}
			for _, tg := range all {
				if slices.Contains(used[tg.ID], lb.Arn) {
					tgs = append(tgs, tg)
				}
			}
		case len(in.Names) > 0:
			for _, name := range in.Names {
				i := slices.IndexFunc(all, func(tg *store.TargetGroupRecord) bool { return tg.Name == name })
				if i < 0 {
					return errs.New(errTGNotFound, "Target groups '[%s]' not found", name)
				}
				tgs = append(tgs, all[i])
			}
		default:
			tgs = all
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	pg, next, err := page(tgs, func(tg *store.TargetGroupRecord) string { return tg.ID }, in.Marker, in.PageSize)
	if err != nil {
		return nil, err
	}
	out := &DescribeTargetGroupsOutput{TargetGroups: []TargetGroup{}, NextMarker: next}
	for _, tg := range pg {
		out.TargetGroups = append(out.TargetGroups, a.tgOut(tg, used[tg.ID]))
	}
	return out, nil
}

func (a *API) modifyTargetGroup(ctx context.Context, in *ModifyTargetGroupInput) (*ModifyTargetGroupOutput, error) {
	var tg *store.TargetGroupRecord
	var used []string
	err := a.update(ctx, func(tx store.Tx) (err error) {
		if tg, err = a.getTG(tx, in.TargetGroupArn); err != nil {
			return err
		}
		err = applyHealth(&tg.HealthCheck, tg.Protocol, healthIn{
			enabled: in.HealthCheckEnabled, protocol: string(in.HealthCheckProtocol), port: in.HealthCheckPort, path: in.HealthCheckPath,
			interval: in.HealthCheckIntervalSeconds, timeout: in.HealthCheckTimeoutSeconds,
			healthy: in.HealthyThresholdCount, unhealthy: in.UnhealthyThresholdCount, matcher: in.Matcher,
		})
		if err != nil {
			return err
		}
		u, err := store.TargetGroupUsers(tx)
		if err != nil {
			return err
		}
		used = u[tg.ID]
		return store.PutJSON(tx, store.TargetGroupKey(tg.ID), tg)
	})
	if err != nil {
		return nil, err
	}
	return &ModifyTargetGroupOutput{TargetGroups: []TargetGroup{a.tgOut(tg, used)}}, nil
}

func (a *API) deleteTargetGroup(ctx context.Context, in *DeleteTargetGroupInput) (*DeleteTargetGroupOutput, error) {
	err := a.update(ctx, func(tx store.Tx) error {
		tg, err := a.getTG(tx, in.TargetGroupArn)
		if errs.CodeOf(err) == errTGNotFound {
			return nil // deleting a deleted target group succeeds
		}
		if err != nil {
			return err
		}
		used, err := store.TargetGroupUsers(tx)
		if err != nil {
			return err
		}
		if len(used[tg.ID]) > 0 {
			return errs.New(errResourceInUse, "Target group '%s' is currently in use by a listener or a rule", tg.Arn)
		}
		var keys []string
		if err := tx.Scan(store.TargetsOfKey(tg.ID), "", func(kv store.KV) (bool, error) {
			keys = append(keys, kv.Key)
			return true, nil
		}); err != nil {
			return err
		}
		for _, k := range keys {
			if err := tx.Delete(k); err != nil {
				return err
			}
		}
		return tx.Delete(store.TargetGroupKey(tg.ID))
	})
	if err != nil {
		return nil, err
	}
	return &DeleteTargetGroupOutput{}, nil
}
