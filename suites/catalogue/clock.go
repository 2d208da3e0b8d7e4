package catalogue

// Clocks, random and poll: clock ids and resolutions, monotonic order, random_get, poll_oneoff timeouts, sched_yield.

import "github.com/wasicert/wasicert/suites"

func clockSpecs() []suites.Spec {
	return nil
}
