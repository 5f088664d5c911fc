package store

import (
	"strconv"
	"time"

	"github.com/quayside/quayside/internal/model"
)

// Keys of the Elastic Load Balancing (v2) state. Every record lives under
// /elbv2/, so the data plane can list and watch that one prefix and build
// its routing snapshot from it:
//
//	/elbv2/lb/<lbID>                               LoadBalancerRecord
//	/elbv2/listener/<lbID>/<listenerID>            ListenerRecord
//	/elbv2/rule/<lbID>/<listenerID>/<ruleID>       RuleRecord (not the default rule)
//	/elbv2/tg/<tgID>                               TargetGroupRecord
//	/elbv2/target/<tgID>/<targetID>/<port>         TargetRecord
//
// IDs are the 16 lowercase hex digits that end the resource's ARN. A
// load balancer's listeners are the keys under ListenersOfKey(lbID), a
// listener's rules those under RulesOfKey(lbID, listenerID), a target group's
// targets those under TargetsOfKey(tgID); records hold no lists of their
// children.
const (
	ELBv2Prefix         = "/elbv2/"
	LoadBalancersPrefix = "/elbv2/lb/"
	ListenersPrefix     = "/elbv2/listener/"
	RulesPrefix         = "/elbv2/rule/"
	TargetGroupsPrefix  = "/elbv2/tg/"
	TargetsPrefix       = "/elbv2/target/"
)

func LoadBalancerKey(lbID string) string  { return LoadBalancersPrefix + lbID }
func ListenersOfKey(lbID string) string   { return ListenersPrefix + lbID + "/" }
func ListenerKey(lbID, id string) string  { return ListenersOfKey(lbID) + id }
func RulesOfKey(lbID, lid string) string  { return RulesPrefix + lbID + "/" + lid + "/" }
func RuleKey(lbID, lid, id string) string { return RulesOfKey(lbID, lid) + id }
func TargetGroupKey(tgID string) string   { return TargetGroupsPrefix + tgID }
func TargetsOfKey(tgID string) string     { return TargetsPrefix + tgID + "/" }
func TargetKey(tgID, id string, port int32) string {
	return TargetsOfKey(tgID) + id + "/" + strconv.Itoa(int(port))
}

// Load balancer types, schemes and states.
const (
	LBTypeApplication = "application"
	LBTypeNetwork     = "network"

	SchemeInternetFacing = "internet-facing"
	SchemeInternal       = "internal"

	LBStateProvisioning = "provisioning"
	LBStateActive       = "active"
	LBStateFailed       = "failed"
)

// ELBTag is a resource tag (ELBv2 spells its members Key and Value).
type ELBTag struct {
	Key   string `json:"key"`
	Value string `json:"value,omitzero"`
}

// LoadBalancerRecord is a stored load balancer. The data plane serves each
// of its listeners on the listener's port at the server's load-balancer bind
// address; DNSName is a name that resolves there.
type LoadBalancerRecord struct {
	Arn               string     `json:"arn"`
	ID                string     `json:"id"`
	Name              string     `json:"name"`
	Type              string     `json:"type"`   // LBType*
	Scheme            string     `json:"scheme"` // Scheme*
	State             string     `json:"state"`  // LBState*
	StateReason       string     `json:"stateReason,omitzero"`
	DNSName           string     `json:"dnsName"`
	HostedZoneID      string     `json:"hostedZoneId,omitzero"`
	IPAddressType     string     `json:"ipAddressType,omitzero"` // ipv4 | dualstack
	VpcID             string     `json:"vpcId,omitzero"`
	AvailabilityZones []LBZone   `json:"zones,omitzero"`
	SecurityGroups    []string   `json:"securityGroups,omitzero"`
	CreatedTime       model.Time `json:"createdTime"`
	// Attributes holds every load balancer attribute by its AWS key
	// (idle_timeout.timeout_seconds, deletion_protection.enabled, ...),
	// defaults included: the API fills them in at creation.
	Attributes map[string]string `json:"attributes,omitzero"`
	Tags       []ELBTag          `json:"tags,omitzero"`
}

// LBZone is an availability zone a load balancer is enabled in.
type LBZone struct {
	ZoneName string `json:"zoneName"`
	SubnetID string `json:"subnetId,omitzero"`
}

