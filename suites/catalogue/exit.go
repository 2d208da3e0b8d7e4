package catalogue

// Exit codes: proc_exit's status reaches whoever reads the run's.

import (
	"github.com/wasicert/wasicert/fixtures"
	"github.com/wasicert/wasicert/runners"
	"github.com/wasicert/wasicert/suites"
)

func exitSpecs() []suites.Spec {
	return []suites.Spec{
		{
			ID: "exit.code-passthrough", Area: suites.AreaExit, Severity: suites.SeverityConformance, Level: suites.MUST,
			Rule: "proc_exit(33) ends the run with exit status 33, so CI reading the status sees what the guest said.",
			Ref:  refProcExit,
			Plan: func(*fixtures.Fixture, runners.Features) suites.Plan {
				return suites.Plan{Probe: "exit", Args: []string{"33"}, ExitCode: 33}
			},
		},
	}
}
