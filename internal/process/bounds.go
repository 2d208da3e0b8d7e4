package process

import (
	"fmt"
	"regexp"

	"github.com/wasicert/wasicert/runners"
)

// Limits bounds one run: the runtime and every process it starts. A zero
// field means no bound of that kind. See the package documentation for how
// each is enforced.
type Limits struct {
	// Memory is in bytes: the cgroup v2 memory.max of the run (swap off),
	// or, where no cgroup with the memory controller can be made, the
	// RLIMIT_DATA of the runtime process.
	Memory int64
	// FileSize is the largest file, in bytes, the run may write
	// (RLIMIT_FSIZE).
	FileSize int64
	// OpenFiles is RLIMIT_NOFILE, soft and hard.
	OpenFiles uint64
	// Processes is the cgroup v2 pids.max of the run (threads count). It has
	// no rlimit fallback: RLIMIT_NPROC counts every process of the user and
	// does not bind root.
	Processes int64
}

// DefaultLimits are the bounds of every run whose Command.Limits is nil.
// They are sized so that every runtime wasicert drives (node and bun with
// their launchers, the wasmtime and wasmer workers, the wazero CLI) runs the
// whole catalogue with room to spare, while a runtime or guest that runs
// away stops long before it hurts the host: 1 GiB of memory, 64 MiB per
// file, 1024 open files, 512 processes and threads.
var DefaultLimits = Limits{
	Memory:    1 << 30,
	FileSize:  64 << 20,
	OpenFiles: 1024,
	Processes: 512,
}

// Bounds says, one line each, which bounds hold for runs with DefaultLimits
// on this host and how they are enforced, and which do not and why, e.g.
// "memory 1 GiB per run (cgroup v2 memory.max, no swap)". It is meant for a
// run's summary.
func Bounds() []string { return boundsOf(DefaultLimits) }

// byteSize prints n bytes in the largest binary unit that divides it.
func byteSize(n int64) string {
	for _, u := range []struct {
		s string
		n int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n >= u.n && n%u.n == 0 {
			return fmt.Sprintf("%d %s", n/u.n, u.s)
		}
	}
	return fmt.Sprintf("%d bytes", n)
}

// Texts on stderr that say a program ran out of memory or of file
// descriptors: glibc's strerror, coreutils, Go, Rust, C++, Python and V8.
var (
	outOfMemoryRE  = regexp.MustCompile(`(?i)out of memory|memory exhausted|cannot allocate memory|memory allocation of \d+ bytes failed|std::bad_alloc|MemoryError|allocation failed`)
	outOfFilesRE   = regexp.MustCompile(`(?i)too many open files|EMFILE`)
	fileTooLargeRE = regexp.MustCompile(`(?i)file too large|EFBIG`)
)

// note appends what a run's bounds say about how it ended to res.Detail.
func note(res *runners.Result, s string) {
	if res.Detail == "" {
		res.Detail = s
	} else {
		res.Detail += "; " + s
	}
}