// Load balancer attribute keys the data plane reads.
const (
	LBAttrIdleTimeout         = "idle_timeout.timeout_seconds"
	LBAttrDeletionProtection  = "deletion_protection.enabled"
	LBAttrCrossZone           = "load_balancing.cross_zone.enabled"
	LBAttrHTTP2               = "routing.http2.enabled"
	LBAttrDropInvalidHeaders  = "routing.http.drop_invalid_header_fields.enabled"
	LBAttrXFFHeaderProcessing = "routing.http.xff_header_processing.mode" // append | preserve | remove
)

// IdleTimeout is the ALB connection idle timeout (default 60 s).
func (lb *LoadBalancerRecord) IdleTimeout() time.Duration {
	return attrSeconds(lb.Attributes, LBAttrIdleTimeout, 60)
}

// Listener protocols (Quayside serves HTTP on application and TCP on
// network load balancers).
const (
	ProtocolHTTP  = "HTTP"
	ProtocolHTTPS = "HTTPS"
	ProtocolTCP   = "TCP"
)

// ListenerRecord is a stored listener. DefaultActions are what its default
// rule does; DefaultRuleID names that rule's ARN (DescribeRules shows it
// with priority "default"); its other rules are RuleRecords.
type ListenerRecord struct {
	Arn             string   `json:"arn"`
	ID              string   `json:"id"`
	LoadBalancerArn string   `json:"lbArn"`
	LoadBalancerID  string   `json:"lbId"`
	Port            int32    `json:"port"`
	Protocol        string   `json:"protocol"` // Protocol*
	DefaultActions  []Action `json:"defaultActions"`
	DefaultRuleID   string   `json:"defaultRuleId"`
	Tags            []ELBTag `json:"tags,omitzero"`
	// DefaultRuleTags are the default rule's own tags (the rule has no
	// record of its own).
	DefaultRuleTags []ELBTag `json:"defaultRuleTags,omitzero"`
	// Attributes holds the listener attributes by their AWS key
	// (tcp.idle_timeout.seconds, routing.http.response.*), defaults
	// included: the API fills them in at creation. A record without them
	// (stored before listeners had attributes) has the defaults.
	Attributes map[string]string `json:"attributes,omitzero"`
}

// Listener attribute keys the data plane reads.
const (
	// ListenerAttrTCPIdleTimeout is a Network Load Balancer TCP listener's
	// idle timeout in seconds (60..6000, default 350).
	ListenerAttrTCPIdleTimeout = "tcp.idle_timeout.seconds"
	// ListenerAttrServerHeader says whether an Application Load Balancer
	// HTTP listener sends "Server: awselb/2.0" on the answers it makes
	// itself (true, the default, or false).
	ListenerAttrServerHeader = "routing.http.response.server.enabled"
)

// HeaderAttr is an Application Load Balancer listener attribute that sets
// a response header: an empty value (the default) leaves the header alone;
// any other value goes on every response, replacing the header the target
// sent, if any.
type HeaderAttr struct {
	Key    string // the attribute key
	Header string // the response header it sets
}

// ResponseHeaderAttrs are the listener attributes that add response
// headers (the ALB user guide's "Add response headers").
var ResponseHeaderAttrs = [...]HeaderAttr{
	{"routing.http.response.strict_transport_security.header_value", "Strict-Transport-Security"},
	{"routing.http.response.access_control_allow_origin.header_value", "Access-Control-Allow-Origin"},
	{"routing.http.response.access_control_allow_methods.header_value", "Access-Control-Allow-Methods"},
	{"routing.http.response.access_control_allow_headers.header_value", "Access-Control-Allow-Headers"},
	{"routing.http.response.access_control_allow_credentials.header_value", "Access-Control-Allow-Credentials"},
	{"routing.http.response.access_control_expose_headers.header_value", "Access-Control-Expose-Headers"},
	{"routing.http.response.access_control_max_age.header_value", "Access-Control-Max-Age"},
	{"routing.http.response.content_security_policy.header_value", "Content-Security-Policy"},
	{"routing.http.response.x_content_type_options.header_value", "X-Content-Type-Options"},
	{"routing.http.response.x_frame_options.header_value", "X-Frame-Options"},
}

