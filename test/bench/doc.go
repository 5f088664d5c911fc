// Package bench holds whole-system benchmarks: a real server on loopback
// driven by real aws-sdk-go-v2 clients, reporting the figures the issues
// name with b.ReportMetric.
package bench
