//go:build linux

package process

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/wasicert/wasicert/runners"
)

// cgroupHost is what this host offers for per-run cgroups.
type cgroupHost struct {
	// base is the cgroup v2 directory under which run cgroups are made
	// ("" when none can be made; why says why).
	base string
	why  string
	// memory and pids: the controller is enabled for children of base;
	// noMemory and noPids say why not.
	memory, pids     bool
	noMemory, noPids string
}

var (
	hostCgroups = sync.OnceValue(detectCgroups)
	// cgroupOff and ptraceOff hold why a start with a cgroup or under
	// ptrace failed once, after which runs start without them.
	cgroupOff, ptraceOff atomic.Pointer[string]
	runSeq               atomic.Uint64
)

// detectCgroups finds the cgroup v2 hierarchy and wasicert's own cgroup in
// it, and picks the parent of that cgroup as the base for run cgroups: run
// cgroups are siblings of wasicert's own, so the controllers they get are
// exactly those wasicert's own cgroup has (cgroup v2's "no internal
// processes" rule would forbid enabling them below a cgroup that holds
// wasicert itself). At the root of the hierarchy, runs go below the root.
func detectCgroups() cgroupHost {
	var h cgroupHost
	mount, root, v1 := cgroupMounts()
	if mount == "" {
		h.why = "no cgroup v2 hierarchy is mounted"
		return h
	}
	self, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		h.why = err.Error()
		return h
	}
	rel := ""
	for _, line := range strings.Split(string(self), "\n") {
		if p, ok := strings.CutPrefix(line, "0::"); ok {
			rel = p
		}
	}
	if rel == "" {
		h.why = "wasicert's own cgroup v2 is not in /proc/self/cgroup"
		return h
	}
	if root != "/" {
		rel = strings.TrimPrefix(rel, root)
	}
	base := filepath.Join(mount, rel)
	if rel != "/" && rel != "" {
		base = filepath.Dir(base)
	}
	probe := filepath.Join(base, fmt.Sprintf("wasicert-%d-probe", os.Getpid()))
	if err := os.Mkdir(probe, 0o755); err != nil {
		h.why = fmt.Sprintf("cannot make a cgroup in %s: %v", base, err)
		return h
	}
	os.Remove(probe)
	removeStale(base)
	h.base = base
	ctl, _ := os.ReadFile(filepath.Join(base, "cgroup.subtree_control"))
	on := strings.Fields(string(ctl))
	missing := func(c string) string {
		s := fmt.Sprintf("the %s controller is not enabled for children of %s", c, base)
		if m := v1[c]; m != "" {
			s += " (it is bound to the cgroup v1 hierarchy at " + m + ")"
		}
		return s
	}
	h.memory, h.pids = contains(on, "memory"), contains(on, "pids")
	if !h.memory {
		h.noMemory = missing("memory")
	}
	if !h.pids {
		h.noPids = missing("pids")
	}
	return h
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// cgroupMounts returns the first cgroup v2 mount point and the cgroup path
// at its root, and the mount point of the cgroup v1 hierarchy of each of
// the memory and pids controllers bound to one.
func cgroupMounts() (v2, v2root string, v1 map[string]string) {
	v1 = map[string]string{}
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return "", "", v1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// id parent major:minor root mountpoint options ... - fstype source superoptions
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		a, b := strings.Fields(pre), strings.Fields(post)
		if !ok || len(a) < 5 || len(b) < 1 {
			continue
		}
		switch {
		case b[0] == "cgroup2" && v2 == "":
			v2, v2root = a[4], a[3]
		case b[0] == "cgroup" && len(b) >= 3:
			for _, c := range []string{"memory", "pids"} {
				if contains(strings.Split(b[2], ","), c) {
					v1[c] = a[4]
				}
			}
		}
	}
	return v2, v2root, v1
}

