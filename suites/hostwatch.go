package suites

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wasicert/wasicert/fixtures"
	"github.com/wasicert/wasicert/probes"
	"github.com/wasicert/wasicert/runners"
)

// HostWatch measures, from the host, what the run costs it: the open file
// descriptors and resident memory of the runtime's processes, sampled every
// few milliseconds while the guest runs, and the host's realtime clock just
// before and just after the run. The guest cannot forge any of it.
//
// The runtime's processes are those whose working directory is the run's
// WorkDir (every out-of-process runner starts its runtime there, see
// internal/process), or whose environment points HOME or TMPDIR into the
// run's Scratch (internal/process.HostEnv): a runtime, or a helper it
// starts, that changes its working directory is still measured, since a
// process cannot take back the environment it was started with. When none
// is seen during the whole run the runtime is
// embedded in this process, and this process is measured instead, from a
// baseline taken before the run: its fds open on the run's fixture (other
// work of this process, concurrent runs included, uses other files), and
// its resident memory, where other work adds noise, which is why the specs
// allow a margin.
type HostWatch struct {
	// Every is the sampling period; 0 means 5 ms.
	Every time.Duration

	// Before and After are the host's realtime clock around the run.
	Before, After time.Time
	// Embedded: no runtime process was found; this process was measured.
	Embedded bool
	// Processes is how many distinct runtime processes were seen.
	Processes int
	// Samples counts the samples that saw something to measure.
	Samples int
	// BaseFDs is the fewest open fds seen (out of process) or this
	// process's count before the run (embedded); PeakFDs the most.
	BaseFDs, PeakFDs int
	// BaseRSS and PeakRSS are resident memory in bytes, likewise.
	BaseRSS, PeakRSS int64
}

// FDGrowth is how many fds the peak is above the baseline.
func (h *HostWatch) FDGrowth() int { return h.PeakFDs - h.BaseFDs }

// RSSGrowth is how much resident memory the peak is above the baseline
// (embedded), or the peak itself (out of process: the whole runtime).
func (h *HostWatch) RSSGrowth() int64 {
	if h.Embedded {
		return h.PeakRSS - h.BaseRSS
	}
	return h.PeakRSS
}

// Act wraps run with the sampler.
func (h *HostWatch) Act(st *Stage, run RunFunc) (RunFunc, error) {
	every := h.Every
	if every <= 0 {
		every = 5 * time.Millisecond
	}
	return func(ctx context.Context, inv runners.Invocation) (runners.Result, error) {
		dir, err := filepath.EvalSymlinks(inv.WorkDir)
		if err != nil {
			dir = inv.WorkDir
		}
		// Embedded, this process is shared with the harness and other
		// runs: only its fds open on this run's fixture are the guest's.
		under := st.Fixture.Root
		// Memory this process kept from earlier work goes back to the OS
		// first, or an embedded guest's growth would reuse resident pages
		// and not show.
		debug.FreeOSMemory()
		selfFDs, selfRSS := countFDsUnder("self", under), rssOf("self")
		var (
			mu                 sync.Mutex
			seen               = map[string]bool{}
			outMin, outMax     = -1, 0
			outRSS             int64
			selfMax, selfRSSMx = selfFDs, selfRSS
			samples            int
		)
		sample := func() {
			pids := processesIn(dir, inv.Scratch)
			fds, rss := 0, int64(0)
			for _, p := range pids {
				fds += countFDs(p)
				rss += rssOf(p)
			}
			sf, sr := countFDsUnder("self", under), rssOf("self")
			mu.Lock()
			defer mu.Unlock()
			samples++
			for _, p := range pids {
				seen[p] = true
			}
			if len(pids) > 0 {
				if outMin < 0 || fds < outMin {
					outMin = fds
				}
				outMax, outRSS = max(outMax, fds), max(outRSS, rss)
			}
			selfMax, selfRSSMx = max(selfMax, sf), max(selfRSSMx, sr)
		}
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			t := time.NewTicker(every)
			defer t.Stop()
			for {
				select {
				case <-stop:
					return
				case <-t.C:
					sample()
				}
			}
		}()
		h.Before = time.Now()
		res, err := run(ctx, inv)
		h.After = time.Now()
		close(stop)
		<-done
		// One more sample once the run is over, so a run shorter than the
		// period is measured too (what it kept is still held).
		sample()
		h.Processes, h.Samples = len(seen), samples
		if len(seen) == 0 {
			h.Embedded = true
			h.BaseFDs, h.PeakFDs, h.BaseRSS, h.PeakRSS = selfFDs, selfMax, selfRSS, selfRSSMx
		} else {
			h.BaseFDs, h.PeakFDs, h.PeakRSS = outMin, outMax, outRSS
		}
		return res, err
	}, nil
}

