// Package errs defines error kinds with their stable AWS names. Code anywhere
// returns an *Error built here and tests with errors.As / errors.Is; the one
// place that turns a kind into an HTTP status and an `__type` body is
// internal/api/awsproto.
//
// It imports only the standard library.
package errs
