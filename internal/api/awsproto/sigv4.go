package awsproto

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/quayside/quayside/internal/errs"
)

// Credentials resolves an access key ID to its secret and the account it
// belongs to.
type Credentials interface {
	Lookup(accessKeyID string) (secret, account string, ok bool)
}

// SigV4MaxSkew is how far the request time (X-Amz-Date) may be from the
// server clock, either way.
const SigV4MaxSkew = 5 * time.Minute

const (
	sigV4Algorithm  = "AWS4-HMAC-SHA256"
	sigV4Terminator = "aws4_request"
	amzDateFormat   = "20060102T150405Z"
	scopeDateFormat = "20060102"

	msgSignatureMismatch = "The request signature we calculated does not match the signature you provided. " +
		"Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	msgUnknownKey = "The security token included in the request is invalid."
)

// NewSigV4 returns an Authenticator that verifies AWS Signature Version 4
// (header form, and the presigned query form) against creds. now is the
// server clock (nil means time.Now).
func NewSigV4(creds Credentials, now func() time.Time) Authenticator {
	if now == nil {
		now = time.Now
	}
	return &sigV4{creds: creds, now: now}
}

type sigV4 struct {
	creds Credentials
	now   func() time.Time

	mu   sync.Mutex
	keys map[string]cachedKey // derived signing keys by akid/scope
}

type cachedKey struct {
	secretSum [sha256.Size]byte // detects a rotated secret
	key       []byte
}

const maxCachedKeys = 4096

// signingKey derives (or reuses) the key for akid's scope. The key changes
// daily, so the cache stays small; it is dropped whole when full.
func (s *sigV4) signingKey(akid, secret string, req *sigV4Request) []byte {
	id := akid + "/" + req.scopeDate + "/" + req.region + "/" + req.service
	sum := sha256.Sum256([]byte(secret))
	s.mu.Lock()
	c, ok := s.keys[id]
	s.mu.Unlock()
	if ok && c.secretSum == sum {
		return c.key
	}
	key := signingKey(secret, req.scopeDate, req.region, req.service)
	s.mu.Lock()
	if s.keys == nil || len(s.keys) >= maxCachedKeys {
		s.keys = make(map[string]cachedKey)
	}
	s.keys[id] = cachedKey{secretSum: sum, key: key}
	s.mu.Unlock()
	return key
}

// sigV4Request is what the client claims in its Authorization header (or
// presigned query).
type sigV4Request struct {
	accessKeyID   string
	scopeDate     string
	region        string
	service       string
	signedHeaders []string // as sent, lower-cased
	signature     string
	amzDate       string    // YYYYMMDDTHHMMSSZ, as used in the string to sign
	when          time.Time // parsed amzDate
	presigned     bool
	expires       time.Duration // presigned only
}

// Authenticate implements Authenticator.
func (s *sigV4) Authenticate(r *http.Request, body []byte) (Caller, error) {
	// The checks run in the order AWS (Coral) runs them, so a request with
	// several problems gets the error AWS would send: parameters present,
	// date format, clock skew, host signed, algorithm, credential shape,
	// scope, access key, signature.
	req, err := parseSigV4(r, s.now())
	if err != nil {
		return Caller{}, err
	}
	secret, account, ok := s.creds.Lookup(req.accessKeyID)
	if !ok {
		return Caller{}, errs.New(errs.UnrecognizedClient, msgUnknownKey)
	}

	bodyHash := sha256Hex(body)
	payloadHash := bodyHash
	if v := r.Header.Get("X-Amz-Content-Sha256"); v != "" {
		// Only S3 sends it. We serve no streaming uploads, so the value
		// must be the hash of the body we got.
		if v != bodyHash {
			return Caller{}, errs.New(errs.InvalidSignature, msgSignatureMismatch)
		}
		payloadHash = v
	}

	key := s.signingKey(req.accessKeyID, secret, req)
	want, err := hex.DecodeString(req.signature)
	if err != nil || len(want) != sha256.Size {
		return Caller{}, errs.New(errs.InvalidSignature, msgSignatureMismatch)
	}
	canonHeaders := canonicalHeaders(r, req.signedHeaders, len(body))
	query := canonicalQuery(r.URL.RawQuery, req.presigned)
	matched := false
	for _, uri := range canonicalURIs(r.URL) {
		cr := canonicalRequest(r.Method, uri, query, canonHeaders, req.signedHeaders, payloadHash)
		sts := sigV4Algorithm + "\n" + req.amzDate + "\n" +
			req.scopeDate + "/" + req.region + "/" + req.service + "/" + sigV4Terminator + "\n" + sha256Hex([]byte(cr))
		if hmac.Equal(hmacSHA256(key, sts), want) {
			matched = true
			break
		}
	}
	if !matched {
		return Caller{}, errs.New(errs.InvalidSignature, msgSignatureMismatch)
	}
	return Caller{AccessKeyID: req.accessKeyID, Account: account, Region: req.region, Service: req.service}, nil
}

