package lb

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strconv"
	"strings"
)

// The proxy speaks HTTP/1.1 on both sides with its own small engine: one
// goroutine per client connection reads a request head, writes it to a
// pooled target connection, and copies the answer back, without the
// goroutine hand-offs and per-request allocations of net/http's server and
// Transport. head is a parsed request or response head whose fields point
// into one buffer reused for the connection's life.

// Head limits, ALB's quotas: a request line or one field line at most
// 16 KiB, a request head at most 64 KiB, a response head at most 32 KiB.
const (
	maxLine     = 16 << 10
	maxHead     = 64 << 10
	maxRespHead = 32 << 10
)

var (
	errLineTooLong  = errors.New("lb: request line too long")
	errHeadTooLarge = errors.New("lb: head too large")
	errMalformed    = errors.New("lb: malformed head")
	errVersion      = errors.New("lb: unsupported HTTP version")
)

type field struct{ name, value []byte }

// head is one parsed HTTP/1.x head.
type head struct {
	buf    []byte
	fields []field

	// Request line (requests).
	method, target []byte
	// Status line (responses): code and the rest of the line after the
	// version ("200 OK").
	status     int
	statusLine []byte

	minor int // HTTP/1.<minor>

	// Framing and connection handling, from the fields.
	contentLength int64 // -1: none given
	chunked       bool
	clAndTE       bool // both Content-Length and Transfer-Encoding
	badTE         bool // a Transfer-Encoding whose final coding is not chunked
	teCodings     bool // a Transfer-Encoding names a coding other than chunked
	connClose     bool
	connKeepAlive bool
	connUpgrade   bool
	connTokens    [][]byte // other Connection tokens: fields to drop
	expect100     bool
	host          []byte
	hasXFF        bool
	hasTrailer    bool
}

func (h *head) reset() {
	h.buf = h.buf[:0]
	h.fields = h.fields[:0]
	h.connTokens = h.connTokens[:0]
	h.method, h.target, h.statusLine, h.host = nil, nil, nil, nil
	h.status, h.minor = 0, 1
	h.contentLength = -1
	h.chunked, h.clAndTE, h.badTE, h.connClose, h.connKeepAlive, h.connUpgrade = false, false, false, false, false, false
	h.expect100, h.hasXFF, h.hasTrailer, h.teCodings = false, false, false, false
}

// readRaw reads a head of at most limit bytes up to and including its
// empty line into h.buf, skipping empty lines before the first line; no
// line may be longer than maxLine. io.EOF means the peer closed cleanly
// before sending anything.
func (h *head) readRaw(br *bufio.Reader, limit int) error {
	h.reset()
	lineStart := 0
	for {
		chunk, err := br.ReadSlice('\n')
		if len(h.buf)+len(chunk) > limit {
			return errHeadTooLarge
		}
		h.buf = append(h.buf, chunk...)
		if len(h.buf)-lineStart > maxLine+2 { // +2: the CRLF
			if lineStart == 0 {
				return errLineTooLong
			}
			return errHeadTooLarge
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			if len(h.buf) == 0 && err == io.EOF {
				return io.EOF
			}
			if err == io.EOF {
				return io.ErrUnexpectedEOF
			}
			return err
		}
		line := h.buf[lineStart:]
		if len(line) <= 2 && (len(line) == 1 || line[0] == '\r') {
			if lineStart == 0 {
				h.buf = h.buf[:0] // a stray CRLF before the head
				continue
			}
			return nil
		}
		lineStart = len(h.buf)
	}
}

// lines calls fn for each line of the raw head without its CRLF, the empty
// last line excluded.
func (h *head) lines(fn func(i int, line []byte) error) error {
	rest := h.buf
	for i := 0; len(rest) > 0; i++ {
		n := bytes.IndexByte(rest, '\n')
		line := rest[:n]
		rest = rest[n+1:]
		if len(line) > 0 && line[len(line)-1] == '\r' {
			line = line[:len(line)-1]
		}
		if len(line) == 0 {
			return nil
		}
		if err := fn(i, line); err != nil {
			return err
		}
	}
	return nil
}

