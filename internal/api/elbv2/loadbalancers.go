package elbv2

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/quayside/quayside/internal/api/awsproto"
	"github.com/quayside/quayside/internal/errs"
	"github.com/quayside/quayside/internal/store"
)

func (a *API) loadBalancerOps() map[string]awsproto.Handler {
	return map[string]awsproto.Handler{
		"CreateLoadBalancer":    awsproto.Typed(a.createLoadBalancer),
		"DescribeLoadBalancers": awsproto.Typed(a.describeLoadBalancers),
		"DeleteLoadBalancer":    awsproto.Typed(a.deleteLoadBalancer),
		"DescribeAccountLimits": awsproto.Typed(a.describeAccountLimits),
	}
}

// The VPC and hosted zone Quayside reports: it has one flat network.
const (
	defaultVPC        = "vpc-00000000000000000"
	defaultSubnet     = "subnet-00000000000000000"
	albHostedZone     = "ZQUAYSIDEALB0000"
	nlbHostedZone     = "ZQUAYSIDENLB0000"
	msgLBNotFound     = "One or more load balancers not found"
	msgTGNotFound     = "One or more target groups not found"
	msgListenerNotFnd = "One or more listeners not found"
	msgRuleNotFound   = "One or more rules not found"
)

var nameRE = regexp.MustCompile(`^[a-zA-Z0-9-]+$`)

// maxDescribeLBArns is how many load balancers DescribeLoadBalancers
// takes by ARN ("You can specify up to 20 load balancers in a single
// call", API reference).
const maxDescribeLBArns = 20

// validateLBName checks a load balancer name as ELBv2 does.
func validateLBName(name string) error {
	switch {
	case len(name) > 32:
		return validation("The load balancer name '%s' cannot be longer than '32' characters", name)
	case !nameRE.MatchString(name):
		return validation("The load balancer name '%s' can only contain characters that are alphanumeric characters or hyphens(-)", name)
	case strings.HasPrefix(name, "-") || strings.HasSuffix(name, "-"):
		return validation("The load balancer name '%s' cannot begin or end with '-'", name)
	case strings.HasPrefix(strings.ToLower(name), "internal-"):
		return validation("The load balancer name '%s' cannot begin with 'internal-'", name)
	}
	return nil
}

func (a *API) createLoadBalancer(ctx context.Context, in *CreateLoadBalancerInput) (*CreateLoadBalancerOutput, error) {
	if err := validateLBName(in.Name); err != nil {
		return nil, err
	}
	typ := string(in.Type)
	if typ == "" {
		typ = store.LBTypeApplication
	}
	if typ != store.LBTypeApplication && typ != store.LBTypeNetwork {
		return nil, validation("Load balancer type '%s' is not supported; Quayside serves 'application' and 'network' load balancers", typ)
	}
	scheme := string(in.Scheme)
	if scheme == "" {
		scheme = store.SchemeInternetFacing
	}
	ipType := string(in.IpAddressType)
	if ipType == "" {
		ipType = "ipv4"
	}
	if ipType != "ipv4" {
		return nil, validation("IP address type '%s' is not supported; Quayside load balancers are 'ipv4'", ipType)
	}
	if len(in.Subnets) > 0 && len(in.SubnetMappings) > 0 {
		return nil, validation("You cannot specify both subnets and subnet mappings")
	}
	tags, err := tagsIn(in.Tags)
	if err != nil {
		return nil, err
	}
	subnets := slices.Clone(in.Subnets)
	for _, m := range in.SubnetMappings {
		subnets = append(subnets, m.SubnetId)
	}
	// Each subnet given stands for an Availability Zone of its own (the
	// network is flat): a subnet named twice would be two zones.
	for i, sn := range subnets {
		if slices.Contains(subnets[:i], sn) {
			return nil, validation("Subnet '%s' is specified more than once", sn)
		}
	}
	if typ == store.LBTypeApplication && len(subnets) == 1 {
		return nil, validation("At least two subnets in two different Availability Zones must be specified")
	}
	lb := &store.LoadBalancerRecord{
		ID: newID(), Name: in.Name, Type: typ, Scheme: scheme, State: store.LBStateActive,
		IPAddressType: ipType, VpcID: defaultVPC, SecurityGroups: slices.Clone(in.SecurityGroups),
		CreatedTime: a.at(), Tags: tags, Attributes: defaultLBAttributes(typ),
	}
	lb.Arn = a.lbARN(typ, lb.Name, lb.ID)
	lb.DNSName = a.dnsName(lb)
	lb.HostedZoneID = albHostedZone
	if typ == store.LBTypeNetwork {
		lb.HostedZoneID = nlbHostedZone
	}
	if len(subnets) == 0 {
		subnets = []string{defaultSubnet}
	}
	for i, s := range subnets {
		lb.AvailabilityZones = append(lb.AvailabilityZones, store.LBZone{ZoneName: a.zone(i), SubnetID: s})
	}
	var out *store.LoadBalancerRecord
	err = a.update(ctx, func(tx store.Tx) error {
		all, err := scanAll[store.LoadBalancerRecord](tx, store.LoadBalancersPrefix)
		if err != nil {
			return err
		}
		for _, o := range all {
			if o.Name != lb.Name {
				continue
			}
			// CreateLoadBalancer is idempotent for the same settings.
			if o.Type == lb.Type && o.Scheme == lb.Scheme {
				out = o
				return nil
			}
			return errs.New(errDuplicateLBName, "A load balancer with the same name '%s' exists, but with different settings", lb.Name)
		}
		// The quota is per type: 50 application and 50 network load
		// balancers (DescribeAccountLimits lists them apart).
		sameType := 0
		for _, o := range all {
			if o.Type == lb.Type {
				sameType++
			}
		}
		if sameType >= maxLoadBalancers {
			return errs.New(errTooManyLBs, "The maximum number of load balancers (%d) has been reached", maxLoadBalancers)
		}
		out = lb
		return store.PutJSON(tx, store.LoadBalancerKey(lb.ID), lb)
	})
	if err != nil {
		return nil, err
	}
	return &CreateLoadBalancerOutput{LoadBalancers: []LoadBalancer{a.lbOut(out)}}, nil
}