// TCPIdleSeconds is the listener's tcp.idle_timeout.seconds; ok is false
// when the record does not set it (the default, 350 s, applies).
func (l *ListenerRecord) TCPIdleSeconds() (n int, ok bool) {
	n, err := strconv.Atoi(l.Attributes[ListenerAttrTCPIdleTimeout])
	return n, err == nil && n > 0
}

// Action types.
const (
	ActionForward       = "forward"
	ActionFixedResponse = "fixed-response"
	ActionRedirect      = "redirect"
)

// Action is one action of a rule or a listener's default actions, in
// ascending Order; the last one is the terminal one. A forward action
// always has Forward set with its target groups (a single TargetGroupArn in
// the request becomes one group of weight 1); TargetGroupArn is kept only to
// show the request's form back.
type Action struct {
	Type           string         `json:"type"` // Action*
	Order          int32          `json:"order,omitzero"`
	TargetGroupArn string         `json:"targetGroupArn,omitzero"`
	Forward        *ForwardConfig `json:"forward,omitzero"`
	FixedResponse  *FixedResponse `json:"fixedResponse,omitzero"`
	Redirect       *Redirect      `json:"redirect,omitzero"`
}

// ForwardConfig spreads requests over target groups by weight (0..999; a
// group of weight 0 gets nothing). With Stickiness enabled a client stays
// on the group it first got for DurationSeconds (cookie AWSALBTG).
type ForwardConfig struct {
	TargetGroups []WeightedTargetGroup `json:"targetGroups"`
	Stickiness   GroupStickiness       `json:"stickiness,omitzero"`
}

// WeightedTargetGroup is one target group of a forward action.
type WeightedTargetGroup struct {
	Arn    string `json:"arn"`
	ID     string `json:"id"` // the target group's ID (key TargetGroupKey(ID))
	Weight int32  `json:"weight"`
}

// GroupStickiness is target-group stickiness of a forward action.
type GroupStickiness struct {
	Enabled         bool  `json:"enabled,omitzero"`
	DurationSeconds int32 `json:"durationSeconds,omitzero"`
}

// FixedResponse answers without a target. StatusCode is "2XX".."5XX" as
// digits, e.g. "503".
type FixedResponse struct {
	StatusCode  string `json:"statusCode"`
	ContentType string `json:"contentType,omitzero"`
	MessageBody string `json:"messageBody,omitzero"`
}

// Redirect answers with a redirect. Each part may hold the reserved keys
// #{protocol}, #{host}, #{port}, #{path} and #{query}, which stand for the
// request's own; an empty part means the request's own ("#{protocol}",
// "#{host}", "#{port}", "/#{path}", "#{query}"). StatusCode is HTTP_301 or
// HTTP_302.
type Redirect struct {
	Protocol   string `json:"protocol,omitzero"`
	Host       string `json:"host,omitzero"`
	Port       string `json:"port,omitzero"`
	Path       string `json:"path,omitzero"`
	Query      string `json:"query,omitzero"`
	StatusCode string `json:"statusCode"`
}

// RuleRecord is a stored listener rule other than the default rule. Rules
// are evaluated in ascending Priority (1..50000, unique per listener); the
// first whose every condition matches runs its actions, else the listener's
// default actions run.
type RuleRecord struct {
	Arn            string      `json:"arn"`
	ID             string      `json:"id"`
	ListenerArn    string      `json:"listenerArn"`
	ListenerID     string      `json:"listenerId"`
	LoadBalancerID string      `json:"lbId"`
	Priority       int32       `json:"priority"`
	Conditions     []Condition `json:"conditions"`
	Actions        []Action    `json:"actions"`
	Tags           []ELBTag    `json:"tags,omitzero"`
}

// Condition fields.
const (
	CondPathPattern       = "path-pattern"
	CondHostHeader        = "host-header"
	CondHTTPHeader        = "http-header"
	CondHTTPRequestMethod = "http-request-method"
	CondQueryString       = "query-string"
	CondSourceIP          = "source-ip"
)

// Condition is one rule condition, normalised from either request form
// (Values or the per-field config). Values are ORed: patterns for
// path-pattern (case-sensitive, * and ? wildcards, matched against the path
// without the query), host-header and http-header (case-insensitive,
// wildcards), methods for http-request-method (exact, case-sensitive) and
// CIDRs for source-ip. For query-string, QueryValues are ORed and a pair
// matches when its key (if any) and value match (case-insensitive,
// wildcards).
type Condition struct {
	Field          string          `json:"field"` // Cond*
	Values         []string        `json:"values,omitzero"`
	HTTPHeaderName string          `json:"httpHeaderName,omitzero"`
	QueryValues    []QueryKeyValue `json:"queryValues,omitzero"`
	// Legacy is true when the request used the top-level Values form, so
	// that responses show it back the same way.
	Legacy bool `json:"legacy,omitzero"`
}

