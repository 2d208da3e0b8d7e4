package process

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/wasicert/wasicert/runners"
)

// ErrUnusable marks a runtime whose binary is there but cannot be used (not
// executable, prints no version, hangs when asked for it). Its message reads
// "unusable: <why>".
//
// It belongs next to runners.ErrNotInstalled; it lives here because the
// runners package is not this package's to change.
var ErrUnusable = errors.New("unusable")

// Unusable returns an error wrapping ErrUnusable: "unusable: <why>".
func Unusable(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrUnusable}, a...)...)
}

// NotInstalled returns an error wrapping runners.ErrNotInstalled:
// "not installed: <why>".
func NotInstalled(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{runners.ErrNotInstalled}, a...)...)
}

// VersionTimeout bounds a version probe (a variable for tests).
var VersionTimeout = 5 * time.Second

// Find resolves a runtime binary. A name with a slash is taken as a path;
// otherwise PATH is searched, then dirs in order. A binary that is absent is
// "not installed"; one that exists but is a directory or not executable is
// "unusable".
func Find(name string, dirs ...string) (string, error) {
	var cands []string
	if strings.ContainsRune(name, filepath.Separator) {
		cands = []string{name}
	} else {
		for _, d := range filepath.SplitList(os.Getenv("PATH")) {
			if d == "" {
				d = "."
			}
			cands = append(cands, filepath.Join(d, name))
		}
		for _, d := range dirs {
			if d != "" {
				cands = append(cands, filepath.Join(d, name))
			}
		}
	}
	var firstBad error
	for _, p := range cands {
		st, err := os.Stat(p)
		if err != nil {
			continue
		}
		switch {
		case st.IsDir():
			if firstBad == nil {
				firstBad = Unusable("%s is a directory", p)
			}
		case st.Mode().Perm()&0o111 == 0 || syscall.Access(p, 1 /* X_OK */) != nil:
			if firstBad == nil {
				firstBad = Unusable("%s is not executable (mode %s)", p, st.Mode().Perm())
			}
		default:
			abs, err := filepath.Abs(p)
			if err != nil {
				return p, nil
			}
			return abs, nil
		}
	}
	if firstBad != nil {
		return "", firstBad
	}
	if strings.ContainsRune(name, filepath.Separator) {
		return "", NotInstalled("%s does not exist", name)
	}
	where := "PATH"
	if len(dirs) > 0 {
		where += " or " + strings.Join(dirs, ", ")
	}
	return "", NotInstalled("%s not found on %s", name, where)
}

type versionKey struct {
	path  string
	mtime time.Time
	size  int64
	args  string
	re    string
}

type versionVal struct {
	v   string
	err error
}

var (
	versionMu    sync.Mutex
	versionCache = map[versionKey]versionVal{}
)

// Version runs `path args...` (VersionTimeout, output bounded, stdin
// /dev/null, its own process group) and returns the first submatch of re in
// its combined stdout and stderr, or the whole match when re has no group.
// Results are cached per binary (path, size and mtime) and arguments.
// A binary that prints nothing matching, fails to start, or hangs is
// "unusable: <why>".
func Version(path string, args []string, re *regexp.Regexp) (string, error) {
	return versionWithin(path, args, re, VersionTimeout)
}

// versionWithin is Version with its own bound (an emulated worker starts
// slower).
func versionWithin(path string, args []string, re *regexp.Regexp, timeout time.Duration) (string, error) {
	st, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", NotInstalled("%s does not exist", path)
		}
		return "", Unusable("%v", err)
	}
	key := versionKey{path, st.ModTime(), st.Size(), strings.Join(args, "\x00"), re.String()}
	versionMu.Lock()
	v, ok := versionCache[key]
	versionMu.Unlock()
	if ok {
		return v.v, v.err
	}
	v.v, v.err = probeVersion(path, args, re, timeout)
	versionMu.Lock()
	versionCache[key] = v
	versionMu.Unlock()
	return v.v, v.err
}

func probeVersion(path string, args []string, re *regexp.Regexp, timeout time.Duration) (string, error) {
	res, err := Run(context.Background(), Command{
		Name:    filepath.Base(path),
		Path:    path,
		Args:    args,
		Timeout: timeout,
	})
	cmdline := strings.TrimSpace(filepath.Base(path) + " " + strings.Join(args, " "))
	if err != nil {
		inner := err
		for errors.Unwrap(inner) != nil {
			inner = errors.Unwrap(inner)
		}
		return "", Unusable("%s cannot be run: %v", path, inner)
	}
	switch res.Ended {
	case runners.EndedTimeout:
		return "", Unusable("`%s` printed no version within %s", cmdline, timeout)
	case runners.EndedCrash:
		return "", Unusable("`%s` crashed (%s)", cmdline, res.Detail)
	}
	out := append(append([]byte{}, res.Stdout...), res.Stderr...)
	m := re.FindSubmatch(out)
	if m == nil {
		first := LastLine(bytes.SplitN(bytes.TrimSpace(out), []byte("\n"), 2)[0])
		if first == "" {
			return "", Unusable("`%s` printed no version (exit %d, no output)", cmdline, res.ExitCode)
		}
		return "", Unusable("`%s` printed no version matching %s (exit %d, first line %q)", cmdline, re, res.ExitCode, first)
	}
	if len(m) > 1 {
		return string(m[1]), nil
	}
	return string(m[0]), nil
}

// ModulePath returns a host file holding inv.Module: its Path, or Bytes
// written into dir.
func ModulePath(inv runners.Invocation, dir string) (string, error) {
	if inv.Module.Path != "" {
		return filepath.Abs(inv.Module.Path)
	}
	name := inv.Module.Name
	if name == "" {
		name = "module"
	}
	p := filepath.Join(dir, filepath.Base(name)+".wasm")
	if err := os.WriteFile(p, inv.Module.Bytes, 0o644); err != nil {
		return "", err
	}
	return p, nil
}

// WorkDir returns inv.WorkDir (created if needed) with a no-op cleanup, or a
// fresh temporary directory and the function that removes it.
func WorkDir(inv runners.Invocation) (string, func(), error) {
	if inv.WorkDir != "" {
		if err := os.MkdirAll(inv.WorkDir, 0o755); err != nil {
			return "", nil, err
		}
		return inv.WorkDir, func() {}, nil
	}
	d, err := os.MkdirTemp("", "wasicert-run-")
	if err != nil {
		return "", nil, err
	}
	return d, func() { os.RemoveAll(d) }, nil
}
