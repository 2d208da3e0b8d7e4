package suites

import (
	"fmt"
	"os"
	"strings"

	"github.com/wasicert/wasicert/probes"
)

// EmulatorEnv names the variable that says which emulator the runtime runs
// under ("qemu-s390x 7.2.22"; package records puts it in every record's
// env). ci/qemu/leg.sh sets it.
const EmulatorEnv = "WASICERT_EMULATOR"

// An emulatorLimit is a known defect of an emulator that makes an op's
// answer the emulator's rather than the runtime's. A spec whose plan uses
// such an op is skipped under that emulator, with the reason, never passed
// or failed on what the emulator made up. Each entry needs a reproduction
// outside wasicert (RATIONALE.md, "Architectures under qemu-user").
type emulatorLimit struct {
	// emulator is the emulator's program name, the first word of
	// $WASICERT_EMULATOR.
	emulator string
	ops      []string
	reason   string
}

var emulatorLimits = []emulatorLimit{{
	emulator: "qemu-s390x",
	ops:      []string{probes.OpStatTimes},
	reason: "qemu-user's s390x stat, fstat and newfstatat return timestamps without their nanoseconds " +
		"(its s390x target_stat lacks TARGET_STAT_HAVE_NSEC, " +
		"https://github.com/bytecodealliance/rustix/blob/main/ci/s390x-stat-have-nsec.patch), " +
		"so the times a guest reads back are the emulator's, not the runtime's",
}}

// emulationSkip returns why plan cannot run meaningfully under the emulator
// named by $WASICERT_EMULATOR, or "".
func emulationSkip(plan Plan) string {
	emu, _, _ := strings.Cut(strings.TrimSpace(os.Getenv(EmulatorEnv)), " ")
	if emu == "" {
		return ""
	}
	for _, l := range emulatorLimits {
		if l.emulator != emu {
			continue
		}
		for _, s := range plan.Steps {
			for _, op := range l.ops {
				if s.Op == op {
					return fmt.Sprintf("under %s: step %s (op %s): %s", emu, s.Check, op, l.reason)
				}
			}
		}
	}
	return ""
}
