#!/usr/bin/env bash
# Runs the benchmarks whose figures the issues name (see README, Benchmarks).
set -euo pipefail
cd "$(dirname "$0")/.."
go test -run '^$' -bench 'BenchmarkCommits64Writers' -benchtime 3s ./internal/store/bolt/
go test -run '^$' -bench 'BenchmarkDescribeTasks100of100k' -benchtime 200x -timeout 20m ./internal/api/ecs/
go test -run '^$' -bench 'BenchmarkSignedDescribeClusters' -benchtime 5s ./test/bench/
go test -run '^$' -bench 'BenchmarkPropagation' -benchtime 200x ./internal/lb/