func checkSkew(req *sigV4Request, now time.Time) error {
	now = now.UTC()
	if req.presigned {
		// Valid from X-Amz-Date (with the usual skew allowance for clients
		// whose clock runs ahead) until X-Amz-Date + X-Amz-Expires.
		if end := req.when.Add(req.expires); now.After(end) {
			return errs.New(errs.InvalidSignature, "Signature expired: %s is now earlier than %s (%s + %d sec.)",
				end.Format(amzDateFormat), now.Format(amzDateFormat), req.amzDate, int64(req.expires/time.Second))
		}
	} else if lo := now.Add(-SigV4MaxSkew); req.when.Before(lo) {
		return errs.New(errs.InvalidSignature, "Signature expired: %s is now earlier than %s (%s - 5 min.)",
			req.amzDate, lo.Format(amzDateFormat), now.Format(amzDateFormat))
	}
	if hi := now.Add(SigV4MaxSkew); req.when.After(hi) {
		return errs.New(errs.InvalidSignature, "Signature not yet current: %s is still later than %s (%s + 5 min.)",
			req.amzDate, hi.Format(amzDateFormat), now.Format(amzDateFormat))
	}
	return nil
}

// parseSigV4 reads the signature parameters from the Authorization header
// or, failing that, from a presigned query string.
func parseSigV4(r *http.Request, now time.Time) (*sigV4Request, error) {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		if q := r.URL.Query(); q.Get("X-Amz-Signature") != "" || q.Get("X-Amz-Algorithm") != "" || q.Get("X-Amz-Credential") != "" {
			return parsePresigned(q, now)
		}
		return nil, errs.New(errs.MissingAuthToken, "Missing Authentication Token")
	}

	// "<algorithm> k=v, k=v, k=v": AWS splits on commas and whitespace and
	// complains about the first piece without an equal sign.
	algo, rest, _ := strings.Cut(strings.TrimLeft(auth, " \t"), " ")
	params := map[string]string{}
	for _, part := range strings.FieldsFunc(rest, func(c rune) bool { return c == ',' || c == ' ' || c == '\t' }) {
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return nil, errs.New(errs.IncompleteSignature,
				"'%s' not a valid key=value pair (missing equal-sign) in Authorization header: '%s'.", part, auth)
		}
		params[k] = v
	}
	dateValue, hasDate := requestDate(r)
	var missing []string
	for _, p := range []string{"Credential", "Signature", "SignedHeaders"} {
		if params[p] == "" {
			missing = append(missing, "Authorization header requires '"+p+"' parameter.")
		}
	}
	if !hasDate {
		missing = append(missing, "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
	}
	if len(missing) > 0 {
		return nil, errs.New(errs.IncompleteSignature, "%s Authorization=%s", strings.Join(missing, " "), auth)
	}
	req := &sigV4Request{signature: params["Signature"]}
	if err := req.check(algo, dateValue, params["Credential"], params["SignedHeaders"], now); err != nil {
		return nil, err
	}
	return req, nil
}

// check validates what the client sent, in AWS's order.
func (req *sigV4Request) check(algo, date, credential, signedHeaders string, now time.Time) error {
	if err := req.setDate(date); err != nil {
		return err
	}
	if err := checkSkew(req, now); err != nil {
		return err
	}
	if err := req.setSignedHeaders(signedHeaders); err != nil {
		return err
	}
	if algo != sigV4Algorithm {
		return errs.New(errs.IncompleteSignature, "Unsupported AWS 'algorithm': '%s' (only AWS4-HMAC-SHA256 for now).", algo)
	}
	return req.setCredential(credential)
}

