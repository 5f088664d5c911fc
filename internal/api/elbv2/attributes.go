package elbv2

import (
	"context"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/quayside/quayside/internal/api/awsproto"
	"github.com/quayside/quayside/internal/errs"
	"github.com/quayside/quayside/internal/store"
)

func (a *API) attributeOps() map[string]awsproto.Handler {
	return map[string]awsproto.Handler{
		"DescribeLoadBalancerAttributes": awsproto.Typed(a.describeLBAttributes),
		"ModifyLoadBalancerAttributes":   awsproto.Typed(a.modifyLBAttributes),
		"DescribeTargetGroupAttributes":  awsproto.Typed(a.describeTGAttributes),
		"ModifyTargetGroupAttributes":    awsproto.Typed(a.modifyTGAttributes),
	}
}

// attr is one attribute a resource type has: its default and a check of
// the values it takes.
type attr struct {
	key, def string
	check    func(v string) string // "" if v is fine, else the constraint
}

func anyValue(string) string { return "" }

func boolValue(v string) string {
	if v == "true" || v == "false" {
		return ""
	}
	return "must be 'true' or 'false'"
}

func intRange(lo, hi int) func(string) string {
	return func(v string) string {
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			return "must be an integer between " + strconv.Itoa(lo) + " and " + strconv.Itoa(hi)
		}
		return ""
	}
}

// offOr accepts "off" or what check accepts.
func offOr(check func(string) string) func(string) string {
	return func(v string) string {
		if v == "off" || check(v) == "" {
			return ""
		}
		return "must be 'off' or " + strings.TrimPrefix(check(v), "must be ")
	}
}

func oneOf(vals ...string) func(string) string {
	return func(v string) string {
		if slices.Contains(vals, v) {
			return ""
		}
		return "must be one of '" + strings.Join(vals, ", ") + "'"
	}
}

var (
	lbCommonAttrs = []attr{
		{"access_logs.s3.enabled", "false", boolValue},
		{"access_logs.s3.bucket", "", anyValue},
		{"access_logs.s3.prefix", "", anyValue},
		{store.LBAttrDeletionProtection, "false", boolValue},
	}
	albAttrs = append(slices.Clone(lbCommonAttrs),
		attr{"client_keep_alive.seconds", "3600", intRange(60, 604800)},
		attr{"connection_logs.s3.enabled", "false", boolValue},
		attr{"connection_logs.s3.bucket", "", anyValue},
		attr{"connection_logs.s3.prefix", "", anyValue},
		attr{store.LBAttrIdleTimeout, "60", intRange(1, 4000)},
		attr{store.LBAttrCrossZone, "true", oneOf("true")},
		attr{"routing.http.desync_mitigation_mode", "defensive", oneOf("monitor", "defensive", "strictest")},
		attr{store.LBAttrDropInvalidHeaders, "false", boolValue},
		attr{"routing.http.preserve_host_header.enabled", "false", boolValue},
		attr{"routing.http.x_amzn_tls_version_and_cipher_suite.enabled", "false", boolValue},
		attr{"routing.http.xff_client_port.enabled", "false", boolValue},
		attr{store.LBAttrXFFHeaderProcessing, "append", oneOf("append", "preserve", "remove")},
		attr{store.LBAttrHTTP2, "true", boolValue},
		attr{"waf.fail_open.enabled", "false", boolValue},
		attr{"health_check_logs.s3.enabled", "false", boolValue},
		attr{"health_check_logs.s3.bucket", "", anyValue},
		attr{"health_check_logs.s3.prefix", "", anyValue},
		attr{"zonal_shift.config.enabled", "false", boolValue},
	)
	nlbAttrs = append(slices.Clone(lbCommonAttrs),
		attr{store.LBAttrCrossZone, "false", boolValue},
		attr{"dns_record.client_routing_policy", "any_availability_zone",
			oneOf("any_availability_zone", "availability_zone_affinity", "partial_availability_zone_affinity")},
		attr{"zonal_shift.config.enabled", "false", boolValue},
	)

	tgCommonAttrs = []attr{
		{store.TGAttrDeregistrationDelay, "300", intRange(0, 3600)},
		{store.TGAttrStickinessEnabled, "false", boolValue},
		{"load_balancing.cross_zone.enabled", "use_load_balancer_configuration", oneOf("true", "false", "use_load_balancer_configuration")},
		{"target_group_health.dns_failover.minimum_healthy_targets.count", "1", offOr(intRange(1, maxTargetsPerTG))},
		{"target_group_health.dns_failover.minimum_healthy_targets.percentage", "off", offOr(intRange(1, 100))},
		{"target_group_health.unhealthy_state_routing.minimum_healthy_targets.count", "1", intRange(1, maxTargetsPerTG)},
		{"target_group_health.unhealthy_state_routing.minimum_healthy_targets.percentage", "off", offOr(intRange(1, 100))},
	}
	httpTGAttrs = append(slices.Clone(tgCommonAttrs),
		attr{store.TGAttrStickinessType, "lb_cookie", oneOf("lb_cookie", "app_cookie")},
		attr{store.TGAttrLBCookieDuration, "86400", intRange(1, 604800)},
		attr{store.TGAttrAppCookieName, "", appCookieName},
		attr{store.TGAttrAppCookieDuration, "86400", intRange(1, 604800)},
		attr{store.TGAttrAlgorithm, store.AlgorithmRoundRobin, oneOf(store.AlgorithmRoundRobin, store.AlgorithmLeastOutstd, store.AlgorithmWeightedRandom)},
		attr{store.TGAttrAnomalyMitigation, "off", oneOf("on", "off")},
		attr{store.TGAttrSlowStart, "0", slowStart},
	)
	tcpTGAttrs = append(slices.Clone(tgCommonAttrs),
		attr{store.TGAttrStickinessType, "source_ip", oneOf("source_ip")},
		attr{"deregistration_delay.connection_termination.enabled", "false", boolValue},
		attr{"preserve_client_ip.enabled", "true", boolValue},
		attr{"proxy_protocol_v2.enabled", "false", oneOf("false")},
		attr{tgAttrUnhealthyTermination, "true", boolValue},
		attr{tgAttrUnhealthyDraining, "0", intRange(0, 360000)},
	)
)

