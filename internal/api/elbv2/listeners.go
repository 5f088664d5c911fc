package elbv2

import (
	"context"
	"reflect"

	"github.com/quayside/quayside/internal/api/awsproto"
	"github.com/quayside/quayside/internal/errs"
	"github.com/quayside/quayside/internal/store"
)

func (a *API) listenerOps() map[string]awsproto.Handler {
	return map[string]awsproto.Handler{
		"CreateListener":    awsproto.Typed(a.createListener),
		"DescribeListeners": awsproto.Typed(a.describeListeners),
		"ModifyListener":    awsproto.Typed(a.modifyListener),
		"DeleteListener":    awsproto.Typed(a.deleteListener),
	}
}

// checkListenerProtocol checks that a load balancer of lb's type can have
// a listener of protocol, and that Quayside serves it.
func checkListenerProtocol(lb *store.LoadBalancerRecord, protocol string) error {
	switch {
	case protocol == "":
		return validation("A listener protocol must be specified")
	case lb.Type == store.LBTypeApplication && protocol != store.ProtocolHTTP && protocol != store.ProtocolHTTPS:
		return validation("Listener protocol '%s' must be one of 'HTTPS, HTTP'", protocol)
	case lb.Type == store.LBTypeNetwork && !(protocol == "TCP" || protocol == "TLS" || protocol == "UDP" || protocol == "TCP_UDP" || protocol == "QUIC" || protocol == "TCP_QUIC"):
		return validation("Listener protocol '%s' must be one of 'TCP_QUIC, QUIC, UDP, TCP, TLS, TCP_UDP'", protocol)
	case protocol != store.ProtocolHTTP && protocol != store.ProtocolTCP:
		return errs.New(errUnsupportedProto, "Listener protocol '%s' is not supported; Quayside serves HTTP listeners on application and TCP listeners on network load balancers", protocol)
	}
	return nil
}

// checkPort refuses a port that another listener uses: of the same load
// balancer (DuplicateListener, as ELBv2) or of another one (Quayside serves
// every load balancer at one address, so ports are shared by all).
func checkPort(tx store.ReadTx, lb *store.LoadBalancerRecord, port int32, self string) error {
	var clash *store.ListenerRecord
	err := store.ScanJSON(tx, store.ListenersPrefix, "", func(_ string, l *store.ListenerRecord) (bool, error) {
		if l.Port == port && l.ID != self {
			clash = l
			return false, nil
		}
		return true, nil
	})
	switch {
	case err != nil:
		return err
	case clash == nil:
		return nil
	case clash.LoadBalancerID == lb.ID:
		return errs.New(errDuplicateListener, "A listener already exists on this port for this load balancer '%s'", lb.Arn)
	}
	return errs.New(errDuplicateListener, "Port '%d' is already used by a listener of load balancer '%s': Quayside serves all load balancers at one address, so each port can have one listener", port, clash.LoadBalancerArn)
}

func (a *API) createListener(ctx context.Context, in *CreateListenerInput) (*CreateListenerOutput, error) {
	if len(in.Certificates) > 0 || in.SslPolicy != "" || len(in.AlpnPolicy) > 0 || in.MutualAuthentication != nil {
		return nil, errs.New(errUnsupportedProto, "TLS listeners (certificates, SSL and ALPN policies, mutual authentication) are not supported by Quayside")
	}
	if in.Port == nil {
		return nil, validation("A listener port must be specified")
	}
	tags, err := tagsIn(in.Tags)
	if err != nil {
		return nil, err
	}
	var out *store.ListenerRecord
	err = a.update(ctx, func(tx store.Tx) error {
		lb, err := a.getLB(tx, in.LoadBalancerArn)
		if err != nil {
			return err
		}
		proto := string(in.Protocol)
		if err := checkListenerProtocol(lb, proto); err != nil {
			return err
		}
		used, err := store.TargetGroupUsers(tx)
		if err != nil {
			return err
		}
		acts, err := a.actionsIn(tx, lb, proto, in.DefaultActions, used)
		if err != nil {
			return err
		}
		mine, err := scanAll[store.ListenerRecord](tx, store.ListenersOfKey(lb.ID))
		if err != nil {
			return err
		}
		for _, l := range mine {
			// CreateListener is idempotent for the same settings.
			if l.Port == *in.Port && l.Protocol == proto && reflect.DeepEqual(l.DefaultActions, acts) {
				out = l
				return nil
			}
		}
		if err := checkPort(tx, lb, *in.Port, ""); err != nil {
			return err
		}
		if len(mine) >= maxListenersPerLB {
			return errs.New(errTooManyListeners, "You've reached the limit on the number of listeners per load balancer (%d)", maxListenersPerLB)
		}
		l := &store.ListenerRecord{ID: newID(), LoadBalancerArn: lb.Arn, LoadBalancerID: lb.ID, Port: *in.Port,
			Protocol: proto, DefaultActions: acts, DefaultRuleID: newID(), Tags: tags}
		l.Arn = a.listenerARN(lb, l.ID)
		l.Attributes = listenerAttrs(lb, l)
		if err := checkUniqueTGs(tx, lb, actionsOwner{listener: l.ID}, acts); err != nil {
			return err
		}
		out = l
		return store.PutJSON(tx, store.ListenerKey(lb.ID, l.ID), l)
	})
	if err != nil {
		return nil, err
	}
	return &CreateListenerOutput{Listeners: []Listener{listenerOut(out)}}, nil
}