func parsePresigned(q url.Values, now time.Time) (*sigV4Request, error) {
	var missing []string
	for _, p := range []string{"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "X-Amz-SignedHeaders", "X-Amz-Date", "X-Amz-Expires"} {
		if q.Get(p) == "" {
			missing = append(missing, "AWS query-string parameters must include '"+p+"'.")
		}
	}
	if len(missing) > 0 {
		return nil, errs.New(errs.IncompleteSignature, "%s Re-examine the query-string parameters.", strings.Join(missing, " "))
	}
	req := &sigV4Request{signature: q.Get("X-Amz-Signature"), presigned: true}
	secs, err := strconv.ParseInt(q.Get("X-Amz-Expires"), 10, 64)
	if err != nil || secs < 0 || secs > 7*24*3600 {
		return nil, errs.New(errs.IncompleteSignature,
			"X-Amz-Expires must be a non-negative integer of at most 604800 seconds, not '%s'.", q.Get("X-Amz-Expires"))
	}
	req.expires = time.Duration(secs) * time.Second
	if err := req.check(q.Get("X-Amz-Algorithm"), q.Get("X-Amz-Date"), q.Get("X-Amz-Credential"), q.Get("X-Amz-SignedHeaders"), now); err != nil {
		return nil, err
	}
	return req, nil
}

// requestDate is the X-Amz-Date header, else the Date header.
func requestDate(r *http.Request) (string, bool) {
	if v := r.Header.Get("X-Amz-Date"); v != "" {
		return v, true
	}
	if v := r.Header.Get("Date"); v != "" {
		return v, true
	}
	return "", false
}

// setCredential parses keyid/date/region/service/aws4_request (trailing
// slashes are ignored, as AWS does) and checks the scope against the
// request date. Scope problems are reported together, like AWS.
func (req *sigV4Request) setCredential(cred string) error {
	parts := strings.Split(strings.TrimRight(cred, "/"), "/")
	if len(parts) != 5 {
		return errs.New(errs.IncompleteSignature,
			"Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '%s'", cred)
	}
	req.accessKeyID, req.scopeDate, req.region, req.service = parts[0], parts[1], parts[2], parts[3]
	var problems []string
	if !validScopePart(req.region) {
		problems = append(problems, "Credential should be scoped to a valid region, not '"+req.region+"'.")
	}
	if !validScopePart(req.service) {
		problems = append(problems, "Credential should be scoped to correct service: '"+req.service+"'.")
	}
	if parts[4] != sigV4Terminator {
		problems = append(problems, "Credential should be scoped with a valid terminator: 'aws4_request', not '"+parts[4]+"'.")
	}
	if d := req.when.Format(scopeDateFormat); req.scopeDate != d {
		problems = append(problems, "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '"+
			req.scopeDate+"' != '"+d+"', from '"+req.amzDate+"'.")
	}
	if len(problems) > 0 {
		return errs.New(errs.InvalidSignature, "%s", strings.Join(problems, " "))
	}
	return nil
}

// validScopePart accepts region and service names as AWS spells them:
// lower-case letters, digits and '-'.
func validScopePart(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func (req *sigV4Request) setSignedHeaders(list string) error {
	hasHost := false
	for _, h := range strings.Split(list, ";") {
		h = strings.ToLower(h)
		if h == "host" {
			hasHost = true
		}
		req.signedHeaders = append(req.signedHeaders, h)
	}
	if !hasHost {
		return errs.New(errs.InvalidSignature, "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")
	}
	return nil
}

// setDate accepts ISO 8601 basic format (what every SDK sends) and, for the
// Date header fallback, the HTTP date formats.
func (req *sigV4Request) setDate(v string) error {
	t, err := time.Parse(amzDateFormat, v)
	if err != nil {
		ht, herr := http.ParseTime(v)
		if herr != nil {
			return errs.New(errs.IncompleteSignature,
				"Date must be in ISO-8601 'basic format'. Got '%s'. See http://en.wikipedia.org/wiki/ISO_8601", v)
		}
		t = ht
	}
	req.when = t.UTC()
	req.amzDate = req.when.Format(amzDateFormat)
	return nil
}

// canonicalHeaders returns "name:value\n" for each signed header, in the
// order the client listed them (sorted, for any client that signs
// correctly). Values come only from what was received.
func canonicalHeaders(r *http.Request, signed []string, bodyLen int) string {
	var b strings.Builder
	for _, name := range signed {
		b.WriteString(name)
		b.WriteByte(':')
		switch name {
		case "host":
			// net/http moves Host out of r.Header.
			b.WriteString(trimAll(r.Host))
		case "content-length":
			// ... and Content-Length too.
			if vs := r.Header.Values("Content-Length"); len(vs) > 0 {
				writeHeaderValues(&b, vs)
			} else if r.ContentLength >= 0 {
				b.WriteString(strconv.FormatInt(r.ContentLength, 10))
			} else {
				b.WriteString(strconv.Itoa(bodyLen))
			}
		case "transfer-encoding":
			writeHeaderValues(&b, r.TransferEncoding)
		default:
			writeHeaderValues(&b, r.Header.Values(name))
		}
		b.WriteByte('\n')
	}
	return b.String()
}

func writeHeaderValues(b *strings.Builder, vs []string) {
	for i, v := range vs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(trimAll(v))
	}
}

