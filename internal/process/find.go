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
	v.v, v.err = probeVersion(path, args, re)
	versionMu.Lock()
	versionCache[key] = v
	versionMu.Unlock()
	return v.v, v.err
}

func probeVersion(path string, args []string, re *regexp.Regexp) (string, error) {
	res, err := Run(context.Background(), Command{
		Name:    filepath.Base(path),
		Path:    path,
		Args:    args,
		Timeout: VersionTimeout,
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
		return "", Unusable("`%s` printed no version within %s", cmdline, VersionTimeout)
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

// RepoRoot finds the wasicert repository the harness runs in: the nearest
// directory, from the working directory upwards and then from the
// executable's directory upwards, holding a go.mod of module
// github.com/wasicert/wasicert.
func RepoRoot() (string, bool) {
	repoOnce.Do(func() {
		var starts []string
		if wd, err := os.Getwd(); err == nil {
			starts = append(starts, wd)
		}
		if exe, err := os.Executable(); err == nil {
			starts = append(starts, filepath.Dir(exe))
		}
		for _, s := range starts {
			for d := s; ; d = filepath.Dir(d) {
				b, err := os.ReadFile(filepath.Join(d, "go.mod"))
				if err == nil && bytes.Contains(b, []byte("module github.com/wasicert/wasicert\n")) {
					repoRoot = d
					return
				}
				if filepath.Dir(d) == d {
					break
				}
			}
		}
	})
	return repoRoot, repoRoot != ""
}

var (
	repoOnce sync.Once
	repoRoot string
)

// ToolsDir is where runtimes.mk installs runtimes: $WASICERT_TOOLS_DIR, or
// <repo>/.tools. Empty when neither is known.
func ToolsDir() string {
	if d := os.Getenv("WASICERT_TOOLS_DIR"); d != "" {
		return d
	}
	if r, ok := RepoRoot(); ok {
		return filepath.Join(r, ".tools")
	}
	return ""
}

// WorkerDirs lists where worker executables are looked for, in order,
// before PATH: $WASICERT_WORKER_DIR, the directory of the running executable
// (next to wasicert), <repo>/bin (where runtimes.mk builds them).
func WorkerDirs() []string {
	var dirs []string
	if d := os.Getenv("WASICERT_WORKER_DIR"); d != "" {
		dirs = append(dirs, d)
	}
	if exe, err := os.Executable(); err == nil {
		dirs = append(dirs, filepath.Dir(exe))
	}
	if r, ok := RepoRoot(); ok {
		dirs = append(dirs, filepath.Join(r, "bin"))
	}
	return dirs
}

// FindWorker resolves a worker executable: in WorkerDirs first, then PATH.
func FindWorker(name string) (string, error) {
	dirs := WorkerDirs()
	var firstBad error
	for _, d := range dirs {
		p, err := Find(filepath.Join(d, name))
		if err == nil {
			return p, nil
		}
		if errors.Is(err, ErrUnusable) && firstBad == nil {
			firstBad = err
		}
	}
	if p, err := Find(name); err == nil {
		return p, nil
	} else if errors.Is(err, ErrUnusable) && firstBad == nil {
		firstBad = err
	}
	if firstBad != nil {
		return "", firstBad
	}
	return "", NotInstalled("worker %s not found in %s or on PATH (build it: make -f ci/runtimes/runtimes.mk workers)",
		name, strings.Join(dirs, ", "))
}

// CacheDir returns (and creates) a compile cache directory for one runtime:
// $WASICERT_CACHE_DIR/<runtime>, else <repo>/.cache/<runtime>, else
// <user cache dir>/wasicert/<runtime>. The cache is never granted to a guest.
func CacheDir(runtime string) (string, error) {
	var base string
	switch {
	case os.Getenv("WASICERT_CACHE_DIR") != "":
		base = os.Getenv("WASICERT_CACHE_DIR")
	default:
		if r, ok := RepoRoot(); ok {
			base = filepath.Join(r, ".cache")
		} else if u, err := os.UserCacheDir(); err == nil {
			base = filepath.Join(u, "wasicert")
		} else {
			base = filepath.Join(os.TempDir(), "wasicert-cache")
		}
	}
	d := filepath.Join(base, runtime)
	if err := os.MkdirAll(d, 0o755); err != nil {
		return "", err
	}
	return d, nil
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