// removeStale kills and removes the run cgroups of wasicert processes that
// are gone (a harness killed while a run was on).
func removeStale(base string) {
	dirs, _ := filepath.Glob(filepath.Join(base, "wasicert-*-*"))
	for _, d := range dirs {
		pid, err := strconv.Atoi(strings.Split(filepath.Base(d), "-")[1])
		if err != nil || pid == os.Getpid() {
			continue
		}
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
			continue
		}
		os.WriteFile(filepath.Join(d, "cgroup.kill"), []byte("1"), 0)
		rmdirWait(d, 200*time.Millisecond)
	}
}

func boundsOf(lim Limits) []string {
	h := hostCgroups()
	cg := h.base != "" && cgroupOff.Load() == nil
	why := h.why
	if r := cgroupOff.Load(); r != nil {
		why = *r
	}
	var out []string
	if lim.Memory > 0 {
		switch {
		case cg && h.memory:
			out = append(out, fmt.Sprintf("memory %s per run (cgroup v2 memory.max, no swap)", byteSize(lim.Memory)))
		case cg:
			out = append(out, fmt.Sprintf("memory %s of data mappings per process (RLIMIT_DATA): no cgroup memory bound, %s", byteSize(lim.Memory), h.noMemory))
		default:
			out = append(out, fmt.Sprintf("memory %s of data mappings per process (RLIMIT_DATA): no cgroup, %s", byteSize(lim.Memory), why))
		}
	}
	if lim.FileSize > 0 {
		out = append(out, fmt.Sprintf("file size %s per file (RLIMIT_FSIZE); total disk use is bounded only by the timeout", byteSize(lim.FileSize)))
	}
	if lim.OpenFiles > 0 {
		out = append(out, fmt.Sprintf("open files %d per process (RLIMIT_NOFILE)", lim.OpenFiles))
	}
	if lim.Processes > 0 {
		switch {
		case cg && h.pids:
			out = append(out, fmt.Sprintf("processes and threads %d per run (cgroup v2 pids.max)", lim.Processes))
		case cg:
			out = append(out, "processes: not bounded, "+h.noPids)
		default:
			out = append(out, "processes: not bounded, no cgroup: "+why)
		}
	}
	if cg {
		out = append(out, "leftover processes: killed with the run's cgroup (cgroup.kill), which is then removed")
	} else {
		out = append(out, "leftover processes: killed with the run's process group and by the pipes they hold")
	}
	if r := ptraceOff.Load(); r != nil {
		out = append(out, "rlimits: set just after start, a runtime can act before them ("+*r+")")
	} else {
		out = append(out, "rlimits: set while the runtime is stopped before its first instruction (ptrace exec stop)")
	}
	return out
}

// bound is the bounds of one run.
type bound struct {
	lim Limits
	// cg is the run's cgroup directory ("" without one); fd is open on it
	// until the start.
	cg           string
	fd           int
	memory, pids bool
	// ptrace: the child stops at exec until its rlimits are set.
	ptrace bool
	// dataLimit: memory is bounded by RLIMIT_DATA, not the cgroup.
	dataLimit bool
}

// newBound makes the run's cgroup when lim needs one and the host allows.
func newBound(lim Limits) *bound {
	b := &bound{lim: lim, fd: -1}
	if lim == (Limits{}) {
		return b
	}
	b.ptrace = ptraceOff.Load() == nil
	h := hostCgroups()
	if h.base != "" && cgroupOff.Load() == nil {
		dir := filepath.Join(h.base, fmt.Sprintf("wasicert-%d-%d", os.Getpid(), runSeq.Add(1)))
		if err := b.makeCgroup(dir, h); err != nil {
			b.remove()
		}
	}
	b.dataLimit = lim.Memory > 0 && !b.memory
	return b
}

