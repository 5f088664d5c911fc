package elbv2

import (
	"context"
	"slices"
	"strconv"

	"github.com/quayside/quayside/internal/api/awsproto"
	"github.com/quayside/quayside/internal/errs"
	"github.com/quayside/quayside/internal/store"
)

func (a *API) listenerAttributeOps() map[string]awsproto.Handler {
	return map[string]awsproto.Handler{
		"DescribeListenerAttributes": awsproto.Typed(a.describeListenerAttributes),
		"ModifyListenerAttributes":   awsproto.Typed(a.modifyListenerAttributes),
	}
}

// Listener attributes, by load balancer type and listener protocol (API
// reference, ListenerAttribute): a Network Load Balancer's TCP listeners
// have their idle timeout ("If the listener uses a protocol other than
// TCP", the console shows no attributes: a TLS listener's idle timeout is
// a fixed 350 s); an Application Load Balancer's HTTP listeners have the
// response header attributes; HTTPS listeners would add the mTLS/TLS
// request header names, which HTTP listeners refuse.
var (
	tcpListenerAttrs  = []attr{{store.ListenerAttrTCPIdleTimeout, "350", intRange(60, 6000)}}
	httpListenerAttrs = makeHTTPListenerAttrs()

	// httpsOnlyListenerAttrs rename the request headers an HTTPS
	// listener adds with the client's certificate and the TLS session.
	httpsOnlyListenerAttrs = []string{
		"routing.http.request.x_amzn_mtls_clientcert_serial_number.header_name",
		"routing.http.request.x_amzn_mtls_clientcert_issuer.header_name",
		"routing.http.request.x_amzn_mtls_clientcert_subject.header_name",
		"routing.http.request.x_amzn_mtls_clientcert_validity.header_name",
		"routing.http.request.x_amzn_mtls_clientcert_leaf.header_name",
		"routing.http.request.x_amzn_mtls_clientcert.header_name",
		"routing.http.request.x_amzn_tls_version.header_name",
		"routing.http.request.x_amzn_tls_cipher_suite.header_name",
	}
)

func makeHTTPListenerAttrs() []attr {
	set := []attr{{store.ListenerAttrServerHeader, "true", boolValue}}
	for _, h := range store.ResponseHeaderAttrs {
		set = append(set, attr{h.Key, "", headerValue})
	}
	return set
}

// maxHeaderValue is the longest response header value an attribute takes
// ("can not exceed 1K bytes").
const maxHeaderValue = 1024

// headerValue checks a response header attribute's value as the ALB user
// guide's limitations say: letters, digits, space and
// _:;.,\/'?!(){}[]@<>=-+*#&`|~^%, at most 1K bytes.
func headerValue(v string) string {
	if len(v) > maxHeaderValue {
		return "must be at most " + strconv.Itoa(maxHeaderValue) + " bytes"
	}
	for i := 0; i < len(v); i++ {
		if !headerValueByte(v[i]) {
			return "must contain only letters, digits, spaces and the characters _:;.,\\/'?!(){}[]@<>=-+*#&`|~^%"
		}
	}
	return ""
}

func headerValueByte(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	for i := 0; i < len(headerValueSpecials); i++ {
		if headerValueSpecials[i] == c {
			return true
		}
	}
	return false
}

const headerValueSpecials = " _:;.,\\/'?!(){}[]@<>=-+*#&`|~^%"

// listenerAttrSet is the attributes a listener of protocol on lb has
// (none for a protocol that has none).
func listenerAttrSet(lb *store.LoadBalancerRecord, protocol string) []attr {
	switch {
	case lb.Type == store.LBTypeNetwork && protocol == store.ProtocolTCP:
		return tcpListenerAttrs
	case lb.Type == store.LBTypeApplication && protocol == store.ProtocolHTTP:
		return httpListenerAttrs
	}
	return nil
}

// listenerAttrs is the listener's attributes as the API shows them: those
// of its protocol, the stored value where there is one, else the default.
// Keys of another protocol (left from before a protocol change) go.
func listenerAttrs(lb *store.LoadBalancerRecord, l *store.ListenerRecord) map[string]string {
	set := listenerAttrSet(lb, l.Protocol)
	m := defaults(set)
	for _, at := range set {
		if v, ok := l.Attributes[at.key]; ok {
			m[at.key] = v
		}
	}
	return m
}