// Network Load Balancer attributes on unhealthy targets.
const (
	tgAttrUnhealthyTermination = "target_health_state.unhealthy.connection_termination.enabled"
	tgAttrUnhealthyDraining    = "target_health_state.unhealthy.draining_interval_seconds"
)

func appCookieName(v string) string {
	l := strings.ToUpper(v)
	if strings.HasPrefix(l, "AWSALB") || strings.HasPrefix(l, "AWSALBAPP") || strings.HasPrefix(l, "AWSALBTG") || len(v) > 256 {
		return "must not start with AWSALB, AWSALBAPP or AWSALBTG and must be at most 256 characters"
	}
	return ""
}

func slowStart(v string) string {
	n, err := strconv.Atoi(v)
	if err != nil || (n != 0 && (n < 30 || n > 900)) {
		return "must be 0 or an integer between 30 and 900"
	}
	return ""
}

func lbAttrSet(typ string) []attr {
	if typ == store.LBTypeNetwork {
		return nlbAttrs
	}
	return albAttrs
}

func tgAttrSet(tg *store.TargetGroupRecord) []attr {
	if tg.Protocol == store.ProtocolTCP {
		return tcpTGAttrs
	}
	return httpTGAttrs
}

func defaults(set []attr) map[string]string {
	m := make(map[string]string, len(set))
	for _, at := range set {
		m[at.key] = at.def
	}
	return m
}

func defaultLBAttributes(typ string) map[string]string { return defaults(lbAttrSet(typ)) }

// lbAttributes are lb's attributes: what was stored over the defaults, so
// that keys added since it was created show with their default.
func lbAttributes(lb *store.LoadBalancerRecord) map[string]string {
	m := defaultLBAttributes(lb.Type)
	maps.Copy(m, lb.Attributes)
	return m
}

func defaultTGAttributes(tg *store.TargetGroupRecord) map[string]string {
	m := defaults(tgAttrSet(tg))
	if tg.Protocol == store.ProtocolTCP && tg.TargetType == store.TargetTypeIP {
		m["preserve_client_ip.enabled"] = "false"
	}
	return m
}

