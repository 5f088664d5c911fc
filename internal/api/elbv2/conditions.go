package elbv2

import (
	"net/netip"
	"regexp"
	"slices"
	"strings"

	"github.com/quayside/quayside/internal/store"
)

var (
	pathPatternRE = regexp.MustCompile(`^[A-Za-z0-9_\-.$/~"'@:+&*?]+$`)
	hostHeaderRE  = regexp.MustCompile(`^[A-Za-z0-9\-.*?]+$`)
	// A host header names a domain: at least one '.', and only letters
	// (or wildcards standing for them) after the last one.
	hostTLDRE    = regexp.MustCompile(`\.[A-Za-z*?]+$`)
	headerNameRE = regexp.MustCompile("^[A-Za-z0-9!#$%&'*+\\-.^_`|~]+$")
	methodRE     = regexp.MustCompile(`^[A-Z_\-]+$`)
	printableRE  = regexp.MustCompile(`^[^\x00-\x1f\x7f]*$`)
)

var conditionFields = []string{store.CondHTTPHeader, store.CondHTTPRequestMethod, store.CondHostHeader,
	store.CondPathPattern, store.CondQueryString, store.CondSourceIP}

// conditionsIn checks a rule's conditions as ELBv2 does and normalises
// them: path-pattern and host-header from Values or their config; at most
// one condition of each field but http-header and query-string; at most
// three values in one condition and five over all conditions ("You can
// specify up to three comparison strings per condition and up to five per
// rule", ALB guide, Listener rules).
func conditionsIn(cs []RuleCondition) ([]store.Condition, error) {
	if len(cs) == 0 {
		return nil, validation("A rule must have at least one condition")
	}
	out := make([]store.Condition, 0, len(cs))
	seen := map[string]bool{}
	total := 0
	for _, c := range cs {
		if len(c.RegexValues) > 0 {
			return nil, validation("Regular expression conditions are not supported by Quayside")
		}
		if !slices.Contains(conditionFields, c.Field) {
			return nil, validation("Condition field '%s' must be one of '[http-header, http-request-method, host-header, path-pattern, query-string, source-ip]'", c.Field)
		}
		if seen[c.Field] && c.Field != store.CondHTTPHeader && c.Field != store.CondQueryString {
			return nil, validation("A rule can only have one '%s' condition", c.Field)
		}
		seen[c.Field] = true
		sc, err := conditionIn(c)
		if err != nil {
			return nil, err
		}
		n := len(sc.Values) + len(sc.QueryValues)
		if n > maxValuesPerCondition {
			return nil, validation("A '%s' condition can only have '%d' values", c.Field, maxValuesPerCondition)
		}
		total += n
		out = append(out, sc)
	}
	if total > maxConditionValues {
		return nil, validation("A rule can only have '%d' condition values", maxConditionValues)
	}
	return out, nil
}

