package catalogue

// Resource bounds: what a guest can make the host spend (fds, renumber leaks, huge iovec lists, output, memory), under the harness's host bounds.

import "github.com/wasicert/wasicert/suites"

func resourceSpecs() []suites.Spec {
	return nil
}