// applyAttrs checks kvs against set and writes them into cur. what names
// the resource type in messages ("Load balancer", "Target group").
func applyAttrs(cur map[string]string, set []attr, what string, kvs [][2]string) error {
	byKey := make(map[string]attr, len(set))
	for _, at := range set {
		byKey[at.key] = at
	}
	next := maps.Clone(cur)
	for _, kv := range kvs {
		at, ok := byKey[kv[0]]
		if !ok {
			return validation("%s attribute key '%s' is not recognized", what, kv[0])
		}
		if msg := at.check(kv[1]); msg != "" {
			return validation("%s attribute '%s' value '%s' is not valid: it %s", what, kv[0], kv[1], msg)
		}
		next[kv[0]] = kv[1]
	}
	maps.Copy(cur, next)
	return nil
}

func sortedKeys(m map[string]string) []string {
	keys := slices.Collect(maps.Keys(m))
	slices.Sort(keys)
	return keys
}

// attrKV is the shape the model's LoadBalancerAttribute,
// TargetGroupAttribute and ListenerAttribute share.
type attrKV = struct {
	Key   string `json:"Key,omitzero"`
	Value string `json:"Value"`
}

// attrsOut lists attributes as the API answers them, sorted by key.
func attrsOut[T ~attrKV](m map[string]string) []T {
	out := []T{}
	for _, k := range sortedKeys(m) {
		out = append(out, T{Key: k, Value: m[k]})
	}
	return out
}

func lbAttrsOut(m map[string]string) []LoadBalancerAttribute {
	return attrsOut[LoadBalancerAttribute](m)
}
func tgAttrsOut(m map[string]string) []TargetGroupAttribute { return attrsOut[TargetGroupAttribute](m) }

