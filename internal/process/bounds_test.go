//go:build linux

package process

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wasicert/wasicert/internal/proctest"
	"github.com/wasicert/wasicert/runners"
)

// small are bounds a test can exhaust quickly, each with a stand-in that
// asks for several times as much and exits 0 if it gets it.
var small = Limits{Memory: 64 << 20, FileSize: 1 << 20, OpenFiles: 64, Processes: 32}

// hostile runs script under /bin/bash with lim, and checks what every
// bounded run must leave: no process of the run alive and no run cgroup.
func hostile(t *testing.T, lim Limits, script string) runners.Result {
	t.Helper()
	mark := proctest.MarkEnv(t)
	res, err := Run(context.Background(), Command{Name: "hostile", Path: "/bin/bash", Args: []string{"-c", script}, Timeout: 20 * time.Second, Limits: &lim})
	if err != nil {
		t.Fatal(err)
	}
	if res.Ended == runners.EndedTimeout {
		t.Fatalf("%s: the bound did not end the run: %s", script, res)
	}
	time.Sleep(20 * time.Millisecond)
	if left := proctest.Leftovers(mark); len(left) > 0 {
		t.Errorf("processes left behind: %v", left)
	}
	if left := runCgroups(); len(left) > 0 {
		t.Errorf("run cgroups left behind: %v", left)
	}
	t.Logf("%s, Detail %q (stderr %q)", res, res.Detail, LastLine(res.Stderr))
	return res
}

// runCgroups lists this process's run cgroups.
func runCgroups() []string {
	h := hostCgroups()
	if h.base == "" {
		return nil
	}
	m, _ := filepath.Glob(filepath.Join(h.base, "wasicert-"+strconv.Itoa(os.Getpid())+"-*"))
	return m
}

// TestBoundMemory: a stand-in that holds 512 MiB (tail keeps a line it has
// not seen the end of) runs out at the 64 MiB bound, whichever way it is
// enforced here. Without the bound it exits 0 and the Detail is empty.
func TestBoundMemory(t *testing.T) {
	res := hostile(t, small, `head -c 512M /dev/zero | tail; exit ${PIPESTATUS[1]}`)
	if !strings.Contains(res.Detail, "memory limit 64 MiB") {
		t.Errorf("memory: %s, Detail %q does not name the memory bound", res, res.Detail)
	}
}

// TestBoundFileSize: a stand-in that writes a 256 MiB file is stopped at
// 1 MiB by SIGXFSZ.
func TestBoundFileSize(t *testing.T) {
	res := hostile(t, small, `exec head -c 256M /dev/zero > big`)
	if res.Ended != runners.EndedCrash || !strings.Contains(res.Detail, "file size limit 1 MiB hit (RLIMIT_FSIZE)") {
		t.Errorf("file size: %s", res)
	}
}

// TestBoundOpenFiles: a stand-in that opens 200 files fails at 64.
func TestBoundOpenFiles(t *testing.T) {
	res := hostile(t, small, `for i in $(seq 200); do exec {fd}</dev/null || exit 1; done`)
	if res.ExitCode == 0 || !strings.Contains(res.Detail, "open files limit 64 (RLIMIT_NOFILE)") {
		t.Errorf("open files: %s, Detail %q", res, res.Detail)
	}
}

// TestBoundProcesses: a stand-in that starts 300 processes is refused
// forks at 32. It needs the pids controller for run cgroups.
func TestBoundProcesses(t *testing.T) {
	if h := hostCgroups(); h.base == "" || !h.pids {
		t.Skipf("no process bound on this host: %s%s", h.why, h.noPids)
	}
	res := hostile(t, small, `for i in $(seq 300); do sleep 2 & done; wait`)
	if !strings.Contains(res.Detail, "process limit 32 hit") {
		t.Errorf("processes: %s, Detail %q", res, res.Detail)
	}
}

// TestBoundLeftovers: a process that left the run's group and closed its
// pipes is killed with the run's cgroup, which is then removed (hostile
// checks both).
func TestBoundLeftovers(t *testing.T) {
	if h := hostCgroups(); h.base == "" {
		t.Skipf("no run cgroups on this host: %s", h.why)
	}
	res := hostile(t, small, `setsid bash -c 'exec >&- 2>&- 3>&- </dev/null; sleep 60' & grep -q '^0::/wasicert-' /proc/self/cgroup`)
	if res.ExitCode != 0 {
		t.Errorf("the run was not in its cgroup: %s", res)
	}
}

// TestBoundsSaySo: every kind of bound has a line, and an unbounded kind
// says why.
func TestBoundsSaySo(t *testing.T) {
	lines := Bounds()
	all := strings.Join(lines, "\n")
	for _, want := range []string{"memory 1 GiB", "file size 64 MiB", "open files 1024", "process", "rlimits"} {
		if !strings.Contains(all, want) {
			t.Errorf("Bounds() has no %q line:\n%s", want, all)
		}
	}
	for _, l := range lines {
		t.Log(l)
	}
}

// TestFloodStaysSmall: 2 GiB on stdout through Run costs the harness only
// the bounded head and tail of capture.Output, and RLIMIT_FSIZE does not
// apply to the pipe.
func TestFloodStaysSmall(t *testing.T) {
	before := vmHWM(t)
	res, err := Run(context.Background(), Command{Name: "flood", Path: "/bin/sh", Args: []string{"-c", "head -c 2G /dev/zero"}, Timeout: 60 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	after := vmHWM(t)
	t.Logf("2 GiB flood: %s; harness VmHWM %d KiB before, %d KiB after", res, before, after)
	if res.String() != "exit 0" || !res.Truncated || len(res.Stdout) != runners.MaxOutput {
		t.Errorf("flood: %s truncated=%v kept %d", res, res.Truncated, len(res.Stdout))
	}
	if grew := after - before; grew > 64<<10 {
		t.Errorf("flood: harness peak RSS grew by %d KiB", grew)
	}
}

func vmHWM(t *testing.T) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("no VmHWM")
	return 0
}

// BenchmarkRun: one run of /bin/true with DefaultLimits (a run cgroup made
// and removed, a ptrace stop, three prlimits) and with none.
func BenchmarkRun(b *testing.B) {
	for _, c := range []struct {
		name string
		lim  *Limits
	}{{"bounded", nil}, {"unbounded", &Limits{}}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := Run(context.Background(), Command{Name: "true", Path: "/bin/true", Limits: c.lim}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCgroup: making and removing one run cgroup (with its limits
// written), without a process.
func BenchmarkCgroup(b *testing.B) {
	if hostCgroups().base == "" {
		b.Skip("no run cgroups on this host: " + hostCgroups().why)
	}
	for b.Loop() {
		newBound(DefaultLimits).remove()
	}
}
