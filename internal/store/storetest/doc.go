// Package storetest is the conformance suite of the store port. Every
// backend (bolt, etcd) runs it from its own tests; it uses nothing but the
// port, so a behaviour it checks is a behaviour callers may rely on.
//
//	Run          the port's behaviour on a fresh store
//	RunFactory   Run plus compaction and close/reopen tests
//	RunCrash     acknowledged writes survive SIGKILL of a writer process
//
// It imports the standard library, internal/store and pgregory.net/rapid.
package storetest
