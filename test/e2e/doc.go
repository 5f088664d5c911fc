// Package e2e drives the whole system the way users do: the quayside binary
// started as a process, and only real AWS clients (the aws CLIs and
// aws-sdk-go-v2) talking to it.
package e2e
