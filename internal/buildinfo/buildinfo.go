// Package buildinfo says which wasicert build is running, for `wasicert
// version`, result records and certificates.
package buildinfo

import (
	"runtime/debug"
)

// Version is wasicert's module version (v1.2.3) when built by `go install
// ...@version`; in a source build it is "devel", followed by the commit the
// build came from when Go recorded one ("devel+83bd63b", "+dirty" when the
// work tree had changes).
func Version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	if bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	v := "devel"
	var rev string
	var dirty bool
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if len(rev) > 7 {
		rev = rev[:7]
	}
	if rev != "" {
		v += "+" + rev
		if dirty {
			v += "+dirty"
		}
	}
	return v
}
