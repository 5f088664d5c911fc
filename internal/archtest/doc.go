// Package archtest holds a test that keeps the import walls of DESIGN.md:
// dependencies point down only, and named packages never import each other.
package archtest