// QueryKeyValue is a query-string condition pair; an empty Key matches any
// key.
type QueryKeyValue struct {
	Key   string `json:"key,omitzero"`
	Value string `json:"value"`
}

// Target types.
const (
	TargetTypeInstance = "instance"
	TargetTypeIP       = "ip"
)

// TargetGroupRecord is a stored target group.
type TargetGroupRecord struct {
	Arn             string      `json:"arn"`
	ID              string      `json:"id"`
	Name            string      `json:"name"`
	Protocol        string      `json:"protocol"` // Protocol*
	ProtocolVersion string      `json:"protocolVersion,omitzero"`
	Port            int32       `json:"port"`
	VpcID           string      `json:"vpcId,omitzero"`
	TargetType      string      `json:"targetType"` // TargetType*
	IPAddressType   string      `json:"ipAddressType,omitzero"`
	HealthCheck     HealthCheck `json:"healthCheck"`
	CreatedTime     model.Time  `json:"createdTime"`
	// Attributes holds every target group attribute by its AWS key,
	// defaults included (the API fills them in at creation); the
	// accessors below read the ones the data plane needs.
	Attributes map[string]string `json:"attributes,omitzero"`
	Tags       []ELBTag          `json:"tags,omitzero"`
}

// HealthCheck is a target group's active health check. Port is
// "traffic-port" (the target's own port) or a port number. Matcher is the
// HTTP codes counted as healthy: "200", "200,202" or "200-299".
type HealthCheck struct {
	Enabled            bool   `json:"enabled"`
	Protocol           string `json:"protocol"` // HTTP | HTTPS | TCP
	Port               string `json:"port"`
	Path               string `json:"path,omitzero"`
	IntervalSeconds    int32  `json:"intervalSeconds"`
	TimeoutSeconds     int32  `json:"timeoutSeconds"`
	HealthyThreshold   int32  `json:"healthyThreshold"`
	UnhealthyThreshold int32  `json:"unhealthyThreshold"`
	Matcher            string `json:"matcher,omitzero"`
}

// Target group attribute keys.
const (
	TGAttrDeregistrationDelay = "deregistration_delay.timeout_seconds"
	TGAttrStickinessEnabled   = "stickiness.enabled"
	TGAttrStickinessType      = "stickiness.type" // lb_cookie | app_cookie | source_ip
	TGAttrLBCookieDuration    = "stickiness.lb_cookie.duration_seconds"
	TGAttrAppCookieName       = "stickiness.app_cookie.cookie_name"
	TGAttrAppCookieDuration   = "stickiness.app_cookie.duration_seconds"
	TGAttrAlgorithm           = "load_balancing.algorithm.type"               // round_robin | least_outstanding_requests | weighted_random
	TGAttrAnomalyMitigation   = "load_balancing.algorithm.anomaly_mitigation" // on | off (weighted_random only)
	TGAttrSlowStart           = "slow_start.duration_seconds"

	AlgorithmRoundRobin     = "round_robin"
	AlgorithmLeastOutstd    = "least_outstanding_requests"
	AlgorithmWeightedRandom = "weighted_random"
)

// Anomaly detection results (TargetRecord.Anomaly).
const (
	AnomalyNormal    = "normal"
	AnomalyAnomalous = "anomalous"
)

// DeregistrationDelay is how long a deregistered target drains (default
// 300 s).
func (tg *TargetGroupRecord) DeregistrationDelay() time.Duration {
	return attrSeconds(tg.Attributes, TGAttrDeregistrationDelay, 300)
}

// Algorithm is the routing algorithm, AlgorithmRoundRobin by default.
func (tg *TargetGroupRecord) Algorithm() string {
	if a := tg.Attributes[TGAttrAlgorithm]; a != "" {
		return a
	}
	return AlgorithmRoundRobin
}