func (b *bound) makeCgroup(dir string, h cgroupHost) error {
	if err := os.Mkdir(dir, 0o755); err != nil {
		return err
	}
	b.cg = dir
	set := func(file, v string) error {
		return os.WriteFile(filepath.Join(dir, file), []byte(v), 0)
	}
	if h.memory && b.lim.Memory > 0 {
		if err := set("memory.max", strconv.FormatInt(b.lim.Memory, 10)); err != nil {
			return err
		}
		// No swap: a guest that fills memory.max must hit it, not page
		// out. The file is missing where the kernel has no swap support.
		if err := set("memory.swap.max", "0"); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		_ = set("memory.oom.group", "1") // the run ends whole
		b.memory = true
	}
	if h.pids && b.lim.Processes > 0 {
		if err := set("pids.max", strconv.FormatInt(b.lim.Processes, 10)); err != nil {
			return err
		}
		b.pids = true
	}
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	b.fd = fd
	return nil
}

// active reports whether the start uses a cgroup or ptrace.
func (b *bound) active() bool { return b.fd >= 0 || b.ptrace }

// attr sets what the start needs: clone straight into the run's cgroup
// (CLONE_INTO_CGROUP), and a ptrace stop at exec.
func (b *bound) attr(a *syscall.SysProcAttr) {
	if b.fd >= 0 {
		a.UseCgroupFD, a.CgroupFD = true, b.fd
	}
	a.Ptrace = b.ptrace
}

// startFailed is called when a start with attr failed and one without
// succeeded: runs from now on start without a cgroup and without ptrace.
func (b *bound) startFailed(err error) {
	why := fmt.Sprintf("a start with them failed: %v", err)
	if b.fd >= 0 {
		cgroupOff.CompareAndSwap(nil, &why)
	}
	if b.ptrace {
		ptraceOff.CompareAndSwap(nil, &why)
	}
	b.remove()
	b.ptrace = false
	b.dataLimit = b.lim.Memory > 0
	b.memory, b.pids = false, false
}

// started sets the rlimits of the child pid. Under ptrace (attr) the child
// is stopped at the SIGTRAP that follows its execve, before the first
// instruction of the new program, so nothing it runs precedes its limits;
// it is then detached with the SIGTRAP suppressed. The caller holds the OS
// thread that started it (ptrace answers only the tracer thread).
func (b *bound) started(pid int) {
	if b.fd >= 0 {
		unix.Close(b.fd)
		b.fd = -1
	}
	if !b.ptrace {
		b.setRlimits(pid)
		return
	}
	for {
		var info unix.Siginfo
		err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WSTOPPED|unix.WNOWAIT, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil || info.Code != cldTrapped {
			return // gone before its first instruction: nothing to bound
		}
		if sig := syscall.Signal(siginfoStatus(&info)); sig != syscall.SIGTRAP {
			// A signal between PTRACE_TRACEME and execve: deliver it.
			if unix.PtraceCont(pid, int(sig)) != nil {
				return
			}
			continue
		}
		b.setRlimits(pid)
		_ = unix.PtraceDetach(pid)
		return
	}
}

// cldTrapped is si_code CLD_TRAPPED: a traced child stopped.
const cldTrapped = 4

// siginfoStatus is si_status of a SIGCHLD siginfo, which x/sys/unix does not
// name: the union follows three ints, aligned to a pointer; si_pid and
// si_uid come before si_status.
func siginfoStatus(info *unix.Siginfo) int32 {
	off := (3*4 + unsafe.Sizeof(uintptr(0)) - 1) &^ (unsafe.Sizeof(uintptr(0)) - 1)
	return *(*int32)(unsafe.Add(unsafe.Pointer(info), off+8))
}

func (b *bound) setRlimits(pid int) {
	set := func(res int, v uint64) {
		if v == 0 {
			return
		}
		var old unix.Rlimit
		if unix.Prlimit(pid, res, nil, &old) == nil && old.Max < v {
			v = old.Max // raising a hard limit needs CAP_SYS_RESOURCE
		}
		_ = unix.Prlimit(pid, res, &unix.Rlimit{Cur: v, Max: v}, nil)
	}
	set(unix.RLIMIT_FSIZE, uint64(b.lim.FileSize))
	set(unix.RLIMIT_NOFILE, b.lim.OpenFiles)
	if b.dataLimit {
		set(unix.RLIMIT_DATA, uint64(b.lim.Memory))
	}
}