// processesIn lists the pids whose working directory is dir, or whose
// environment names a path in scratch (HOME=scratch/home, ...).
func processesIn(dir, scratch string) []string {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	self := strconv.Itoa(os.Getpid())
	var marks [][]byte
	if scratch != "" {
		marks = append(marks, []byte("="+scratch+"/"))
		if r, err := filepath.EvalSymlinks(scratch); err == nil && r != scratch {
			marks = append(marks, []byte("="+r+"/"))
		}
	}
	var out []string
	for _, e := range ents {
		name := e.Name()
		if name == self || name[0] < '0' || name[0] > '9' {
			continue
		}
		if cwd, err := os.Readlink("/proc/" + name + "/cwd"); err == nil && cwd == dir {
			out = append(out, name)
			continue
		}
		if len(marks) == 0 {
			continue
		}
		if env, err := os.ReadFile("/proc/" + name + "/environ"); err == nil {
			for _, kv := range bytes.Split(env, []byte{0}) {
				if slices.ContainsFunc(marks, func(m []byte) bool { return bytes.Contains(kv, m) }) {
					out = append(out, name)
					break
				}
			}
		}
	}
	return out
}

// countFDs counts /proc/<pid>/fd entries (0 when unreadable).
func countFDs(pid string) int {
	ents, err := os.ReadDir("/proc/" + pid + "/fd")
	if err != nil {
		return 0
	}
	return len(ents)
}

// countFDsUnder counts the fds of pid open on a file under root.
func countFDsUnder(pid, root string) int {
	dir := "/proc/" + pid + "/fd"
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0
	}
	n := 0
	for _, e := range ents {
		if t, err := os.Readlink(dir + "/" + e.Name()); err == nil && (t == root || strings.HasPrefix(t, root+"/")) {
			n++
		}
	}
	return n
}

// rssOf reads VmRSS of /proc/<pid>/status in bytes (0 when unreadable).
func rssOf(pid string) int64 {
	b, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(v)
			if len(f) > 0 {
				n, _ := strconv.ParseInt(f[0], 10, 64)
				return n << 10
			}
		}
	}
	return 0
}

// Rerun runs the invocation again after the main run, once per entry of
// Args (argv[1:] each), with the plan's probe or Probe, for what one run
// cannot show: that two runs differ, or an ending (a trap) that must not
// cut the main run short. Canary sightings of every run count (they are
// added to the main Result's).
type Rerun struct {
	Probe string
	Args  [][]string
	// Runs are the extra runs, in Args order.
	Runs []RerunResult
}

// RerunResult is one extra run.
type RerunResult struct {
	Args   []string
	Result runners.Result
	Err    error
	Lines  []probes.Line
}

// Line returns the run's first record for check.
func (r RerunResult) Line(check string) (probes.Line, bool) {
	for _, l := range r.Lines {
		if l.Check == check {
			return l, true
		}
	}
	return probes.Line{}, false
}

// Act wraps run with the extra runs.
func (r *Rerun) Act(st *Stage, run RunFunc) (RunFunc, error) {
	var mod *runners.Module
	if r.Probe != "" {
		m, err := probes.Get(r.Probe)
		if err != nil {
			return nil, err
		}
		mod = &m
	}
	return func(ctx context.Context, inv runners.Invocation) (runners.Result, error) {
		res, err := run(ctx, inv)
		r.Runs = nil
		for _, a := range r.Args {
			again := inv
			again.Args = append([]string{Argv0}, a...)
			if mod != nil {
				again.Module = *mod
			}
			rr, e := run(ctx, again)
			lines, _ := probes.ParseLines(rr.Stdout)
			r.Runs = append(r.Runs, RerunResult{Args: a, Result: rr, Err: e, Lines: lines})
			res.Sightings = append(res.Sightings, rr.Sightings...)
			st.KeepOutputs(rr)
		}
		return res, err
	}, nil
}

// Prepare changes the fixture on the host before the run (timestamps no
// fixtures.Tree entry can set). An error is the harness's own.
type Prepare func(fx *fixtures.Fixture) error

// Act runs the preparation.
func (p Prepare) Act(st *Stage, run RunFunc) (RunFunc, error) {
	if err := p(st.Fixture); err != nil {
		return nil, err
	}
	return run, nil
}
