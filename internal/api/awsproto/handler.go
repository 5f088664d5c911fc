package awsproto

import (
	"context"
	"encoding/json"

	"github.com/quayside/quayside/internal/errs"
)

// Handler serves one operation. body is the request JSON, already checked
// against the operation's input shape. It returns the output value (encoded
// as JSON) or an error; an *errs.Error is sent as that AWS error, anything
// else as a ServerException.
type Handler func(ctx context.Context, body []byte) (any, error)

// Typed adapts a function over decoded request and response types.
func Typed[In, Out any](fn func(context.Context, *In) (*Out, error)) Handler {
	return func(ctx context.Context, body []byte) (any, error) {
		in := new(In)
		if err := json.Unmarshal(body, in); err != nil {
			return nil, errs.New(errs.Serialization, "%s", err.Error())
		}
		out, err := fn(ctx, in)
		if err != nil {
			return nil, err
		}
		return out, nil
	}
}

// Caller is the authenticated principal of a request.
type Caller struct {
	AccessKeyID string
	Account     string
	Region      string // from the signing scope
	Service     string // signing name from the scope
}

type ctxKey int

const (
	callerKey ctxKey = iota
	requestIDKey
)

// WithCaller returns ctx carrying c.
func WithCaller(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, callerKey, c)
}

// CallerFrom returns the caller of the request served under ctx.
func CallerFrom(ctx context.Context) (Caller, bool) {
	c, ok := ctx.Value(callerKey).(Caller)
	return c, ok
}

// RequestIDFrom returns the x-amzn-RequestId of the request served under ctx.
func RequestIDFrom(ctx context.Context) string {
	s, _ := ctx.Value(requestIDKey).(string)
	return s
}
