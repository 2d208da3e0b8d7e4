// Package runtimes embeds the command-line runtime templates shipped with
// wasicert (*.yaml in this directory). Package runners/cli parses them and
// registers one runtime per template; see its documentation for the format.
package runtimes

import "embed"

// Templates holds the shipped template files.
//
//go:embed *.yaml
var Templates embed.FS
