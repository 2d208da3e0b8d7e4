// Package capability is wasicert's capability suite: preopen isolation,
// environment and argument leakage, socket behaviour, exit codes and, on
// containerd, the shim's boundary, one ginkgo spec
// per catalogue entry (see suites.Catalogue). Import it for its specs, then
// run them with ginkgo (`ginkgo run ./suites/capability`) or through
// `wasicert run`.
package capability

import (
	"github.com/wasicert/wasicert/suites/framework"

	. "github.com/onsi/ginkgo/v2"

	// The runtimes a run can choose by name.
	_ "github.com/wasicert/wasicert/runners/all"
)

var _ = Describe("WASI capability", func() {
	framework.DescribeCatalogue()
})
