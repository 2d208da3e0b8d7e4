package catalogue

// Path traversal: trailing slashes, . and .. mixes, empty, NUL-bearing and very long paths, and the Windows-only names (skipped elsewhere).

import "github.com/wasicert/wasicert/suites"

func pathSpecs() []suites.Spec {
	return nil
}