// readRequest reads and parses a request head.
func (h *head) readRequest(br *bufio.Reader) error {
	if err := h.readRaw(br, maxHead); err != nil {
		return err
	}
	err := h.lines(func(i int, line []byte) error {
		if i == 0 {
			return h.requestLine(line)
		}
		return h.field(line)
	})
	if err != nil {
		return err
	}
	if h.minor == 1 && h.host == nil {
		return errMalformed
	}
	if h.minor == 0 {
		// RFC 9112 6.1: Transfer-Encoding in an HTTP/1.0 message means
		// faulty framing; RFC 9110 10.1.1: a 100-continue expectation
		// from HTTP/1.0 is ignored.
		if h.chunked || h.badTE {
			return errMalformed
		}
		h.expect100 = false
	}
	h.framing()
	return nil
}

// framing settles the body length: a Transfer-Encoding wins over a
// Content-Length (RFC 9112 6.3), and the pair is noted, since the
// connection must close after such a message (RFC 9112 6.1). Without
// chunked as the final coding a response lasts until the connection
// closes; such a request is refused.
func (h *head) framing() {
	if h.chunked || h.badTE {
		h.clAndTE = h.contentLength >= 0
		h.contentLength = -1
	}
}

func (h *head) requestLine(line []byte) error {
	m, rest, ok1 := bytes.Cut(line, []byte{' '})
	t, proto, ok2 := bytes.Cut(rest, []byte{' '})
	if !ok1 || !ok2 || len(m) == 0 || len(t) == 0 || !isToken(m) || !visible(t) {
		return errMalformed
	}
	h.method, h.target = m, t
	return h.version(proto)
}

func (h *head) version(proto []byte) error {
	switch string(proto) {
	case "HTTP/1.1":
		h.minor = 1
	case "HTTP/1.0":
		h.minor = 0
	default:
		if bytes.HasPrefix(proto, []byte("HTTP/")) {
			return errVersion
		}
		return errMalformed
	}
	return nil
}

// readResponse reads and parses a response head.
func (h *head) readResponse(br *bufio.Reader) error {
	if err := h.readRaw(br, maxRespHead); err != nil {
		return err
	}
	err := h.lines(func(i int, line []byte) error {
		if i == 0 {
			proto, rest, ok := bytes.Cut(line, []byte{' '})
			if !ok || len(rest) < 3 {
				return errMalformed
			}
			if err := h.version(proto); err != nil {
				return err
			}
			code, err := strconv.Atoi(string(rest[:3]))
			if err != nil || code < 100 || code > 999 || len(rest) > 3 && rest[3] != ' ' {
				return errMalformed
			}
			h.status, h.statusLine = code, rest
			return nil
		}
		return h.field(line)
	})
	if err != nil {
		return err
	}
	h.framing()
	return nil
}