func (a *API) describeLBAttributes(ctx context.Context, in *DescribeLoadBalancerAttributesInput) (*DescribeLoadBalancerAttributesOutput, error) {
	var lb *store.LoadBalancerRecord
	err := a.view(ctx, func(tx store.ReadTx) (err error) {
		lb, err = a.getLB(tx, in.LoadBalancerArn)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &DescribeLoadBalancerAttributesOutput{Attributes: lbAttrsOut(lbAttributes(lb))}, nil
}

func (a *API) modifyLBAttributes(ctx context.Context, in *ModifyLoadBalancerAttributesInput) (*ModifyLoadBalancerAttributesOutput, error) {
	kvs := make([][2]string, 0, len(in.Attributes))
	for _, at := range in.Attributes {
		kvs = append(kvs, [2]string{at.Key, at.Value})
	}
	var lb *store.LoadBalancerRecord
	err := a.update(ctx, func(tx store.Tx) (err error) {
		if lb, err = a.getLB(tx, in.LoadBalancerArn); err != nil {
			return err
		}
		lb.Attributes = lbAttributes(lb)
		if err := checkLBAttrType(lb.Type, kvs); err != nil {
			return err
		}
		if err := applyAttrs(lb.Attributes, lbAttrSet(lb.Type), "Load balancer", kvs); err != nil {
			return err
		}
		if err := checkLogBuckets(lb.Attributes); err != nil {
			return err
		}
		return store.PutJSON(tx, store.LoadBalancerKey(lb.ID), lb)
	})
	if err != nil {
		return nil, err
	}
	return &ModifyLoadBalancerAttributesOutput{Attributes: lbAttrsOut(lb.Attributes)}, nil
}

func (a *API) describeTGAttributes(ctx context.Context, in *DescribeTargetGroupAttributesInput) (*DescribeTargetGroupAttributesOutput, error) {
	var tg *store.TargetGroupRecord
	err := a.view(ctx, func(tx store.ReadTx) (err error) {
		tg, err = a.getTG(tx, in.TargetGroupArn)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &DescribeTargetGroupAttributesOutput{Attributes: tgAttrsOut(tg.Attributes)}, nil
}

func (a *API) modifyTGAttributes(ctx context.Context, in *ModifyTargetGroupAttributesInput) (*ModifyTargetGroupAttributesOutput, error) {
	kvs := make([][2]string, 0, len(in.Attributes))
	for _, at := range in.Attributes {
		kvs = append(kvs, [2]string{at.Key, at.Value})
	}
	var tg *store.TargetGroupRecord
	err := a.update(ctx, func(tx store.Tx) (err error) {
		if tg, err = a.getTG(tx, in.TargetGroupArn); err != nil {
			return err
		}
		if tg.Attributes == nil {
			tg.Attributes = defaultTGAttributes(tg)
		}
		if err := applyAttrs(tg.Attributes, tgAttrSet(tg), "Target group", kvs); err != nil {
			return err
		}
		if err := checkTGAttrs(tg.Attributes); err != nil {
			return err
		}
		return store.PutJSON(tx, store.TargetGroupKey(tg.ID), tg)
	})
	if err != nil {
		return nil, err
	}
	return &ModifyTargetGroupAttributesOutput{Attributes: tgAttrsOut(tg.Attributes)}, nil
}

// checkLBAttrType refuses a key that only the other type of load balancer
// has, with AWS's error for it (an unknown key is a ValidationError).
func checkLBAttrType(typ string, kvs [][2]string) error {
	other := albAttrs
	if typ == store.LBTypeApplication {
		other = nlbAttrs
	}
	own := lbAttrSet(typ)
	for _, kv := range kvs {
		has := func(at attr) bool { return at.key == kv[0] }
		if !slices.ContainsFunc(own, has) && slices.ContainsFunc(other, has) {
			return errs.New(errInvalidConfig, "Load balancer attribute key '%s' is not supported on load balancers with type '%s'", kv[0], typ)
		}
	}
	return nil
}

// checkLogBuckets: logs cannot be turned on without a bucket to write to.
func checkLogBuckets(m map[string]string) error {
	for _, kind := range []string{"access_logs", "connection_logs", "health_check_logs"} {
		if m[kind+".s3.enabled"] == "true" && m[kind+".s3.bucket"] == "" {
			return validation("S3Bucket name cannot be empty")
		}
	}
	return nil
}

// checkTGAttrs checks the rules that tie a target group's attributes
// together (API reference, TargetGroupAttribute).
func checkTGAttrs(m map[string]string) error {
	if m[store.TGAttrStickinessType] == "app_cookie" && m[store.TGAttrStickinessEnabled] == "true" && m[store.TGAttrAppCookieName] == "" {
		return errs.New(errInvalidConfig, "The attribute 'stickiness.app_cookie.cookie_name' must be specified for stickiness type 'app_cookie'")
	}
	if err := checkWeightedRandom(m); err != nil {
		return err
	}
	// "This attribute can only be configured when
	// target_health_state.unhealthy.connection_termination.enabled is false."
	if v, ok := m[tgAttrUnhealthyDraining]; ok && v != "0" && m[tgAttrUnhealthyTermination] == "true" {
		return errs.New(errInvalidConfig, "The attribute '%s' can only be set when '%s' is 'false'", tgAttrUnhealthyDraining, tgAttrUnhealthyTermination)
	}
	return nil
}

// checkWeightedRandom: anomaly mitigation is "only available when
// load_balancing.algorithm.type is weighted_random" (API reference,
// TargetGroupAttribute), and the weighted random algorithm takes neither
// slow start mode nor sticky sessions (ALB user guide, routing
// algorithms).
func checkWeightedRandom(m map[string]string) error {
	random := m[store.TGAttrAlgorithm] == store.AlgorithmWeightedRandom
	switch {
	case m[store.TGAttrAnomalyMitigation] == "on" && !random:
		return errs.New(errInvalidConfig, "The attribute '%s' can only be 'on' when '%s' is '%s'",
			store.TGAttrAnomalyMitigation, store.TGAttrAlgorithm, store.AlgorithmWeightedRandom)
	case random && m[store.TGAttrSlowStart] != "" && m[store.TGAttrSlowStart] != "0":
		return errs.New(errInvalidConfig, "Slow start mode cannot be enabled with the '%s' load balancing algorithm", store.AlgorithmWeightedRandom)
	case random && m[store.TGAttrStickinessEnabled] == "true":
		return errs.New(errInvalidConfig, "Sticky sessions cannot be enabled with the '%s' load balancing algorithm", store.AlgorithmWeightedRandom)
	}
	return nil
}
