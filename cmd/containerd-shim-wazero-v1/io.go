package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"

	"github.com/containerd/containerd/pkg/process"
	"github.com/containerd/fifo"
	"golang.org/x/sys/unix"
)

// taskIO is a task's stdio, as containerd's own shims take it
// (pkg/process.NewIO): stdout's URI chooses
//
//	fifo://PATH or a plain path   the FIFOs containerd made (ctr, the Go client)
//	file://PATH                   stdout and stderr appended to one file
//	binary://PATH?k=v             a logging binary (nerdctl), started with
//	                              CONTAINER_ID and CONTAINER_NAMESPACE, reading
//	                              stdout on fd 3 and stderr on fd 4, ready
//	                              when it closes fd 5
//
// The guest process writes straight to what it is given. Its stdin is a
// pipe the shim copies the stdin FIFO into, so that a guest never sees EOF
// before the client has opened its end.
type taskIO struct {
	stdin          *os.File // the guest's fd 0 (a pipe's read end), or nil
	stdout, stderr *os.File // the guest's fds 1 and 2, or nil
	binary         interface {
		Set(*exec.Cmd)
		Close() error
	}
	mu      sync.Mutex
	closers []io.Closer // the shim's side
}

// openIO opens the stdio of task id.
func openIO(ctx context.Context, id, stdin, stdout, stderr string) (_ *taskIO, retErr error) {
	t := &taskIO{}
	defer func() {
		if retErr != nil {
			t.close()
		}
	}()
	if stdin != "" {
		f, err := fifo.OpenFifo(ctx, stdin, syscall.O_RDONLY|syscall.O_NONBLOCK, 0)
		if err != nil {
			return nil, fmt.Errorf("open stdin fifo: %w", err)
		}
		r, w, err := os.Pipe()
		if err != nil {
			f.Close()
			return nil, err
		}
		t.stdin = r
		t.closers = append(t.closers, f, w)
		go func() {
			_, _ = io.Copy(w, f)
			w.Close()
		}()
	}
	u, err := url.Parse(stdout)
	if err != nil {
		return nil, fmt.Errorf("stdout URI %q: %w", stdout, err)
	}
	switch u.Scheme {
	case "", "fifo":
		for _, p := range []struct {
			path string
			dst  **os.File
		}{{stdout, &t.stdout}, {stderr, &t.stderr}} {
			if p.path == "" {
				continue
			}
			path := p.path
			if u.Scheme == "fifo" {
				if pu, err := url.Parse(path); err == nil {
					path = pu.Path
				}
			}
			f, err := openFifoFile(ctx, path)
			if err != nil {
				return nil, err
			}
			*p.dst = f
		}
	case "file":
		if err := os.MkdirAll(filepath.Dir(u.Path), 0o755); err != nil {
			return nil, err
		}
		f, err := os.OpenFile(u.Path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return nil, fmt.Errorf("log file: %w", err)
		}
		t.stdout = f
		if t.stderr, err = os.OpenFile(u.Path, os.O_APPEND|os.O_WRONLY, 0); err != nil {
			return nil, fmt.Errorf("log file: %w", err)
		}
	case "binary":
		b, err := process.NewBinaryIO(ctx, id, u)
		if err != nil {
			return nil, fmt.Errorf("logging binary %s: %w", u.Path, err)
		}
		t.binary = b
	default:
		return nil, fmt.Errorf("unknown stdio scheme %q in %q (want fifo, file or binary)", u.Scheme, stdout)
	}
	return t, nil
}

// openFifoFile opens a stdout or stderr FIFO for writing (waiting, with
// ctx, for its reader) as an *os.File the guest process gets as is.
func openFifoFile(ctx context.Context, path string) (*os.File, error) {
	f, err := fifo.OpenFifo(ctx, path, syscall.O_WRONLY, 0)
	if err != nil {
		return nil, fmt.Errorf("open fifo %s: %w", path, err)
	}
	defer f.Close()
	sc, ok := f.(syscall.Conn)
	if !ok {
		return nil, fmt.Errorf("open fifo %s: no file descriptor", path)
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil, err
	}
	var nfd int
	var derr error
	if err := rc.Control(func(fd uintptr) { nfd, derr = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0) }); err != nil {
		return nil, err
	}
	if derr != nil {
		return nil, fmt.Errorf("open fifo %s: %w", path, derr)
	}
	return os.NewFile(uintptr(nfd), path), nil
}

// set gives cmd the guest's stdio.
func (t *taskIO) set(cmd *exec.Cmd) {
	if t.stdin != nil {
		cmd.Stdin = t.stdin
	}
	if t.binary != nil {
		t.binary.Set(cmd)
		return
	}
	if t.stdout != nil {
		cmd.Stdout = t.stdout
	}
	if t.stderr != nil {
		cmd.Stderr = t.stderr
	}
}

// afterStart closes the shim's copies of what only the guest needs.
func (t *taskIO) afterStart() {
	if b, ok := t.binary.(interface{ CloseAfterStart() error }); ok {
		_ = b.CloseAfterStart() // the logger's ends of its pipes
	}
	t.closeChild()
}

// closeChild closes the guest's ends in the shim.
func (t *taskIO) closeChild() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, f := range []**os.File{&t.stdin, &t.stdout, &t.stderr} {
		if *f != nil {
			(*f).Close()
			*f = nil
		}
	}
}

// close closes everything; a logging binary gets SIGTERM and time to flush.
func (t *taskIO) close() {
	t.closeChild()
	t.mu.Lock()
	cs, b := t.closers, t.binary
	t.closers, t.binary = nil, nil
	t.mu.Unlock()
	for _, c := range cs {
		c.Close()
	}
	if b != nil {
		_ = b.Close()
	}
}