// checkListenerAttrKeys refuses keys that are attributes of other
// listeners (another load balancer type or protocol) with
// InvalidConfigurationRequest; keys that are no listener attribute at all
// are left to applyAttrs (ValidationError).
func checkListenerAttrKeys(lb *store.LoadBalancerRecord, protocol string, kvs [][2]string) error {
	set := listenerAttrSet(lb, protocol)
	for _, kv := range kvs {
		k := kv[0]
		if slices.ContainsFunc(set, func(at attr) bool { return at.key == k }) {
			continue
		}
		switch {
		case slices.Contains(httpsOnlyListenerAttrs, k) && lb.Type == store.LBTypeApplication:
			return errs.New(errInvalidConfig, "The attribute '%s' is supported only by HTTPS listeners; listener protocol is '%s'", k, protocol)
		case slices.Contains(httpsOnlyListenerAttrs, k) || slices.ContainsFunc(httpListenerAttrs, func(at attr) bool { return at.key == k }):
			return errs.New(errInvalidConfig, "The attribute '%s' is supported only by Application Load Balancers", k)
		case k == store.ListenerAttrTCPIdleTimeout && lb.Type == store.LBTypeNetwork:
			return errs.New(errInvalidConfig, "The attribute '%s' is supported only by TCP listeners; listener protocol is '%s'", k, protocol)
		case k == store.ListenerAttrTCPIdleTimeout:
			return errs.New(errInvalidConfig, "The attribute '%s' is supported only by Network Load Balancers and Gateway Load Balancers", k)
		}
	}
	return nil
}

// modifyListenerAttrs checks kvs against the listener's attributes and
// applies them to l. An empty value puts a response header attribute back
// to its default ("Setting an empty value for any attribute will cause the
// Application Load Balancer to revert to the default behavior").
func modifyListenerAttrs(lb *store.LoadBalancerRecord, l *store.ListenerRecord, kvs [][2]string) error {
	kvs = slices.Clone(kvs)
	if err := checkListenerAttrKeys(lb, l.Protocol, kvs); err != nil {
		return err
	}
	set := listenerAttrSet(lb, l.Protocol)
	if lb.Type == store.LBTypeApplication {
		for i, kv := range kvs {
			if j := slices.IndexFunc(set, func(at attr) bool { return at.key == kv[0] }); j >= 0 && kv[1] == "" {
				kvs[i][1] = set[j].def
			}
		}
	}
	cur := listenerAttrs(lb, l)
	if err := applyAttrs(cur, set, "Listener", kvs); err != nil {
		return err
	}
	l.Attributes = cur
	return nil
}

func listenerAttrsOut(m map[string]string) []ListenerAttribute { return attrsOut[ListenerAttribute](m) }

func (a *API) describeListenerAttributes(ctx context.Context, in *DescribeListenerAttributesInput) (*DescribeListenerAttributesOutput, error) {
	var attrs map[string]string
	err := a.view(ctx, func(tx store.ReadTx) error {
		l, lb, err := a.getListener(tx, in.ListenerArn)
		if err != nil {
			return err
		}
		attrs = listenerAttrs(lb, l)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &DescribeListenerAttributesOutput{Attributes: listenerAttrsOut(attrs)}, nil
}

func (a *API) modifyListenerAttributes(ctx context.Context, in *ModifyListenerAttributesInput) (*ModifyListenerAttributesOutput, error) {
	kvs := make([][2]string, 0, len(in.Attributes))
	for _, at := range in.Attributes {
		kvs = append(kvs, [2]string{at.Key, at.Value})
	}
	var attrs map[string]string
	err := a.update(ctx, func(tx store.Tx) error {
		l, lb, err := a.getListener(tx, in.ListenerArn)
		if err != nil {
			return err
		}
		if err := modifyListenerAttrs(lb, l, kvs); err != nil {
			return err
		}
		attrs = l.Attributes
		return store.PutJSON(tx, store.ListenerKey(lb.ID, l.ID), l)
	})
	if err != nil {
		return nil, err
	}
	return &ModifyListenerAttributesOutput{Attributes: listenerAttrsOut(attrs)}, nil
}
