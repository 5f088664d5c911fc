// Package images holds the source of the programs inside the local test
// images (quayside-test/echo, quayside-test/pause). internal/testimages
// embeds it through Sources, compiles it with CGO_ENABLED=0 and packs each
// binary into a FROM-scratch image, because no registry is reachable.
//
// The programs import only the standard library: they are compiled in a
// scratch module of their own, outside this one.
package images

import "embed"

// Sources holds <name>/*.go for every image program.
//
//go:embed echo/*.go pause/*.go
var Sources embed.FS

// Names lists the image programs, one directory each.
var Names = []string{"echo", "pause"}
