// Package awsproto is the wire layer shared by every AWS-compatible API that
// Quayside serves on its one listener: request routing (X-Amz-Target for the
// JSON protocols; for the Query protocol — a form-encoded POST without
// X-Amz-Target — the signing service of the credential scope, then Action
// and Version), form decoding into the same JSON the handlers take and XML
// encoding of their output (query*.go), SigV4
// verification, request validation derived from the botocore service
// models, and the error envelopes. It is the one place where an errs.Code
// becomes an HTTP status and a `__type`.
//
// Service packages (internal/api/<service>) hand it a model and a table of
// Handlers; they never see HTTP.
//
// It imports the standard library, internal/errs and internal/arn.
package awsproto
