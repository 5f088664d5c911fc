// Package elbv2 serves the Elastic Load Balancing (v2) API (AWS Query
// protocol, signing name elasticloadbalancing, version 2015-12-01) over the
// store: load balancers (application and network), target groups (HTTP and
// TCP; instance and ip targets), targets and their health, listeners (HTTP
// and TCP), rules, attributes (of load balancers, target groups and
// listeners) and tags. Each operation validates its input as ELBv2 does,
// reads and writes the records of internal/store (elbv2_records.go) in one
// transaction and answers with the wire shapes generated from the model
// (zz_shapes.go). The data plane (internal/lb) watches those records and
// serves them; it writes target health back, which DescribeTargetHealth
// reads.
//
// Files: api.go (wiring, ARNs, errors), loadbalancers.go, targetgroups.go,
// attributes.go, targets.go, listeners.go, listenerattrs.go, actions.go,
// rules.go, conditions.go, tags.go, convert.go (records → wire shapes).
//
// It imports internal/api/awsproto, internal/model, internal/store,
// internal/arn and internal/errs.
package elbv2

//go:generate go run ../../model/gen -in elasticloadbalancingv2-2015-12-01.json.gz -out zz_shapes.go -pkg elbv2 -time model.Time -import github.com/quayside/quayside/internal/model -boxall -keep LoadBalancerAttribute.Value,TargetGroupAttribute.Value,ListenerAttribute.Value