// trimAll trims a header value and collapses inner runs of spaces to one.
func trimAll(v string) string {
	v = strings.Trim(v, " \t")
	if !strings.Contains(v, "  ") {
		return v
	}
	var b strings.Builder
	b.Grow(len(v))
	space := false
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == ' ' {
			if space {
				continue
			}
			space = true
		} else {
			space = false
		}
		b.WriteByte(c)
	}
	return b.String()
}

func canonicalRequest(method, uri, query, headers string, signed []string, payloadHash string) string {
	var b strings.Builder
	b.Grow(len(method) + len(uri) + len(query) + len(headers) + 200)
	b.WriteString(method)
	b.WriteByte('\n')
	b.WriteString(uri)
	b.WriteByte('\n')
	b.WriteString(query)
	b.WriteByte('\n')
	b.WriteString(headers)
	b.WriteByte('\n')
	b.WriteString(strings.Join(signed, ";"))
	b.WriteByte('\n')
	b.WriteString(payloadHash)
	return b.String()
}

// canonicalURIs returns the canonical URI candidates for u. Clients differ:
// botocore removes dot segments and repeated slashes before encoding, the
// Go and Java SDKs do not. Both encode the already-escaped path once more
// (every service but S3), so '%' becomes '%25'.
func canonicalURIs(u *url.URL) []string {
	raw := u.EscapedPath()
	if raw == "" {
		raw = "/"
	}
	norm := removeDotSegments(raw)
	a := awsURIEncode(norm, false)
	if norm == raw {
		return []string{a}
	}
	return []string{a, awsURIEncode(raw, false)}
}

// removeDotSegments follows RFC 3986 5.2.4 and also drops empty segments,
// as botocore does.
func removeDotSegments(p string) string {
	if p == "" {
		return "/"
	}
	var out []string
	for _, seg := range strings.Split(p, "/") {
		switch seg {
		case "", ".":
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		default:
			out = append(out, seg)
		}
	}
	res := strings.Join(out, "/")
	if p[0] == '/' {
		res = "/" + res
	}
	if p[len(p)-1] == '/' && len(out) > 0 {
		res += "/"
	}
	if res == "" {
		res = "/"
	}
	return res
}

// canonicalQuery decodes each key and value, re-encodes them the SigV4 way
// and sorts by key, then value. For a presigned request the signature
// itself is left out.
func canonicalQuery(raw string, presigned bool) string {
	if raw == "" {
		return ""
	}
	type kv struct{ k, v string }
	var pairs []kv
	for _, part := range strings.Split(raw, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		k, v = awsURIEncode(unescapeQuery(k), true), awsURIEncode(unescapeQuery(v), true)
		if presigned && k == "X-Amz-Signature" {
			continue
		}
		pairs = append(pairs, kv{k, v})
	}
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i].k != pairs[j].k {
			return pairs[i].k < pairs[j].k
		}
		return pairs[i].v < pairs[j].v
	})
	var b strings.Builder
	for i, p := range pairs {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.k)
		b.WriteByte('=')
		b.WriteString(p.v)
	}
	return b.String()
}

func unescapeQuery(s string) string {
	// '+' stays '+': SigV4 clients send spaces as %20.
	if u, err := url.PathUnescape(s); err == nil {
		return u
	}
	return s
}

// awsURIEncode percent-encodes every byte except the unreserved characters
// A-Z a-z 0-9 - _ . ~ (and '/', unless encodeSlash), with upper-case hex.
func awsURIEncode(s string, encodeSlash bool) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9',
			c == '-', c == '_', c == '.', c == '~':
			b.WriteByte(c)
		case c == '/' && !encodeSlash:
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		}
	}
	return b.String()
}

func signingKey(secret, date, region, service string) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), date)
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, service)
	return hmacSHA256(k, sigV4Terminator)
}

func hmacSHA256(key []byte, data string) []byte {
	var h hash.Hash = hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
