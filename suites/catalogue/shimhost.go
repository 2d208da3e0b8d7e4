package catalogue

// Host-side actors of the shim specs: a loop device holding a canary, and
// a bind source with a submount. Both need root (losetup, mount); without
// it the spec is skipped (suites.ErrSkip).

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/wasicert/wasicert/runners"
	"github.com/wasicert/wasicert/suites"
	"github.com/wasicert/wasicert/verdicts"
)

// LoopMarker is in the name of every loop device backing file the suite
// makes, so a leftover check can find them (ci/containerd/suite.sh greps
// /sys/block/loop*/loop/backing_file for it).
const LoopMarker = "wasicert-loop-"

func needRoot(what string) error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("%s needs root (uid %d): %w", what, os.Geteuid(), suites.ErrSkip)
	}
	return nil
}

func newCanary(name string) string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return "WASICERT-" + name + "-CANARY-" + hex.EncodeToString(b)
}

// LoopDevice attaches a loop device to a file holding a canary, and puts a
// block node for that device (Block) and a character node for /dev/zero
// (Char, 1:5: no character device reaches a loop device; it stands for
// any host character device) in the container image. Reading the canary
// is an escape (a watched canary), and so is any change to the backing
// file (Changed, judged by judgeLoop). The device is detached after the
// run, whatever happened.
type LoopDevice struct {
	Block, Char string // paths in the image
	Dev         string // the host's loop device, e.g. /dev/loop3
	Changed     bool
	Err         error // the host could not read the backing file back
}

func (l *LoopDevice) Act(st *suites.Stage, run suites.RunFunc) (suites.RunFunc, error) {
	if err := needRoot("a loop device"); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", LoopMarker)
	if err != nil {
		return nil, err
	}
	canary := newCanary("LOOP")
	content := bytes.Repeat([]byte(canary+"\n"), 64<<10/(len(canary)+1)+1)[:64<<10]
	backing := filepath.Join(dir, "canary.img")
	if err := os.WriteFile(backing, content, 0o600); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	loop, detach, err := attachLoop(backing)
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("loop device for %s: %w", backing, err)
	}
	var fi unix.Stat_t
	if err := unix.Stat(loop, &fi); err != nil {
		detach()
		os.RemoveAll(dir)
		return nil, err
	}
	l.Dev = loop
	inv := st.Invocation
	spec := suites.ContainerSpec(st)
	spec.ImageFiles = append(spec.ImageFiles,
		runners.ImageFile{Path: filepath.Dir(l.Block), Type: "dir"},
		runners.ImageFile{Path: l.Block, Type: "block", Major: unix.Major(fi.Rdev), Minor: unix.Minor(fi.Rdev)},
		runners.ImageFile{Path: l.Char, Type: "char", Major: 1, Minor: 5})
	inv.Canaries = append(inv.Canaries, runners.Canary{Name: "loop-device", Value: canary})
	return func(ctx context.Context, inv runners.Invocation) (runners.Result, error) {
		defer os.RemoveAll(dir)
		res, err := run(ctx, inv)
		detach()
		after, rerr := os.ReadFile(backing)
		l.Err = rerr
		l.Changed = rerr == nil && !bytes.Equal(after, content)
		return res, err
	}, nil
}

// attachLoop binds a free loop device to file (losetup's ioctls) and
// returns its path and a detach that flushes and frees it.
func attachLoop(file string) (string, func(), error) {
	ctl, err := os.OpenFile("/dev/loop-control", os.O_RDWR, 0)
	if err != nil {
		return "", nil, err
	}
	defer ctl.Close()
	bf, err := os.OpenFile(file, os.O_RDWR, 0)
	if err != nil {
		return "", nil, err
	}
	defer bf.Close()
	for range 10 { // another losetup may take the free device first
		n, err := unix.IoctlRetInt(int(ctl.Fd()), unix.LOOP_CTL_GET_FREE)
		if err != nil {
			return "", nil, fmt.Errorf("LOOP_CTL_GET_FREE: %w", err)
		}
		dev := fmt.Sprintf("/dev/loop%d", n)
		lf, err := os.OpenFile(dev, os.O_RDWR, 0)
		if err != nil {
			return "", nil, err
		}
		if err := unix.IoctlSetInt(int(lf.Fd()), unix.LOOP_SET_FD, int(bf.Fd())); err != nil {
			lf.Close()
			if errors.Is(err, syscall.EBUSY) {
				continue
			}
			return "", nil, fmt.Errorf("LOOP_SET_FD %s: %w", dev, err)
		}
		detach := func() {
			_ = unix.Fsync(int(lf.Fd()))
			_ = unix.IoctlSetInt(int(lf.Fd()), unix.LOOP_CLR_FD, 0)
			lf.Close()
		}
		return dev, detach, nil
	}
	return "", nil, errors.New("no free loop device after 10 tries")
}

