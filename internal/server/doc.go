// Package server is the composition root of the control plane: it opens the
// store, loads or creates the root credentials and the agent token, builds
// the AWS API router with every service, and serves it with /healthz and the
// node agent protocol (internal/api/agentapi, under agentproto.PathPrefix,
// bearer token instead of SigV4) on one listener. It runs the controllers
// of internal/ctrl/<name> under a ctrl.Manager (controllers.go): the one
// that marks silent nodes disconnected (instancehealth), the service
// scheduler (service) and the retention of stopped tasks (taskgc).
//
// It may import any internal package except the agent.
package server
