// Package capability is wasicert's capability suite: preopen isolation,
// environment and argument leakage, socket behaviour, exit codes and, on
// containerd, the shim's boundary, one ginkgo spec per catalogue entry (see
// suites.Catalogue). Run it with ginkgo (`ginkgo run ./suites/capability --
// -wasicert.runtime=NAME`), `go test`, or `wasicert run`; a program that
// wants the records without ginkgo calls framework.RunCatalogue.
package capability

import (
	"github.com/wasicert/wasicert/suites/framework"

	// The runtimes a run can choose by name.
	_ "github.com/wasicert/wasicert/runners/all"
)

// Declare declares the capability suite in ginkgo's tree for cfg. Call it
// once, before ginkgo's RunSpecs (see framework.DeclareSuite).
func Declare(cfg framework.Config) {
	framework.DeclareSuite(cfg)
}
