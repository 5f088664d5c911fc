package ctrl

import (
	"context"
	"errors"
	"time"
)

// Reconciler brings the thing named by key to its desired state. See the
// package documentation for what each result means.
type Reconciler interface {
	Reconcile(ctx context.Context, key string) (Result, error)
}

// Func adapts a function to a Reconciler.
type Func func(ctx context.Context, key string) (Result, error)

// Reconcile calls f.
func (f Func) Reconcile(ctx context.Context, key string) (Result, error) { return f(ctx, key) }

// Result says when a successful run wants to run again.
type Result struct {
	// RequeueAfter, when positive, adds the key again after this long.
	RequeueAfter time.Duration
}

// Terminal marks err as one that retrying cannot fix: the controller logs
// it and does not retry the key. Terminal(nil) is nil. errors.Is and
// errors.As see through it to err.
func Terminal(err error) error {
	if err == nil {
		return nil
	}
	return &terminalError{err}
}

// IsTerminal reports whether err (or an error it wraps) came from Terminal.
func IsTerminal(err error) bool {
	var t *terminalError
	return errors.As(err, &t)
}

type terminalError struct{ err error }

func (e *terminalError) Error() string { return "terminal: " + e.err.Error() }
func (e *terminalError) Unwrap() error { return e.err }
