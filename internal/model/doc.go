// Package model holds the ECS domain types and the rules over them that need
// no I/O: the wire shapes generated from the botocore model (zz_ecs_shapes.go),
// the epoch-seconds Time, status orderings, task definition validation and
// resource arithmetic.
//
// It imports only the standard library and internal/errs, internal/arn.
package model

//go:generate go run ./gen -in ../api/ecs/ecs-2014-11-13.json.gz -out zz_ecs_shapes.go -pkg model
