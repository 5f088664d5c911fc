package awsproto

import (
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/quayside/quayside/internal/errs"
)

// QueryService is one AWS Query service (form-encoded requests, XML
// replies): its model and a handler per implemented operation. Handlers are
// the same Handler type the JSON services use: the form is decoded into the
// JSON object the operation's input shape describes (Model.DecodeQuery) and
// checked by Model.Validate first, and the output is rendered as XML
// (Model.EncodeQueryResponse).
type QueryService struct {
	Model    *Model
	Handlers map[string]Handler
}

// AddQuery adds a Query-protocol service, routed by its signing name (the
// service of the SigV4 credential scope: ELBv2 and Auto Scaling share
// Action names such as DescribeTags) and checked against its apiVersion.
func (rt *Router) AddQuery(s *QueryService) {
	for name := range s.Handlers {
		if _, ok := s.Model.Operations[name]; !ok {
			panic("awsproto: handler for operation not in model: " + name)
		}
	}
	rt.query[s.Model.Metadata.SigningName] = s
}

// isQueryRequest reports whether r is an AWS Query request: a form-encoded
// POST without X-Amz-Target.
func isQueryRequest(r *http.Request) bool {
	if r.Method != http.MethodPost || r.Header.Get("X-Amz-Target") != "" {
		return false
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == "application/x-www-form-urlencoded"
}

// scopeService is the service of the Authorization header's credential
// scope, read without verifying anything (to word errors before the
// signature is checked); "" when there is none.
func scopeService(r *http.Request) string {
	auth := r.Header.Get("Authorization")
	i := strings.Index(auth, "Credential=")
	if i < 0 {
		return ""
	}
	cred := auth[i+len("Credential="):]
	if j := strings.IndexAny(cred, ", "); j >= 0 {
		cred = cred[:j]
	}
	parts := strings.Split(cred, "/")
	if len(parts) != 5 {
		return ""
	}
	return parts[3]
}

// serviceFor picks the Query service a request is for: by its signing
// service, else by its Version.
func (rt *Router) serviceFor(signing, version string) *QueryService {
	if s, ok := rt.query[signing]; ok {
		return s
	}
	if signing != "" {
		return nil
	}
	for _, s := range rt.query {
		if version != "" && s.Model.Metadata.APIVersion == version {
			return s
		}
	}
	return nil
}

func (rt *Router) serveQuery(ctx context.Context, w http.ResponseWriter, r *http.Request) (svc, op string, code errs.Code) {
	var s *QueryService
	fail := func(err error) (string, string, errs.Code) {
		return svc, op, rt.writeQueryError(ctx, w, s, err)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, rt.cfg.MaxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return fail(errs.New(errs.RequestEntityTooLarge, "Request body must be no larger than %d bytes.", rt.cfg.MaxBody))
		}
		return fail(errs.New(errs.Serialization, "Could not read the request body."))
	}
	form, formErr := url.ParseQuery(string(body))
	op = form.Get("Action")
	s = rt.serviceFor(scopeService(r), form.Get("Version"))
	if s != nil {
		svc = s.Model.Metadata.SigningName
	}
	caller, err := rt.cfg.Auth.Authenticate(r, body)
	if err != nil {
		return fail(err)
	}
	if caller.Account == "" {
		caller.Account = rt.cfg.Account
	}
	ctx = WithCaller(ctx, caller)
	if s = rt.query[caller.Service]; s == nil {
		return fail(errs.New(errs.UnknownOperation, "The action %s is not valid for this web service.", op))
	}
	svc = s.Model.Metadata.SigningName
	if formErr != nil {
		return fail(errs.New(malformedQuery, "The request body is not a valid form: %s", formErr.Error()))
	}
	if op == "" {
		return fail(errs.New(missingAction, "The request must contain the parameter Action."))
	}
	if v := form.Get("Version"); v == "" {
		return fail(errs.New(missingParameter, "The request must contain the parameter Version."))
	} else if v != s.Model.Metadata.APIVersion {
		return fail(errs.New(noSuchVersion, "The requested version (%s) of service %s does not exist.", v, svc))
	}
	if _, ok := s.Model.Operations[op]; !ok {
		return fail(errs.New(errs.UnknownOperation, "The action %s is not valid for this web service.", op))
	}
	h, ok := s.Handlers[op]
	if !ok {
		// InvalidAction, AWS's common error for an action the endpoint
		// does not offer: tools probe optional actions and skip exactly
		// this code (Terraform's aws_lb reads DescribeCapacityReservation
		// and tolerates InvalidAction or AccessDenied only).
		return fail(errs.New(errs.InvalidAction, "The %s operation is not supported by Quayside yet.", op))
	}
	in, err := s.Model.DecodeQuery(op, form)
	if err != nil {
		return fail(err)
	}
	if err := s.Model.Validate(op, in); err != nil {
		return fail(err)
	}
	out, err := h(ctx, in)
	if err != nil {
		return fail(err)
	}
	doc, err := s.Model.EncodeQueryResponse(op, out, RequestIDFrom(ctx))
	if err != nil {
		rt.cfg.Logger.Error("encode response", "err", err, "op", op)
		return fail(errs.New(errs.InternalFailure, "Failed to encode the response."))
	}
	w.Header().Set("Content-Type", "text/xml")
	_, _ = w.Write(doc)
	return svc, op, ""
}