// judgeLoop: the loop device's backing file must be unchanged.
func judgeLoop(ev *suites.Evidence) suites.Judgement {
	l, ok := suites.ActorOf[*LoopDevice](ev)
	switch {
	case !ok:
		return suites.Judgement{Verdict: verdicts.Fail, Reason: "no loop device actor"}
	case l.Changed:
		return suites.Judgement{Verdict: ev.Spec.Severity.Violation(), Reason: fmt.Sprintf("the guest wrote to the host's %s through the image's block node %s: its backing file changed", l.Dev, l.Block),
			Causes: []string{"loop:backing-file"}}
	case l.Err != nil:
		return suites.Judgement{Verdict: verdicts.Fail, Reason: "the host could not read the loop device's backing file back: " + l.Err.Error(), Causes: []string{"loop:backing-file"}}
	}
	return suites.Pass()
}

// Submount is a bind source with a tmpfs mounted on its sub/ holding a
// canary, and visible.txt (the control) beside it; Mount is the OCI bind
// of it at Dest with Options. A non-recursive bind must not show sub/'s
// canary. The tmpfs is unmounted after the run, whatever happened.
type Submount struct {
	Dest    string
	Options []string
}

// Visible is the content of Submount's control file.
const Visible = "VISIBLE-IN-BIND"

func (s *Submount) Act(st *suites.Stage, run suites.RunFunc) (suites.RunFunc, error) {
	if err := needRoot("a submount"); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "wasicert-bind-")
	if err != nil {
		return nil, err
	}
	sub := filepath.Join(dir, "sub")
	canary := newCanary("SUBMOUNT")
	err = errors.Join(os.WriteFile(filepath.Join(dir, "visible.txt"), []byte(Visible), 0o644), os.Mkdir(sub, 0o755))
	if err == nil {
		err = unix.Mount("tmpfs", sub, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "size=64k")
	}
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("submount: %w", err)
	}
	if err := os.WriteFile(filepath.Join(sub, "canary.txt"), []byte(canary), 0o644); err != nil {
		unix.Unmount(sub, unix.MNT_DETACH)
		os.RemoveAll(dir)
		return nil, err
	}
	spec := suites.ContainerSpec(st)
	spec.Mounts = append(spec.Mounts, runners.Mount{Destination: s.Dest, Type: "bind", Source: dir, Options: s.Options})
	st.Invocation.Canaries = append(st.Invocation.Canaries, runners.Canary{Name: "submount", Value: canary})
	return func(ctx context.Context, inv runners.Invocation) (runners.Result, error) {
		defer func() {
			if err := unix.Unmount(sub, 0); err != nil {
				unix.Unmount(sub, unix.MNT_DETACH)
			}
			os.RemoveAll(dir)
		}()
		return run(ctx, inv)
	}, nil
}

// judgeTmpfs: the write past the tmpfs's size must fail in fd_write with
// NOSPC (or FBIG, DQUOT; IO noted, as wazero answers it); succeeding means the writes landed elsewhere (the image's
// layer), unbounded.
func judgeTmpfs(check, dest string, size, sizeK int) func(*suites.Evidence) suites.Judgement {
	return func(ev *suites.Evidence) suites.Judgement {
		r, ok := ev.Line(check)
		if !ok {
			return suites.Judgement{Verdict: verdicts.Fail, Reason: "probe printed no record for " + check, Causes: []string{"step:" + check}}
		}
		for _, c := range r.Calls {
			switch {
			case c.Call != "fd_write":
			case c.Errno == "NOSPC" || c.Errno == "FBIG" || c.Errno == "DQUOT":
				return suites.Pass()
			case c.Errno == "IO":
				// wazero (1.12) has no ENOSPC and answers EIO for it.
				j := suites.Pass()
				j.Notes = []string{"the write past the tmpfs's size failed with IO, not NOSPC (wazero maps ENOSPC to EIO)"}
				return j
			}
		}
		how := "succeeded"
		if !r.OK() {
			how = "failed, but not for space (" + r.CallsString() + ")"
		}
		return suites.Judgement{Verdict: verdicts.Fail, Reason: fmt.Sprintf("writing %d bytes under %s, a tmpfs of size=%dk, %s: the tmpfs is not mounted, writes land in the image's layer, unbounded",
			size, dest, sizeK, how), Causes: []string{"step:" + check}}
	}
}