// killAll kills every process left in the run's cgroup, wherever it moved
// in the process tree (setsid included).
func (b *bound) killAll() {
	if b.cg != "" {
		_ = os.WriteFile(filepath.Join(b.cg, "cgroup.kill"), []byte("1"), 0)
	}
}

// annotate adds to res.Detail which bound a run that did not end with
// exit 0 hit. The cgroup's event counters and a SIGXFSZ that ended the
// runtime are the kernel's word; a text on stderr saying memory, files or
// file size ran out while an rlimit was in force is the program's, so the
// note says "likely". Notes never change res.Ended.
func (b *bound) annotate(res *runners.Result, stderrTail []byte, sig syscall.Signal) {
	if b.lim == (Limits{}) {
		return
	}
	if sig == syscall.SIGXFSZ && b.lim.FileSize > 0 {
		note(res, fmt.Sprintf("file size limit %s hit (RLIMIT_FSIZE)", byteSize(b.lim.FileSize)))
	}
	if b.memory {
		if n := event(b.cg, "memory.events", "oom_kill"); n > 0 {
			note(res, fmt.Sprintf("memory limit %s hit (cgroup v2 memory.max): %d process(es) OOM-killed", byteSize(b.lim.Memory), n))
		}
	}
	if b.pids {
		if n := event(b.cg, "pids.events", "max"); n > 0 {
			note(res, fmt.Sprintf("process limit %d hit (cgroup v2 pids.max): %d fork(s) refused", b.lim.Processes, n))
		}
	}
	if res.Ended == runners.EndedExit && res.ExitCode == 0 {
		return
	}
	if m := outOfMemoryRE.Find(stderrTail); m != nil && b.dataLimit {
		note(res, fmt.Sprintf("memory limit %s (RLIMIT_DATA) likely hit: stderr says %q", byteSize(b.lim.Memory), m))
	}
	if m := outOfFilesRE.Find(stderrTail); m != nil && b.lim.OpenFiles > 0 {
		note(res, fmt.Sprintf("open files limit %d (RLIMIT_NOFILE) likely hit: stderr says %q", b.lim.OpenFiles, m))
	}
	if m := fileTooLargeRE.Find(stderrTail); m != nil && b.lim.FileSize > 0 && sig != syscall.SIGXFSZ {
		note(res, fmt.Sprintf("file size limit %s (RLIMIT_FSIZE) likely hit: stderr says %q", byteSize(b.lim.FileSize), m))
	}
}

// event reads one counter of a cgroup events file.
func event(dir, file, key string) int64 {
	data, _ := os.ReadFile(filepath.Join(dir, file))
	for _, line := range bytes.Split(data, []byte("\n")) {
		if v, ok := bytes.CutPrefix(line, []byte(key+" ")); ok {
			n, _ := strconv.ParseInt(string(v), 10, 64)
			return n
		}
	}
	return 0
}

// remove kills what is left in the run's cgroup and removes it, waiting up
// to GraceAfterExit for the kill to land.
func (b *bound) remove() {
	if b.fd >= 0 {
		unix.Close(b.fd)
		b.fd = -1
	}
	if b.cg == "" {
		return
	}
	b.killAll()
	rmdirWait(b.cg, GraceAfterExit)
	b.cg = ""
}

// rmdirWait removes an empty cgroup, retrying while its killed processes
// are still on their way out (EBUSY).
func rmdirWait(dir string, d time.Duration) {
	deadline := time.Now().Add(d)
	for {
		err := unix.Rmdir(dir)
		if err == nil || err == unix.ENOENT || err != unix.EBUSY || time.Now().After(deadline) {
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
}
