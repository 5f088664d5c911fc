package awsproto

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/quayside/quayside/internal/arn"
	"github.com/quayside/quayside/internal/errs"
)

// DefaultMaxBody is the largest request body accepted (AWS JSON services
// cap requests in the low megabytes; a task definition is at most 64 KiB).
const DefaultMaxBody = 1 << 20

// Authenticator verifies a request's signature and says who sent it. It
// returns an *errs.Error of an authentication kind when the request is not
// acceptable.
type Authenticator interface {
	Authenticate(r *http.Request, body []byte) (Caller, error)
}

// Config configures a Router.
type Config struct {
	Auth    Authenticator // required
	Account string        // account of callers (one-account system for now)
	MaxBody int64         // 0 means DefaultMaxBody
	Logger  *slog.Logger  // nil means slog.Default()
}

// Router is the http.Handler of the AWS-compatible listener.
type Router struct {
	cfg   Config
	json  map[string]*JSONService  // by X-Amz-Target prefix
	query map[string]*QueryService // by signing name
}

// JSONService is one AWS JSON (1.0 or 1.1) service: its model and a handler
// per implemented operation. Operations of the model without a handler answer
// UnsupportedFeatureException naming the operation.
type JSONService struct {
	Model    *Model
	Handlers map[string]Handler
}

// NewRouter returns a router with no services.
func NewRouter(cfg Config) *Router {
	if cfg.MaxBody == 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Router{cfg: cfg, json: map[string]*JSONService{}, query: map[string]*QueryService{}}
}

// AddJSON adds a JSON-protocol service, routed by its model's targetPrefix.
func (rt *Router) AddJSON(s *JSONService) {
	for name := range s.Handlers {
		if _, ok := s.Model.Operations[name]; !ok {
			panic("awsproto: handler for operation not in model: " + name)
		}
	}
	rt.json[s.Model.Metadata.TargetPrefix] = s
}

// ServeHTTP answers one AWS API request.
func (rt *Router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reqID := arn.NewUUID()
	w.Header().Set("x-amzn-RequestId", reqID)
	ctx := context.WithValue(r.Context(), requestIDKey, reqID)
	start := time.Now()
	svc, op, code := rt.serve(ctx, w, r)
	rt.cfg.Logger.Debug("api", "service", svc, "op", op, "code", code, "took", time.Since(start), "requestId", reqID)
}

func (rt *Router) serve(ctx context.Context, w http.ResponseWriter, r *http.Request) (svc, op string, code errs.Code) {
	if isQueryRequest(r) {
		return rt.serveQuery(ctx, w, r)
	}
	fail := func(err error) (string, string, errs.Code) {
		return svc, op, rt.writeJSONError(ctx, w, err)
	}
	if r.Method != http.MethodPost {
		return fail(errs.New(errs.MissingAuthToken, "Missing Authentication Token"))
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, rt.cfg.MaxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return fail(errs.New(errs.RequestEntityTooLarge, "Request body must be no larger than %d bytes.", rt.cfg.MaxBody))
		}
		return fail(errs.New(errs.Serialization, "Could not read the request body."))
	}
	caller, err := rt.cfg.Auth.Authenticate(r, body)
	if err != nil {
		return fail(err)
	}
	if caller.Account == "" {
		caller.Account = rt.cfg.Account
	}
	ctx = WithCaller(ctx, caller)
	target := r.Header.Get("X-Amz-Target")
	prefix, op, _ := strings.Cut(target, ".")
	s, ok := rt.json[prefix]
	if !ok || op == "" {
		return fail(errs.New(errs.UnknownOperation, "The operation %q is not known to this endpoint.", target))
	}
	svc = s.Model.Metadata.SigningName
	if _, ok := s.Model.Operations[op]; !ok {
		return fail(errs.New(errs.UnknownOperation, "The operation %q is not known to this endpoint.", target))
	}
	h, ok := s.Handlers[op]
	if !ok {
		return fail(errs.New(errs.UnsupportedFeature, "The %s operation is not supported by Quayside yet.", op))
	}
	if err := s.Model.Validate(op, body); err != nil {
		return fail(err)
	}
	out, err := h(ctx, body)
	if err != nil {
		return fail(err)
	}
	rt.writeJSON(w, s, out)
	return svc, op, ""
}

func (rt *Router) writeJSON(w http.ResponseWriter, s *JSONService, out any) {
	b, err := json.Marshal(out)
	if err != nil {
		rt.cfg.Logger.Error("encode response", "err", err)
		b = []byte(`{"__type":"ServerException","message":"Failed to encode the response."}`)
		w.Header().Set("Content-Type", jsonContentType(s.Model))
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write(b)
		return
	}
	if string(b) == "null" {
		b = []byte("{}")
	}
	w.Header().Set("Content-Type", jsonContentType(s.Model))
	_, _ = w.Write(b)
}

func jsonContentType(m *Model) string {
	if m != nil && m.Metadata.JSONVersion != "" {
		return "application/x-amz-json-" + m.Metadata.JSONVersion
	}
	return "application/x-amz-json-1.1"
}

// writeJSONError sends err as an AWS JSON error envelope and returns its code.
func (rt *Router) writeJSONError(ctx context.Context, w http.ResponseWriter, err error) errs.Code {
	var e *errs.Error
	if !errors.As(err, &e) {
		rt.cfg.Logger.Error("internal error", "err", err, "requestId", RequestIDFrom(ctx))
		e = errs.New(errs.Server, "An internal error occurred.")
	}
	body := map[string]any{"__type": string(e.Code), "message": e.Message}
	for k, v := range e.Fields {
		body[k] = v
	}
	b, _ := json.Marshal(body)
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(StatusOf(e.Code))
	_, _ = w.Write(b)
	return e.Code
}

// StatusOf is the HTTP status AWS JSON services send with an error kind.
func StatusOf(c errs.Code) int {
	switch c {
	case errs.Server, errs.InternalFailure:
		return http.StatusInternalServerError
	case errs.MissingAuthToken:
		return http.StatusForbidden
	case errs.RequestEntityTooLarge:
		return http.StatusRequestEntityTooLarge
	case errs.UnsupportedMediaType:
		return http.StatusUnsupportedMediaType
	}
	return http.StatusBadRequest
}
