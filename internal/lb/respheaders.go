package lb

import (
	"strings"

	"github.com/quayside/quayside/internal/store"
)

// serverField is the Server header ALB puts on the answers it makes
// itself (fixed responses, redirects, error pages); the listener
// attribute routing.http.response.server.enabled=false leaves it off.
const serverField = "Server: awselb/2.0\r\n"

// respHeaders is what an HTTP listener's response header attributes do to
// its answers, compiled once per snapshot so that writing them copies
// bytes and allocates nothing. A listener whose attributes are all at
// their defaults has none (nil).
//
// As the ALB user guide has it: a header attribute with a value adds that
// header to every response, replacing the target's header of that name;
// an empty one leaves the header alone.
type respHeaders struct {
	noServer bool     // no "Server: awselb/2.0" on the load balancer's own answers
	names    []string // the headers set: a target's fields of these names are dropped
	block    string   // the header lines, each "Name: value\r\n"
}

// compileRespHeaders compiles a listener's attributes; nil when they
// change nothing. A value that could break the head (a control character:
// the API refuses those) is skipped.
func compileRespHeaders(attrs map[string]string) *respHeaders {
	h := &respHeaders{noServer: attrs[store.ListenerAttrServerHeader] == "false"}
	var b strings.Builder
	for _, a := range store.ResponseHeaderAttrs {
		v := attrs[a.Key]
		if v == "" || !fieldValue(v) {
			continue
		}
		h.names = append(h.names, a.Header)
		b.WriteString(a.Header)
		b.WriteString(": ")
		b.WriteString(v)
		b.WriteString("\r\n")
	}
	if !h.noServer && len(h.names) == 0 {
		return nil
	}
	h.block = b.String()
	return h
}

// fieldValue: no control characters but tab.
func fieldValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// replaces reports whether a target's field is one the listener sets.
func (h *respHeaders) replaces(name []byte) bool {
	for _, n := range h.names {
		if equalFold(name, n) {
			return true
		}
	}
	return false
}
