// Package lb is the load balancer data plane: it serves the ELBv2 load
// balancers, listeners, rules and target groups kept under the store's
// /elbv2/ prefix.
//
// A run loop lists that prefix, watches it from the listed revision
// (relisting after ErrCompacted), and after each batch of changes builds
// an immutable routing snapshot — listeners by port → rules in priority
// order → terminal action → weighted target groups → the targets that may
// get new requests — published with an atomic pointer swap, so requests
// route lock-free on one consistent version. Each listener listens on its
// port at the bind address: HTTP listeners (application load balancers)
// run a reverse proxy — a lean HTTP/1.1 engine of its own (h1*.go: one
// goroutine per client connection, synchronous keep-alive pools per
// target, no per-request goroutine hand-offs) — with rule conditions,
// forward/fixed-response/redirect actions, round robin, least
// outstanding requests or weighted random and stickiness, and the
// listener's response header attributes (respheaders.go: ALB's Server
// header on its own answers, HSTS, CORS and the other added headers,
// compiled into the snapshot); TCP listeners (network load balancers) splice connections,
// closing a flow idle for the listener's tcp.idle_timeout.seconds.
//
// Active health checks run for every target of a group a listener
// forwards to, with the group's settings; their verdicts feed the next
// snapshot at once and are written to the target records (batched, only
// on transitions) for DescribeTargetHealth. A draining target (deregistered
// through the API) gets no new requests; the data plane deletes its
// record when its requests in flight are done or its deregistration delay
// is over.
//
// Anomaly detection (anomaly.go, ALB's Automatic Target Weights) counts
// each HTTP target's answers on the hot path; once a window a detector
// compares each target's failure rate (5xx, no answer) with the rest of
// its group's, writes the result to the target record, and for weighted
// random groups with anomaly mitigation on lowers an anomalous target's
// weight, restoring it step by step once the target recovers.
//
// It imports the standard library, internal/store and internal/model.
package lb