// dnsName is "<name>-<id>.<suffix>" ("internal-" in front for internal
// load balancers), a name under the configured suffix.
func (a *API) dnsName(lb *store.LoadBalancerRecord) string {
	n := lb.Name + "-" + lb.ID + "." + a.dnsSuffix
	if lb.Scheme == store.SchemeInternal {
		n = "internal-" + n
	}
	return strings.ToLower(n)
}

// zone is the name of the i-th availability zone of the region.
func (a *API) zone(i int) string {
	return fmt.Sprintf("%s%c", a.scope.Region, 'a'+rune(i%26))
}

func (a *API) describeLoadBalancers(ctx context.Context, in *DescribeLoadBalancersInput) (*DescribeLoadBalancersOutput, error) {
	if len(in.LoadBalancerArns) > 0 && len(in.Names) > 0 {
		return nil, validation("Load balancer names and load balancer ARNs cannot be specified at the same time")
	}
	if len(in.LoadBalancerArns) > maxDescribeLBArns {
		return nil, validation("At most %d load balancer ARNs can be specified", maxDescribeLBArns)
	}
	var lbs []*store.LoadBalancerRecord
	err := a.view(ctx, func(tx store.ReadTx) error {
		var err error
		switch {
		case len(in.LoadBalancerArns) > 0:
			for _, s := range in.LoadBalancerArns {
				lb, err := a.getLB(tx, s)
				if err != nil {
					return err
				}
				lbs = append(lbs, lb)
			}
		default:
			all, err := scanByCreation[store.LoadBalancerRecord](tx, store.LoadBalancersPrefix)
			if err != nil {
				return err
			}
			if len(in.Names) == 0 {
				lbs = all
				break
			}
			for _, name := range in.Names {
				i := slices.IndexFunc(all, func(lb *store.LoadBalancerRecord) bool { return lb.Name == name })
				if i < 0 {
					return errs.New(errLBNotFound, "Load balancers '[%s]' not found", name)
				}
				lbs = append(lbs, all[i])
			}
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	pg, next, err := page(lbs, func(lb *store.LoadBalancerRecord) string { return lb.ID }, in.Marker, in.PageSize)
	if err != nil {
		return nil, err
	}
	out := &DescribeLoadBalancersOutput{LoadBalancers: []LoadBalancer{}, NextMarker: next}
	for _, lb := range pg {
		out.LoadBalancers = append(out.LoadBalancers, a.lbOut(lb))
	}
	return out, nil
}

// getLB reads the load balancer an ARN names.
func (a *API) getLB(tx store.ReadTx, s string) (*store.LoadBalancerRecord, error) {
	r, err := a.parseARN(s, "loadbalancer")
	if err != nil {
		return nil, err
	}
	var lb store.LoadBalancerRecord
	if r.ours {
		_, ok, err := store.GetJSON(tx, store.LoadBalancerKey(r.lb), &lb)
		if err != nil {
			return nil, err
		}
		if ok && lb.Arn == s {
			return &lb, nil
		}
	}
	return nil, errs.New(errLBNotFound, msgLBNotFound)
}

func (a *API) deleteLoadBalancer(ctx context.Context, in *DeleteLoadBalancerInput) (*DeleteLoadBalancerOutput, error) {
	err := a.update(ctx, func(tx store.Tx) error {
		lb, err := a.getLB(tx, in.LoadBalancerArn)
		if errs.CodeOf(err) == errLBNotFound {
			return nil // deleting a deleted load balancer succeeds
		}
		if err != nil {
			return err
		}
		if lb.Attributes[store.LBAttrDeletionProtection] == "true" {
			return errs.New(errOpNotPermitted, "Load balancer '%s' cannot be deleted because deletion protection is enabled", lb.Arn)
		}
		listeners, err := scanAll[store.ListenerRecord](tx, store.ListenersOfKey(lb.ID))
		if err != nil {
			return err
		}
		for _, l := range listeners {
			if err := deleteListenerTx(tx, l); err != nil {
				return err
			}
		}
		return tx.Delete(store.LoadBalancerKey(lb.ID))
	})
	if err != nil {
		return nil, err
	}
	return &DeleteLoadBalancerOutput{}, nil
}

// deleteListenerTx removes a listener and its rules.
func deleteListenerTx(tx store.Tx, l *store.ListenerRecord) error {
	var keys []string
	err := tx.Scan(store.RulesOfKey(l.LoadBalancerID, l.ID), "", func(kv store.KV) (bool, error) {
		keys = append(keys, kv.Key)
		return true, nil
	})
	if err != nil {
		return err
	}
	for _, k := range keys {
		if err := tx.Delete(k); err != nil {
			return err
		}
	}
	return tx.Delete(store.ListenerKey(l.LoadBalancerID, l.ID))
}

func (a *API) describeAccountLimits(ctx context.Context, in *DescribeAccountLimitsInput) (*DescribeAccountLimitsOutput, error) {
	limits := []Limit{
		{Name: "application-load-balancers", Max: fmt.Sprint(maxLoadBalancers)},
		{Name: "network-load-balancers", Max: fmt.Sprint(maxLoadBalancers)},
		{Name: "target-groups", Max: fmt.Sprint(maxTargetGroups)},
		{Name: "listeners-per-application-load-balancer", Max: fmt.Sprint(maxListenersPerLB)},
		{Name: "listeners-per-network-load-balancer", Max: fmt.Sprint(maxListenersPerLB)},
		{Name: "rules-per-application-load-balancer", Max: fmt.Sprint(maxRulesPerLB)},
		{Name: "targets-per-application-load-balancer", Max: fmt.Sprint(maxTargetsPerTG)},
		{Name: "target-groups-per-action-on-application-load-balancer", Max: fmt.Sprint(maxTGsPerAction)},
		{Name: "target-groups-per-application-load-balancer", Max: fmt.Sprint(maxTGsPerALB)},
		{Name: "condition-values-per-alb-rule", Max: fmt.Sprint(maxConditionValues)},
	}
	pg, next, err := page(limits, func(l Limit) string { return l.Name }, in.Marker, in.PageSize)
	if err != nil {
		return nil, err
	}
	return &DescribeAccountLimitsOutput{Limits: pg, NextMarker: next}, nil
}

// scanAll reads every record under prefix.
func scanAll[T any](tx store.ReadTx, prefix string) ([]*T, error) {
	var out []*T
	err := store.ScanJSON(tx, prefix, "", func(_ string, v *T) (bool, error) {
		out = append(out, v)
		return true, nil
	})
	return out, err
}

// scanByCreation reads every record under prefix, oldest first (in the
// order the store created their keys).
func scanByCreation[T any](tx store.ReadTx, prefix string) ([]*T, error) {
	type item struct {
		rev int64
		v   *T
	}
	var items []item
	err := tx.Scan(prefix, "", func(kv store.KV) (bool, error) {
		v := new(T)
		if err := json.Unmarshal(kv.Value, v); err != nil {
			return false, fmt.Errorf("elbv2: decode %s: %w", kv.Key, err)
		}
		items = append(items, item{kv.CreateRev, v})
		return true, nil
	})
	slices.SortStableFunc(items, func(x, y item) int { return cmp.Compare(x.rev, y.rev) })
	out := make([]*T, len(items))
	for i, it := range items {
		out[i] = it.v
	}
	return out, err
}
