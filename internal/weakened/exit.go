package weakened

import "github.com/wasicert/wasicert/runners"

// ExitStatusMod256 reports a proc_exit code modulo 256, as a launcher that
// passes it to exit(2) unchecked does: proc_exit(256) then reads as 0.
var ExitStatusMod256 = Weakening{Name: "exit status modulo 256", after: func(res *runners.Result) {
	if res.Ended == runners.EndedExit {
		res.ExitCode &= 0xFF
	}
}}

// TrapAsSuccess reports a trap as a clean exit 0, as a launcher that only
// looks at whether the guest stopped does.
var TrapAsSuccess = Weakening{Name: "trap reported as exit 0", after: func(res *runners.Result) {
	if res.Ended == runners.EndedTrap {
		res.Ended, res.ExitCode, res.Detail = runners.EndedExit, 0, ""
	}
}}