// AnomalyMitigation reports whether Automatic Target Weights lower the
// share of a target found anomalous: only with weighted_random.
func (tg *TargetGroupRecord) AnomalyMitigation() bool {
	return tg.Algorithm() == AlgorithmWeightedRandom && tg.Attributes[TGAttrAnomalyMitigation] == "on"
}

// Stickiness returns whether stickiness is on, its type and the cookie
// duration (for app_cookie also the application's cookie name).
func (tg *TargetGroupRecord) Stickiness() (on bool, typ string, d time.Duration, appCookie string) {
	on = tg.Attributes[TGAttrStickinessEnabled] == "true"
	typ = tg.Attributes[TGAttrStickinessType]
	if typ == "" {
		typ = "lb_cookie"
		if tg.Protocol == ProtocolTCP {
			typ = "source_ip"
		}
	}
	if typ == "app_cookie" {
		return on, typ, attrSeconds(tg.Attributes, TGAttrAppCookieDuration, 86400), tg.Attributes[TGAttrAppCookieName]
	}
	return on, typ, attrSeconds(tg.Attributes, TGAttrLBCookieDuration, 86400), ""
}

func attrSeconds(attrs map[string]string, key string, def int) time.Duration {
	if n, err := strconv.Atoi(attrs[key]); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	return time.Duration(def) * time.Second
}

// Target health states and reason codes, as DescribeTargetHealth shows them.
const (
	TargetInitial     = "initial"
	TargetHealthy     = "healthy"
	TargetUnhealthy   = "unhealthy"
	TargetDraining    = "draining"
	TargetUnused      = "unused"
	TargetUnavailable = "unavailable"

	ReasonRegistrationInProgress   = "Elb.RegistrationInProgress"
	ReasonInitialHealthChecking    = "Elb.InitialHealthChecking"
	ReasonResponseCodeMismatch     = "Target.ResponseCodeMismatch"
	ReasonTimeout                  = "Target.Timeout"
	ReasonFailedHealthChecks       = "Target.FailedHealthChecks"
	ReasonNotRegistered            = "Target.NotRegistered"
	ReasonNotInUse                 = "Target.NotInUse"
	ReasonDeregistrationInProgress = "Target.DeregistrationInProgress"
	ReasonInvalidState             = "Target.InvalidState"
	ReasonIPUnusable               = "Target.IpUnusable"
	ReasonHealthCheckDisabled      = "Target.HealthCheckDisabled"
	ReasonInternalError            = "Elb.InternalError"
)

// TargetRecord is a registered target of a target group.
//
// Who writes what: RegisterTargets creates it in state initial (reason
// Elb.RegistrationInProgress) or, re-registering a draining target, puts it
// back to initial. The data plane's health checker then writes State,
// Reason, Description and Since as it finds them (initial with
// Elb.InitialHealthChecking while the first checks run, healthy, unhealthy
// with a reason) — always in a transaction that re-reads the record, and
// never over a draining record. DeregisterTargets sets draining (reason
// Target.DeregistrationInProgress) with DrainUntil = now + the group's
// deregistration delay; the data plane stops sending new requests and
// connections to a draining target at once, lets open ones finish until
// DrainUntil, then deletes the record. "unused" (Target.NotInUse: no
// listener or rule forwards to the group) is not stored: the API derives
// it when it answers.
type TargetRecord struct {
	TargetGroupID string `json:"tgId"`
	ID            string `json:"id"` // instance ID (i-...) or IP address
	Port          int32  `json:"port"`
	// Host is where an instance target is reached: its container
	// instance's address when it was registered (empty: 127.0.0.1).
	Host             string     `json:"host,omitzero"`
	AvailabilityZone string     `json:"az,omitzero"`
	RegisteredAt     model.Time `json:"registeredAt"`
	State            string     `json:"state"` // Target*
	Reason           string     `json:"reason,omitzero"`
	Description      string     `json:"description,omitzero"`
	// Since is when State last changed.
	Since      model.Time `json:"since,omitzero"`
	DrainUntil model.Time `json:"drainUntil,omitzero"`
	// Anomaly is the data plane's latest anomaly detection result
	// (Anomaly*; empty: none yet, shown as normal), and Mitigating whether
	// anomaly mitigation holds the target below its full share.
	Anomaly    string `json:"anomaly,omitzero"`
	Mitigating bool   `json:"mitigating,omitzero"`
}