func listenerOut(l *store.ListenerRecord) Listener {
	return Listener{ListenerArn: l.Arn, LoadBalancerArn: l.LoadBalancerArn, Port: ptr(l.Port),
		Protocol: ProtocolEnum(l.Protocol), DefaultActions: actionsOut(l.DefaultActions)}
}

// getListener reads the listener an ARN names, and its load balancer.
func (a *API) getListener(tx store.ReadTx, s string) (*store.ListenerRecord, *store.LoadBalancerRecord, error) {
	r, err := a.parseARN(s, "listener")
	if err != nil {
		return nil, nil, err
	}
	notFound := errs.New(errListenerNotFound, msgListenerNotFnd)
	if !r.ours {
		return nil, nil, notFound
	}
	var l store.ListenerRecord
	_, ok, err := store.GetJSON(tx, store.ListenerKey(r.lb, r.listener), &l)
	if err != nil {
		return nil, nil, err
	}
	if !ok || l.Arn != s {
		return nil, nil, notFound
	}
	var lb store.LoadBalancerRecord
	if _, ok, err := store.GetJSON(tx, store.LoadBalancerKey(l.LoadBalancerID), &lb); err != nil || !ok {
		if err == nil {
			err = notFound
		}
		return nil, nil, err
	}
	return &l, &lb, nil
}

func (a *API) describeListeners(ctx context.Context, in *DescribeListenersInput) (*DescribeListenersOutput, error) {
	if in.LoadBalancerArn == "" && len(in.ListenerArns) == 0 {
		return nil, validation("You must specify either listener ARNs or a load balancer ARN")
	}
	if in.LoadBalancerArn != "" && len(in.ListenerArns) > 0 {
		return nil, validation("Listener ARNs and a load balancer ARN cannot be specified at the same time")
	}
	var ls []*store.ListenerRecord
	err := a.view(ctx, func(tx store.ReadTx) error {
		if in.LoadBalancerArn != "" {
			lb, err := a.getLB(tx, in.LoadBalancerArn)
			if err != nil {
				return err
			}
			ls, err = scanByCreation[store.ListenerRecord](tx, store.ListenersOfKey(lb.ID))
			return err
		}
		for _, s := range in.ListenerArns {
			l, _, err := a.getListener(tx, s)
			if err != nil {
				return err
			}
			ls = append(ls, l)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	pg, next, err := page(ls, func(l *store.ListenerRecord) string { return l.ID }, in.Marker, in.PageSize)
	if err != nil {
		return nil, err
	}
	out := &DescribeListenersOutput{Listeners: []Listener{}, NextMarker: next}
	for _, l := range pg {
		out.Listeners = append(out.Listeners, listenerOut(l))
	}
	return out, nil
}

func (a *API) modifyListener(ctx context.Context, in *ModifyListenerInput) (*ModifyListenerOutput, error) {
	if len(in.Certificates) > 0 || in.SslPolicy != "" || len(in.AlpnPolicy) > 0 || in.MutualAuthentication != nil {
		return nil, errs.New(errUnsupportedProto, "TLS listeners (certificates, SSL and ALPN policies, mutual authentication) are not supported by Quayside")
	}
	var out *store.ListenerRecord
	err := a.update(ctx, func(tx store.Tx) error {
		l, lb, err := a.getListener(tx, in.ListenerArn)
		if err != nil {
			return err
		}
		if in.Protocol != "" {
			if err := checkListenerProtocol(lb, string(in.Protocol)); err != nil {
				return err
			}
			l.Protocol = string(in.Protocol)
			// The attributes are those of the new protocol.
			l.Attributes = listenerAttrs(lb, l)
		}
		if in.Port != nil && *in.Port != l.Port {
			if err := checkPort(tx, lb, *in.Port, l.ID); err != nil {
				return err
			}
			l.Port = *in.Port
		}
		used, err := store.TargetGroupUsers(tx)
		if err != nil {
			return err
		}
		if in.DefaultActions != nil {
			if l.DefaultActions, err = a.actionsIn(tx, lb, l.Protocol, in.DefaultActions, used); err != nil {
				return err
			}
			if err := checkUniqueTGs(tx, lb, actionsOwner{listener: l.ID}, l.DefaultActions); err != nil {
				return err
			}
		} else if in.Protocol != "" {
			// The kept actions must still fit the protocol.
			if _, err := a.actionsIn(tx, lb, l.Protocol, actionsOut(l.DefaultActions), used); err != nil {
				return err
			}
		}
		out = l
		return store.PutJSON(tx, store.ListenerKey(lb.ID, l.ID), l)
	})
	if err != nil {
		return nil, err
	}
	return &ModifyListenerOutput{Listeners: []Listener{listenerOut(out)}}, nil
}

func (a *API) deleteListener(ctx context.Context, in *DeleteListenerInput) (*DeleteListenerOutput, error) {
	err := a.update(ctx, func(tx store.Tx) error {
		l, _, err := a.getListener(tx, in.ListenerArn)
		if err != nil {
			return err
		}
		return deleteListenerTx(tx, l)
	})
	if err != nil {
		return nil, err
	}
	return &DeleteListenerOutput{}, nil
}
