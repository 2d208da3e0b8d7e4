package catalogue

// Hard links and renames: within a preopen, out of it, and across read-only and writable preopens (GHSA-4ch3-9j33-3pmj).

import "github.com/wasicert/wasicert/suites"

func linkSpecs() []suites.Spec {
	return nil
}
