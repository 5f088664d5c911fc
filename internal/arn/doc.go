// Package arn builds and parses the Amazon Resource Names and identifiers
// Quayside hands out: long-format ECS ARNs scoped to one partition, region and
// account, 32-hex task and container instance IDs, and UUIDs.
//
// It imports only the standard library.
package arn
