package catalogue

// fd management: renumber onto and over preopens and stdio, closing a preopen and reusing its number, and the fd namespace (nothing the runtime did not announce).

import "github.com/wasicert/wasicert/suites"

func fdSpecs() []suites.Spec {
	return nil
}
