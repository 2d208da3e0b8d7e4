package suites

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/wasicert/wasicert/runners"
)

// The actors of the shim specs: a container's OCI fields and what the host
// sees of its processes. They act through runners.Invocation.Container,
// which runners that are not containers ignore.

// Container writes Spec into the run's OCI spec (with an ID of its own, so
// it can find the container's processes: containerd starts every shim with
// "-id ID") and watches the task: with WatchRSS it samples, every 20 ms
// while the run lasts, the resident memory of every host process whose
// command line holds the ID as an argument (the shim and whatever it
// started with the ID, such as our shim's guest process) and keeps the peak;
// with Metrics it asks the runtime for the task's metrics once the task
// has run for MetricsAfter. A test process (a runner that is no container)
// has no such processes and no task.
type Container struct {
	Spec         runners.Container
	WatchRSS     bool
	Metrics      bool
	MetricsAfter time.Duration

	// What it saw.
	ID         string
	PeakRSS    int64 // bytes, summed over the container's processes
	Processes  int   // at the peak
	Started    bool  // the runner reported the task started
	TaskStats  runners.TaskMetrics
	MetricsErr error
}

// Act sets inv.Container and wraps run with the watcher.
func (c *Container) Act(st *Stage, run RunFunc) (RunFunc, error) {
	spec := c.Spec
	if spec.ID == "" {
		spec.ID = containerID()
	}
	c.ID = spec.ID
	var mu sync.Mutex
	if c.Metrics {
		spec.Started = func(ctx context.Context, t runners.Task) {
			mu.Lock()
			c.Started = true
			mu.Unlock()
			select {
			case <-ctx.Done():
			case <-time.After(c.MetricsAfter):
			}
			m, err := t.Metrics(context.WithoutCancel(ctx))
			mu.Lock()
			c.TaskStats, c.MetricsErr = m, err
			mu.Unlock()
		}
	}
	// Merge with what earlier actors put there (FIFOs, image files, mounts).
	if prev := st.Invocation.Container; prev != nil {
		spec.FIFOs = append(prev.FIFOs, spec.FIFOs...)
		spec.ImageFiles = append(prev.ImageFiles, spec.ImageFiles...)
		spec.Mounts = append(prev.Mounts, spec.Mounts...)
	}
	st.Invocation.Container = &spec
	if !c.WatchRSS {
		return run, nil
	}
	return func(ctx context.Context, inv runners.Invocation) (runners.Result, error) {
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			tick := time.NewTicker(20 * time.Millisecond)
			defer tick.Stop()
			for {
				procs := ContainerProcesses(c.ID)
				var sum int64
				for _, p := range procs {
					sum += p.RSS
				}
				if sum > c.PeakRSS {
					c.PeakRSS, c.Processes = sum, len(procs)
				}
				select {
				case <-stop:
					return
				case <-tick.C:
				}
			}
		}()
		res, err := run(ctx, inv)
		close(stop)
		<-done
		return res, err
	}, nil
}

func containerID() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "wasicert-spec-" + hex.EncodeToString(b)
}

// Process is a host process of a container (ContainerProcesses).
type Process struct {
	Pid     int
	RSS     int64 // bytes
	Cmdline string
}

// ContainerProcesses lists the host processes whose command line holds id
// as a whole argument. Processes that end while it looks are skipped.
func ContainerProcesses(id string) []Process {
	ents, _ := os.ReadDir("/proc")
	var out []Process
	self := os.Getpid()
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !slices.Contains(strings.Split(string(b), "\x00"), id) {
			continue
		}
		p := Process{Pid: pid, Cmdline: strings.TrimSpace(string(bytes.ReplaceAll(b, []byte{0}, []byte{' '})))}
		if st, err := os.ReadFile(filepath.Join("/proc", e.Name(), "status")); err == nil {
			for _, l := range strings.Split(string(st), "\n") {
				if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
					kb, _ := strconv.ParseInt(f[1], 10, 64)
					p.RSS = kb << 10
				}
			}
		}
		out = append(out, p)
	}
	return out
}