func conditionIn(c RuleCondition) (store.Condition, error) {
	sc := store.Condition{Field: c.Field}
	others := 0
	for _, set := range []bool{c.PathPatternConfig != nil, c.HostHeaderConfig != nil, c.HttpHeaderConfig != nil,
		c.HttpRequestMethodConfig != nil, c.QueryStringConfig != nil, c.SourceIpConfig != nil} {
		if set {
			others++
		}
	}
	if others > 1 {
		return sc, validation("A condition can have only one configuration")
	}
	legacy := func(cfg []string, has bool) ([]string, error) {
		switch {
		case len(c.Values) > 0 && has:
			return nil, validation("You cannot specify both 'Values' and a configuration for condition field '%s'", c.Field)
		case len(c.Values) > 0:
			if len(c.Values) > 1 {
				return nil, validation("The 'Values' of a '%s' condition can have only one value; use its configuration for more", c.Field)
			}
			sc.Legacy = true
			return c.Values, nil
		case len(cfg) == 0:
			return nil, validation("A '%s' condition must have at least one value", c.Field)
		}
		return cfg, nil
	}
	noLegacy := func() error {
		if len(c.Values) > 0 {
			return validation("The 'Values' of a condition can be used only with the fields 'path-pattern' and 'host-header'")
		}
		return nil
	}
	wrong := func(has bool) error {
		if others > 0 && !has {
			return validation("The configuration of the condition does not match its field '%s'", c.Field)
		}
		return nil
	}
	var err error
	switch c.Field {
	case store.CondPathPattern:
		var cfg []string
		if c.PathPatternConfig != nil {
			cfg = c.PathPatternConfig.Values
		}
		if err = wrong(c.PathPatternConfig != nil); err == nil {
			sc.Values, err = legacy(cfg, c.PathPatternConfig != nil)
		}
		for _, v := range sc.Values {
			if err == nil && (len(v) > 128 || !pathPatternRE.MatchString(v)) {
				err = validation("The path pattern '%s' is not valid: at most 128 characters from A-Z, a-z, 0-9, _ - . $ / ~ \" ' @ : + & * ?", v)
			}
		}
	case store.CondHostHeader:
		var cfg []string
		if c.HostHeaderConfig != nil {
			cfg = c.HostHeaderConfig.Values
		}
		if err = wrong(c.HostHeaderConfig != nil); err == nil {
			sc.Values, err = legacy(cfg, c.HostHeaderConfig != nil)
		}
		for _, v := range sc.Values {
			if err == nil && (len(v) > 128 || !hostHeaderRE.MatchString(v)) {
				err = validation("The host header '%s' is not valid: at most 128 characters from A-Z, a-z, 0-9, - . * ?", v)
			}
			if err == nil && !hostTLDRE.MatchString(v) {
				err = validation("The host header '%s' is not valid: it must include at least one '.' character and only alphabetical characters after the final '.'", v)
			}
		}
	case store.CondHTTPHeader:
		h := c.HttpHeaderConfig
		if err = noLegacy(); err == nil {
			err = wrong(h != nil)
		}
		switch {
		case err != nil:
		case h == nil || h.HttpHeaderName == "":
			err = validation("An 'http-header' condition must have an HTTP header name")
		case len(h.HttpHeaderName) > 40 || !headerNameRE.MatchString(h.HttpHeaderName):
			err = validation("The HTTP header name '%s' is not valid", h.HttpHeaderName)
		case strings.EqualFold(h.HttpHeaderName, "Host"):
			err = validation("An 'http-header' condition cannot match the 'Host' header; use a 'host-header' condition")
		case len(h.Values) == 0:
			err = validation("An 'http-header' condition must have at least one value")
		default:
			sc.HTTPHeaderName, sc.Values = h.HttpHeaderName, h.Values
			for _, v := range h.Values {
				if err == nil && (len(v) > 128 || !printableRE.MatchString(v)) {
					err = validation("The HTTP header value '%s' is not valid: at most 128 printable characters", v)
				}
			}
		}
	case store.CondHTTPRequestMethod:
		m := c.HttpRequestMethodConfig
		if err = noLegacy(); err == nil {
			err = wrong(m != nil)
		}
		if err == nil && (m == nil || len(m.Values) == 0) {
			err = validation("An 'http-request-method' condition must have at least one value")
		}
		if err == nil {
			sc.Values = m.Values
			for _, v := range m.Values {
				if err == nil && (len(v) > 40 || !methodRE.MatchString(v)) {
					err = validation("The HTTP request method '%s' is not valid: at most 40 characters from A-Z, _ and -", v)
				}
			}
		}
	case store.CondQueryString:
		q := c.QueryStringConfig
		if err = noLegacy(); err == nil {
			err = wrong(q != nil)
		}
		if err == nil && (q == nil || len(q.Values) == 0) {
			err = validation("A 'query-string' condition must have at least one key/value pair")
		}
		if err == nil {
			for _, kv := range q.Values {
				if kv.Value == "" {
					err = validation("Each key/value pair of a 'query-string' condition must have a value")
					break
				}
				if len(kv.Key) > 128 || len(kv.Value) > 128 || !printableRE.MatchString(kv.Key+kv.Value) {
					err = validation("The query string pair '%s=%s' is not valid: keys and values are at most 128 printable characters", kv.Key, kv.Value)
					break
				}
				sc.QueryValues = append(sc.QueryValues, store.QueryKeyValue{Key: kv.Key, Value: kv.Value})
			}
		}
	case store.CondSourceIP:
		s := c.SourceIpConfig
		if err = noLegacy(); err == nil {
			err = wrong(s != nil)
		}
		if err == nil && (s == nil || len(s.Values) == 0) {
			err = validation("A 'source-ip' condition must have at least one CIDR block")
		}
		if err == nil {
			sc.Values = s.Values
			for _, v := range s.Values {
				if _, perr := netip.ParsePrefix(v); perr != nil && err == nil {
					err = validation("The source IP '%s' is not a valid CIDR block", v)
				}
			}
		}
	}
	return sc, err
}

// conditionsOut shows stored conditions as ELBv2 does: the field and its
// configuration, and for path-pattern and host-header also Values.
func conditionsOut(cs []store.Condition) []RuleCondition {
	out := make([]RuleCondition, 0, len(cs))
	for _, c := range cs {
		o := RuleCondition{Field: c.Field}
		switch c.Field {
		case store.CondPathPattern:
			o.Values, o.PathPatternConfig = c.Values, &PathPatternConditionConfig{Values: c.Values}
		case store.CondHostHeader:
			o.Values, o.HostHeaderConfig = c.Values, &HostHeaderConditionConfig{Values: c.Values}
		case store.CondHTTPHeader:
			o.HttpHeaderConfig = &HttpHeaderConditionConfig{HttpHeaderName: c.HTTPHeaderName, Values: c.Values}
		case store.CondHTTPRequestMethod:
			o.HttpRequestMethodConfig = &HttpRequestMethodConditionConfig{Values: c.Values}
		case store.CondQueryString:
			q := &QueryStringConditionConfig{}
			for _, kv := range c.QueryValues {
				q.Values = append(q.Values, QueryStringKeyValuePair{Key: kv.Key, Value: kv.Value})
			}
			o.QueryStringConfig = q
		case store.CondSourceIP:
			o.SourceIpConfig = &SourceIpConditionConfig{Values: c.Values}
		}
		out = append(out, o)
	}
	return out
}