// Query-protocol error codes with no JSON counterpart.
const (
	malformedQuery   errs.Code = "MalformedQueryString"
	missingAction    errs.Code = "MissingAction"
	missingParameter errs.Code = "MissingParameter"
	noSuchVersion    errs.Code = "NoSuchVersion"
)

// queryCodes says how the protocol-level kinds go on the wire in the Query
// protocol (AWS common errors), with their HTTP status.
var queryCodes = map[errs.Code]struct {
	code   string
	status int
}{
	errs.InvalidSignature:         {"SignatureDoesNotMatch", http.StatusForbidden},
	errs.UnrecognizedClient:       {"InvalidClientTokenId", http.StatusForbidden},
	errs.InvalidClientTokenIDCode: {"InvalidClientTokenId", http.StatusForbidden},
	errs.IncompleteSignature:      {"IncompleteSignature", http.StatusBadRequest},
	errs.MissingAuthToken:         {"MissingAuthenticationToken", http.StatusForbidden},
	errs.ExpiredToken:             {"ExpiredToken", http.StatusForbidden},
	errs.AccessDenied:             {"AccessDenied", http.StatusForbidden},
	errs.RequestEntityTooLarge:    {"RequestEntityTooLarge", http.StatusRequestEntityTooLarge},
	errs.UnknownOperation:         {"InvalidAction", http.StatusBadRequest},
	errs.InvalidAction:            {"InvalidAction", http.StatusBadRequest},
	errs.UnsupportedFeature:       {"UnsupportedOperation", http.StatusBadRequest},
	errs.Throttling:               {"Throttling", http.StatusBadRequest},
	errs.Server:                   {"InternalFailure", http.StatusInternalServerError},
	errs.InternalFailure:          {"InternalFailure", http.StatusInternalServerError},
	malformedQuery:                {"MalformedQueryString", http.StatusBadRequest},
	missingAction:                 {"MissingAction", http.StatusBadRequest},
	missingParameter:              {"MissingParameter", http.StatusBadRequest},
	noSuchVersion:                 {"NoSuchVersion", http.StatusBadRequest},
}

// QueryErrorOf says how err goes on the wire for a Query service with model
// m (nil before the service is known): the model's exceptions by shape name
// or wire code (with the model's httpStatusCode), then the protocol-level
// kinds; validation and serialization kinds become the model's validation
// code; anything else that is not an *errs.Error is an InternalFailure.
func QueryErrorOf(m *Model, err error) (code string, status int, message string) {
	var e *errs.Error
	if !errors.As(err, &e) {
		return "InternalFailure", http.StatusInternalServerError, "An internal error occurred."
	}
	if m != nil {
		if info, ok := m.ErrorInfo(string(e.Code)); ok {
			return info.Code, info.Status, e.Message
		}
		if e.Code == errs.Validation || e.Code == errs.Serialization || e.Code == m.ValidationErrorCode {
			vc := string(m.ValidationErrorCode)
			if vc == "" {
				vc = string(errs.Validation)
			}
			return vc, http.StatusBadRequest, e.Message
		}
	}
	if q, ok := queryCodes[e.Code]; ok {
		return q.code, q.status, e.Message
	}
	if e.Code == errs.Serialization {
		return "ValidationError", http.StatusBadRequest, e.Message
	}
	return strings.TrimSuffix(string(e.Code), "Exception"), http.StatusBadRequest, e.Message
}

// writeQueryError sends err as a Query error envelope and returns its kind.
func (rt *Router) writeQueryError(ctx context.Context, w http.ResponseWriter, s *QueryService, err error) errs.Code {
	var m *Model
	ns := ""
	if s != nil {
		m = s.Model
		ns = m.Metadata.XMLNamespace
	}
	var e *errs.Error
	if !errors.As(err, &e) {
		rt.cfg.Logger.Error("internal error", "err", err, "requestId", RequestIDFrom(ctx))
	}
	code, status, msg := QueryErrorOf(m, err)
	typ := "Sender"
	if status >= 500 {
		typ = "Receiver"
	}
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	_, _ = w.Write(QueryErrorXML(ns, typ, code, msg, RequestIDFrom(ctx)))
	return errs.Code(code)
}
