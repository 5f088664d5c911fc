// Package ctrl is the small controller runtime every Quayside controller
// runs on: a keyed, de-duplicating, rate-limited work queue, workers that
// call a Reconciler, Sources that feed the queue from store watches, timers
// and channels, and a Manager that runs controllers only while this process
// leads.
//
// # The contract
//
// A controller is level-triggered. A key names something to bring to its
// desired state ("cluster/service", or a whole cluster); Reconcile reads
// the current state from the store, decides and applies. It must be safe to
// call for any key at any time, including keys of things that no longer
// exist (that is how deletions arrive), and calling it twice in a row must
// be harmless. What Reconcile returns decides what happens next:
//
//   - (Result{}, nil): done. The key's backoff is reset; it runs again only
//     when a Source adds it again.
//   - (Result{RequeueAfter: d}, nil) with d > 0: done for now; the key's
//     backoff is reset and the key is added again after d (earlier if a
//     Source adds it first).
//   - (_, err): failed. The Result is ignored, the error is logged and the
//     key is retried after a per-key exponential backoff (Backoff.Base,
//     doubling up to Backoff.Max) until a run succeeds.
//   - (_, Terminal(err)): failed in a way retrying cannot fix (invalid
//     input, say). The error is logged and the key is not retried; its
//     backoff is reset.
//   - a panic: recovered, logged with its stack, and treated as an error
//     (retried with backoff).
//
// Errors returned while the controller is stopping (its context has ended)
// are neither logged nor retried: whoever runs the controller next lists
// everything again.
//
// # Guarantees
//
// One key is never reconciled by two workers at once. A key added while it
// is queued is not queued twice. A key added while it is being reconciled
// is reconciled once more after that run ends, so every Add is followed by
// a Reconcile that starts after it. Different keys run in parallel on
// Controller.Workers goroutines.
//
// When the controller's context ends its Sources stop, keys still queued or
// waiting (AddAfter, backoff) are dropped, runs in flight see their context
// end and are waited for: when Controller.Run returns, nothing of it is
// left running.
//
// # Leadership
//
// Manager campaigns through an Elector and runs its controllers under the
// leader context, stopping them all when leadership is lost and
// campaigning again. AlwaysLeader is the elector of a single server on the
// embedded store.
//
// # Time
//
// Delays and periods go through a Clock (RealClock by default), so the
// runtime is tested with testing/synctest.
//
// Layout of the files:
//
//	reconcile.go   Reconciler, Func, Result, Terminal
//	queue.go       Queue and Backoff
//	controller.go  Controller: workers, the contract, panic recovery
//	source.go      Source, WatchPrefix, Every, Channel
//	manager.go     Elector, AlwaysLeader, Manager
//	clock.go       Clock, RealClock
//
// It imports the standard library and internal/store.
package ctrl