// HostDir grants the guest a fresh host directory at Guest (world-readable,
// so that a guest running as another user reaches it) holding Files, and
// removes it after the run. The harness runs as root for container
// runtimes, so the files are root's.
type HostDir struct {
	Guest string
	Files []HostDirFile
}

// HostDirFile is one file of a HostDir.
type HostDirFile struct {
	Name, Content string
	Mode          os.FileMode
	// Secret adds a random canary line to Content and has the runner watch
	// the run's output for it (runners.Invocation.Canaries, named "hostdir"):
	// the file's bytes showing anywhere is an escape, whatever the guest's
	// records say.
	Secret bool
}

// Act makes the directory and wraps run with its removal.
func (h *HostDir) Act(st *Stage, run RunFunc) (RunFunc, error) {
	dir, err := os.MkdirTemp("", "wasicert-dir-")
	if err == nil {
		err = os.Chmod(dir, 0o755)
	}
	for _, f := range h.Files {
		content := f.Content
		if f.Secret {
			canary := "wasicert-hostdir-canary-" + containerID()
			content += canary + "\n"
			st.Invocation.Canaries = append(st.Invocation.Canaries, runners.Canary{Name: "hostdir", Value: canary})
		}
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, f.Name), []byte(content), f.Mode)
		}
		if err == nil {
			err = os.Chmod(filepath.Join(dir, f.Name), f.Mode)
		}
	}
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	st.Invocation.Preopens = append(st.Invocation.Preopens, runners.Preopen{GuestPath: h.Guest, HostDir: dir})
	return func(ctx context.Context, inv runners.Invocation) (runners.Result, error) {
		defer os.RemoveAll(dir)
		return run(ctx, inv)
	}, nil
}

// FIFO grants the guest a host directory at Guest holding one FIFO,
// "fifo", which nobody writes to: a guest that opens it for reading blocks
// in the host call. The FIFO is granted as a linux.devices entry of type
// "p" (runners.Container.FIFOs). So that a runtime whose kill does not land
// still ends its run, the actor releases the FIFO Release after the run
// started, and every 100 ms after that: it opens it for writing (the
// guest's open returns), writes a line (a guest's read returns) and closes
// it; Released says it had to. The directory is made
// world-readable, so that a guest running as another user reaches it, and
// removed after the run. It comes after a Signal among a plan's actors.
type FIFO struct {
	Guest   string
	Release time.Duration

	Released bool
}

// Act makes the FIFO and wraps run with its release.
func (f *FIFO) Act(st *Stage, run RunFunc) (RunFunc, error) {
	dir, err := os.MkdirTemp("", "wasicert-fifo-")
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, err
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("mkfifo: %w", err)
	}
	st.Invocation.Preopens = append(st.Invocation.Preopens, runners.Preopen{GuestPath: f.Guest, HostDir: dir})
	ContainerSpec(st).FIFOs = append(ContainerSpec(st).FIFOs, filepath.Join(f.Guest, "fifo"))
	return func(ctx context.Context, inv runners.Invocation) (runners.Result, error) {
		defer os.RemoveAll(dir)
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			select {
			case <-stop:
				return
			case <-time.After(f.Release):
			}
			// Keep releasing until the run ends: a reader that opens
			// after the first release blocks again.
			for {
				if w, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
					f.Released = true
					// Data, for a reader that opened it read-write and so
					// never sees EOF.
					_, _ = w.Write([]byte("released\n"))
					w.Close()
				}
				select {
				case <-stop:
					return
				case <-time.After(100 * time.Millisecond):
				}
			}
		}()
		res, err := run(ctx, inv)
		close(stop)
		<-done
		return res, err
	}, nil
}

