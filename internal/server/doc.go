// Package server is the composition root of the control plane: it opens the
// store, loads or creates the root credentials, builds the AWS API router
// with every service, and serves it with /healthz on one listener.
//
// It may import any internal package except the agent.
package server
