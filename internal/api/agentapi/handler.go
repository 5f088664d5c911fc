package agentapi

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/quayside/quayside/internal/agentproto"
	"github.com/quayside/quayside/internal/arn"
	"github.com/quayside/quayside/internal/errs"
	"github.com/quayside/quayside/internal/store"
)

// Defaults of the timing the server gives agents.
const (
	DefaultHeartbeatPeriod = 2 * time.Second
	DefaultPollWait        = 20 * time.Second
)

// maxBody bounds a request body (a report batch is the largest).
const maxBody = 8 << 20

// Deps is what the handler needs.
type Deps struct {
	Store store.Store
	Scope arn.Scope
	// Token is the bearer token agents must present.
	Token           string
	HeartbeatPeriod time.Duration // default DefaultHeartbeatPeriod
	PollWait        time.Duration // default DefaultPollWait
	Now             func() time.Time
	Logger          *slog.Logger
}

// Handler serves the protocol. Close it to end its watches and release the
// polls in flight.
type Handler struct {
	d        Deps
	mux      *http.ServeMux
	live     *Liveness
	defs     *defCache
	ctx      context.Context
	cancel   context.CancelFunc
	hubsMu   sync.Mutex
	hubs     map[string]*hub
	hubsDone sync.WaitGroup
}

// New returns a handler; it starts no goroutine until the first poll.
func New(d Deps) *Handler {
	if d.HeartbeatPeriod <= 0 {
		d.HeartbeatPeriod = DefaultHeartbeatPeriod
	}
	if d.PollWait <= 0 {
		d.PollWait = DefaultPollWait
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	h := &Handler{d: d, live: NewLiveness(), defs: newDefCache(), hubs: map[string]*hub{}}
	h.ctx, h.cancel = context.WithCancel(context.Background())
	h.mux = http.NewServeMux()
	h.mux.HandleFunc("POST "+agentproto.PathRegister, serve(h, h.register))
	h.mux.HandleFunc("POST "+agentproto.PathHeartbeat, serve(h, h.heartbeat))
	h.mux.HandleFunc("POST "+agentproto.PathAssignments, serve(h, h.assignments))
	h.mux.HandleFunc("POST "+agentproto.PathReport, serve(h, h.report))
	return h
}

// Liveness is when each node was last heard from, for the controller that
// marks silent nodes disconnected.
func (h *Handler) Liveness() *Liveness { return h.live }

// Close ends the per-cluster watches; polls in flight answer at once with
// nothing new.
func (h *Handler) Close() {
	h.cancel()
	h.hubsDone.Wait()
}

// ServeHTTP checks the bearer token, then dispatches.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !h.authorized(r) {
		writeError(w, &agentproto.Error{Code: agentproto.CodeUnauthorized, Message: "The agent token is missing or wrong."})
		return
	}
	if _, pattern := h.mux.Handler(r); pattern == "" {
		writeError(w, &agentproto.Error{Code: agentproto.CodeBadRequest, Message: "No operation " + r.Method + " " + r.URL.Path + "."})
		return
	}
	h.mux.ServeHTTP(w, r)
}

func (h *Handler) authorized(r *http.Request) bool {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && h.d.Token != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(h.d.Token)) == 1
}

// serve adapts a typed operation to HTTP: JSON in, JSON out, errors as
// agentproto.Error.
func serve[In, Out any](h *Handler, op func(context.Context, *In) (*Out, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		in := new(In)
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
		if err := dec.Decode(in); err != nil {
			writeError(w, badRequest("The request body is not valid JSON: %v", err))
			return
		}
		out, err := op(r.Context(), in)
		if err != nil {
			h.logError(r, err)
			writeError(w, protoError(err))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
	}
}

func (h *Handler) logError(r *http.Request, err error) {
	var pe *agentproto.Error
	if errors.As(err, &pe) || errs.CodeOf(err) != "" {
		h.d.Logger.Debug("agent request refused", "path", r.URL.Path, "err", err)
		return
	}
	h.d.Logger.Error("agent request failed", "path", r.URL.Path, "err", err)
}

func badRequest(format string, args ...any) *agentproto.Error {
	return &agentproto.Error{Code: agentproto.CodeBadRequest, Message: fmt.Sprintf(format, args...)}
}

// protoError maps an error to the protocol: protocol errors as they are,
// validation errors from the store (errs kinds) as BadRequest, anything
// else as an internal error.
func protoError(err error) *agentproto.Error {
	var pe *agentproto.Error
	if errors.As(err, &pe) {
		return pe
	}
	var ee *errs.Error
	if errors.As(err, &ee) {
		return &agentproto.Error{Code: agentproto.CodeBadRequest, Message: ee.Message}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &agentproto.Error{Code: codeUnavailable, Message: "The request was cancelled."}
	}
	return &agentproto.Error{Code: codeInternal, Message: "Internal error."}
}

// Codes of server-side failures (not in agentproto: an agent treats any
// code it does not know as "retry later").
const (
	codeInternal    = "InternalError"
	codeUnavailable = "Unavailable"
)

func statusOf(code string) int {
	switch code {
	case agentproto.CodeUnauthorized:
		return http.StatusUnauthorized
	case agentproto.CodeBadRequest:
		return http.StatusBadRequest
	case agentproto.CodeClusterNotFound, agentproto.CodeInstanceNotFound:
		return http.StatusNotFound
	case agentproto.CodeInstanceInactive:
		return http.StatusGone
	case codeUnavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

func writeError(w http.ResponseWriter, e *agentproto.Error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(statusOf(e.Code))
	_ = json.NewEncoder(w).Encode(e)
}