// CreateBound replaces the run's module with Module (a module that takes
// long to compile), runs it with a context that ends after Timeout, and
// then, for up to Grace, looks for what the run left behind: a host process
// with the container's ID among its arguments (a shim still compiling, or
// idle) or a mount naming it. The run's own ending is kept in Elapsed and
// Err; the Result it returns is a plain exit 0, so the spec's judge alone
// decides (a create that fails is what this actor expects). It sets the
// container's ID through runners.Container.
type CreateBound struct {
	Module  func() []byte
	Timeout time.Duration
	Grace   time.Duration

	ID       string
	Elapsed  time.Duration
	Err      error
	Leftover []string // processes and mounts left after Grace
}

// Act swaps the module and wraps run.
func (c *CreateBound) Act(st *Stage, run RunFunc) (RunFunc, error) {
	b := c.Module()
	st.Invocation.Module = runners.Module{Name: "slow-compile", Bytes: b}
	if st.Invocation.Container == nil {
		st.Invocation.Container = &runners.Container{}
	}
	if st.Invocation.Container.ID == "" {
		st.Invocation.Container.ID = containerID()
	}
	c.ID = st.Invocation.Container.ID
	return func(ctx context.Context, inv runners.Invocation) (runners.Result, error) {
		rctx, cancel := context.WithTimeout(ctx, c.Timeout)
		start := time.Now()
		res, err := run(rctx, inv)
		cancel()
		c.Elapsed, c.Err = time.Since(start), err
		deadline := time.Now().Add(c.Grace)
		for {
			c.Leftover = c.Leftover[:0]
			for _, p := range ContainerProcesses(c.ID) {
				c.Leftover = append(c.Leftover, fmt.Sprintf("process %d: %s", p.Pid, p.Cmdline))
			}
			if mi, err := os.ReadFile("/proc/self/mountinfo"); err == nil {
				for _, l := range strings.Split(string(mi), "\n") {
					if strings.Contains(l, c.ID) {
						c.Leftover = append(c.Leftover, "mount: "+l)
					}
				}
			}
			if len(c.Leftover) == 0 || time.Now().After(deadline) {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		return runners.Result{Ended: runners.EndedExit, ExitCode: 0, Duration: res.Duration, Stdout: res.Stdout, Stderr: res.Stderr}, nil
	}, nil
}

// NestedBlocks is a valid WASI command module whose _start holds n nested
// empty blocks: wazero compiles it in time quadratic in n (100k blocks,
// 300 KB, took 33 s here). A custom section of random bytes makes each one
// new, so that no compile cache (a shim's on-disk one, an engine's) has it.
func NestedBlocks(n int) []byte {
	var body bytes.Buffer
	body.WriteByte(0) // no locals
	for range n {
		body.Write([]byte{0x02, 0x40}) // block (empty type)
	}
	for range n {
		body.WriteByte(0x0b) // end
	}
	body.WriteByte(0x0b) // end of the function
	var m bytes.Buffer
	m.Write([]byte("\x00asm\x01\x00\x00\x00"))
	section := func(id byte, content []byte) {
		m.WriteByte(id)
		m.Write(uleb(uint64(len(content))))
		m.Write(content)
	}
	section(1, []byte{1, 0x60, 0, 0})                              // type: () -> ()
	section(3, []byte{1, 0})                                       // func 0: type 0
	section(5, []byte{1, 0, 1})                                    // memory: min 1
	section(7, []byte("\x02\x06_start\x00\x00\x06memory\x02\x00")) // exports
	code := append([]byte{1}, append(uleb(uint64(body.Len())), body.Bytes()...)...)
	section(10, code)
	salt := make([]byte, 16)
	_, _ = rand.Read(salt)
	section(0, append([]byte("\x04salt"), salt...)) // custom section "salt"
	return m.Bytes()
}

func uleb(v uint64) []byte {
	var out []byte
	for {
		b := byte(v & 0x7f)
		v >>= 7
		if v != 0 {
			out = append(out, b|0x80)
			continue
		}
		return append(out, b)
	}
}

// ContainerSpec returns the run's runners.Container, making it on first
// use, for actors that add to the OCI spec or the image.
func ContainerSpec(st *Stage) *runners.Container {
	if st.Invocation.Container == nil {
		st.Invocation.Container = &runners.Container{}
	}
	return st.Invocation.Container
}
