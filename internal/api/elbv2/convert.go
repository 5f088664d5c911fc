package elbv2

import (
	"slices"

	"github.com/quayside/quayside/internal/store"
)

// lbOut is a load balancer as DescribeLoadBalancers shows it.
func (a *API) lbOut(lb *store.LoadBalancerRecord) LoadBalancer {
	out := LoadBalancer{
		LoadBalancerArn: lb.Arn, LoadBalancerName: lb.Name, DNSName: lb.DNSName, CanonicalHostedZoneId: lb.HostedZoneID,
		CreatedTime: lb.CreatedTime, Scheme: LoadBalancerSchemeEnum(lb.Scheme), Type: LoadBalancerTypeEnum(lb.Type),
		VpcId: lb.VpcID, IpAddressType: IpAddressType(lb.IPAddressType),
		State:          &LoadBalancerState{Code: LoadBalancerStateEnum(lb.State), Reason: lb.StateReason},
		SecurityGroups: slices.Clone(lb.SecurityGroups),
	}
	for _, z := range lb.AvailabilityZones {
		out.AvailabilityZones = append(out.AvailabilityZones, AvailabilityZone{ZoneName: z.ZoneName, SubnetId: z.SubnetID})
	}
	if out.SecurityGroups == nil && lb.Type == store.LBTypeApplication {
		out.SecurityGroups = []string{}
	}
	return out
}

// tgOut is a target group as DescribeTargetGroups shows it; lbArns are
// the load balancers that route to it.
func (a *API) tgOut(tg *store.TargetGroupRecord, lbArns []string) TargetGroup {
	hc := tg.HealthCheck
	out := TargetGroup{
		TargetGroupArn: tg.Arn, TargetGroupName: tg.Name, Protocol: ProtocolEnum(tg.Protocol), Port: ptr(tg.Port),
		VpcId: tg.VpcID, TargetType: TargetTypeEnum(tg.TargetType), IpAddressType: TargetGroupIpAddressTypeEnum(tg.IPAddressType),
		ProtocolVersion: tg.ProtocolVersion, LoadBalancerArns: slices.Clone(lbArns),
		HealthCheckEnabled: ptr(hc.Enabled), HealthCheckProtocol: ProtocolEnum(hc.Protocol), HealthCheckPort: hc.Port,
		HealthCheckPath: hc.Path, HealthCheckIntervalSeconds: ptr(hc.IntervalSeconds), HealthCheckTimeoutSeconds: ptr(hc.TimeoutSeconds),
		HealthyThresholdCount: ptr(hc.HealthyThreshold), UnhealthyThresholdCount: ptr(hc.UnhealthyThreshold),
	}
	if out.LoadBalancerArns == nil {
		out.LoadBalancerArns = []string{}
	}
	if hc.Matcher != "" {
		out.Matcher = &Matcher{HttpCode: hc.Matcher}
	}
	return out
}
