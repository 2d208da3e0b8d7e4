package catalogue

// Symlinks: as final and intermediate components, trailing slashes, chains and loops, and a swap race driven from the host while the guest loops.

import "github.com/wasicert/wasicert/suites"

func symlinkSpecs() []suites.Spec {
	return nil
}
