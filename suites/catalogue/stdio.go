package catalogue

// Stdio: fds 0, 1 and 2 are streams, not preopens; renumbering and closing them.

import "github.com/wasicert/wasicert/suites"

func stdioSpecs() []suites.Spec {
	return nil
}
