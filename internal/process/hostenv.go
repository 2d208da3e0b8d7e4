package process

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// scratchDirs are the variables HostEnv points into a run's scratch dir, and
// the subdirectory of each (fixtures.Standard makes them).
var scratchDirs = [][2]string{
	{"HOME", "home"},
	{"TMPDIR", "tmp"},
	{"XDG_CACHE_HOME", "cache"},
	{"XDG_CONFIG_HOME", "config"},
	{"XDG_DATA_HOME", "data"},
	{"XDG_STATE_HOME", "state"},
	{"XDG_RUNTIME_DIR", "runtime"},
}

// HostEnv returns env with HOME, TMPDIR and the XDG base dirs pointing into
// scratch (scratch/home, scratch/tmp, ...), so that whatever a runtime
// writes for itself (caches, history, temp files) lands in a directory the
// harness scans for canaries, never in the launcher's own home or /tmp.
// With scratch "" env is returned unchanged. This is the runtime's own
// environment: the guest's travels only through the runtime's flags.
func HostEnv(env []string, scratch string) []string {
	if scratch == "" {
		return env
	}
	out := slices.DeleteFunc(slices.Clone(env), func(kv string) bool {
		name, _, _ := strings.Cut(kv, "=")
		return slices.ContainsFunc(scratchDirs, func(d [2]string) bool { return d[0] == name })
	})
	for _, d := range scratchDirs {
		out = append(out, d[0]+"="+filepath.Join(scratch, d[1]))
	}
	return out
}

// MakeScratch makes the directories HostEnv points into (scratch/home,
// scratch/tmp, ...), each 0700; nothing for scratch "".
func MakeScratch(scratch string) error {
	if scratch == "" {
		return nil
	}
	for _, d := range scratchDirs {
		if err := os.MkdirAll(filepath.Join(scratch, d[1]), 0o700); err != nil {
			return err
		}
	}
	return nil
}