// field parses one header line and notes what framing and connection
// handling need.
func (h *head) field(line []byte) error {
	if line[0] == ' ' || line[0] == '\t' {
		return errMalformed // obsolete line folding
	}
	name, value, ok := bytes.Cut(line, []byte{':'})
	if !ok || len(name) == 0 || !isToken(name) {
		return errMalformed
	}
	value = bytes.Trim(value, " \t")
	if bytes.IndexByte(value, '\r') >= 0 || bytes.IndexByte(value, 0) >= 0 {
		return errMalformed
	}
	h.fields = append(h.fields, field{name, value})
	switch len(name) {
	case 4:
		if equalFold(name, "Host") {
			if h.host != nil || !validHost(value) {
				return errMalformed
			}
			h.host = value
		}
	case 6:
		if equalFold(name, "Expect") && equalFold(value, "100-continue") {
			h.expect100 = true
		}
	case 7:
		if equalFold(name, "Trailer") {
			h.hasTrailer = true
		}
	case 10:
		if equalFold(name, "Connection") {
			h.connection(value)
		}
	case 14:
		if equalFold(name, "Content-Length") {
			n, ok := parseLength(value)
			if !ok || h.contentLength >= 0 && h.contentLength != n {
				return errMalformed
			}
			h.contentLength = n
		}
	case 15:
		if equalFold(name, "X-Forwarded-For") {
			h.hasXFF = true
		}
	case 17:
		if equalFold(name, "Transfer-Encoding") {
			last := value // the final coding decides the framing
			if i := bytes.LastIndexByte(value, ','); i >= 0 {
				last = value[i+1:]
			}
			h.chunked = equalFold(bytes.TrimSpace(last), "chunked")
			h.badTE = !h.chunked
			h.teCodings = h.teCodings || !equalFold(value, "chunked")
		}
	}
	return nil
}

func (h *head) connection(value []byte) {
	for tok := range bytes.SplitSeq(value, []byte{','}) {
		tok = bytes.TrimSpace(tok)
		switch {
		case len(tok) == 0:
		case equalFold(tok, "close"):
			h.connClose = true
		case equalFold(tok, "keep-alive"):
			h.connKeepAlive = true
		case equalFold(tok, "upgrade"):
			h.connUpgrade = true
		case equalFold(tok, "content-length"), equalFold(tok, "host"):
			// Framing and routing stay end to end whatever Connection
			// names: a body forwarded without its length is read by
			// the target as another request.
		default:
			h.connTokens = append(h.connTokens, tok)
		}
	}
}

// parseLength parses a Content-Length value: 1*DIGIT (RFC 9110 8.6), no
// sign, no list, so the target cannot read it another way.
func parseLength(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// validHost: a Host value is an authority, uri-host [":" port] (RFC 9112
// 3.2 requires a 400 for an invalid one).
func validHost(b []byte) bool {
	for _, c := range b {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("-._~!$&'()*+,;=:[]%", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// get returns the first value of the named field.
func (h *head) get(name string) ([]byte, bool) {
	for _, f := range h.fields {
		if equalFold(f.name, name) {
			return f.value, true
		}
	}
	return nil, false
}

// keepAlive reports whether the connection may be kept after this
// request: the client wants it, and the framing was not ambiguous (both a
// length and chunked: RFC 9112 6.1 has the connection close; ALB's desync
// mitigation class "ambiguous").
func (h *head) keepAlive() bool {
	if h.clAndTE {
		return false
	}
	if h.minor == 0 {
		return h.connKeepAlive && !h.connClose
	}
	return !h.connClose
}

// hopByHop reports whether a field is for this hop only and is not
// forwarded: RFC 9110 7.6.1's list plus what Connection names.
func (h *head) hopByHop(name []byte) bool {
	switch len(name) {
	case 2:
		return equalFold(name, "TE")
	case 7:
		return equalFold(name, "Upgrade") || equalFold(name, "Trailer")
	case 10:
		return equalFold(name, "Connection") || equalFold(name, "Keep-Alive")
	case 16:
		return equalFold(name, "Proxy-Connection")
	case 17:
		return equalFold(name, "Transfer-Encoding")
	case 18:
		return equalFold(name, "Proxy-Authenticate")
	case 19:
		return equalFold(name, "Proxy-Authorization")
	}
	for _, t := range h.connTokens {
		if bytes.EqualFold(t, name) {
			return true
		}
	}
	return false
}

// equalFold compares ASCII case-insensitively without allocating.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		if lower(b[i]) != lower(s[i]) {
			return false
		}
	}
	return true
}

// visible: no spaces or control characters (a request target).
func visible(b []byte) bool {
	for _, c := range b {
		if c <= ' ' || c == 0x7f {
			return false
		}
	}
	return true
}

func isToken(b []byte) bool {
	for _, c := range b {
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}
