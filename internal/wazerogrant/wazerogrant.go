// Package wazerogrant turns what a guest is granted (its argv, environment
// and preopened directories) into a wazero module config that grants exactly
// that and nothing else: no host environment, no working directory, no
// sockets. The embedded runners (runners/wazero) and wasicert's containerd
// shim (cmd/containerd-shim-wazero-v1) both build their guests' configs
// here, so the deny-by-default rule lives in one place
// (https://github.com/WebAssembly/WASI/blob/wasi-0.1/preview1/docs.md).
package wazerogrant

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/experimental/sysfs"

	"github.com/wasicert/wasicert/internal/confinedfs"
)

// Dir is one host directory granted to the guest under a guest path.
type Dir struct {
	// Guest is the name the guest sees from fd_prestat_dir_name, e.g. "/sandbox".
	Guest string
	// Host is the host directory behind it.
	Host string
	// ReadOnly refuses every write, create, truncate, rename and unlink.
	ReadOnly bool
	// Devices are the device nodes under Host the guest may open (Confined
	// only; see confinedfs.Options.Devices). None: no device node, FIFO or
	// socket is opened.
	Devices []confinedfs.Device
}

// Config returns a wazero module config that grants the guest exactly args
// (argv[0] included), env (KEY=VALUE, split at the first '=') and dirs, in
// order from fd 3, through wazero's own directory mounts, and nothing else.
// Clocks are the host's, random is crypto/rand; sleep, stdio and start
// functions are the caller's to set.
//
// wazero's directory mounts follow symlinks out of the host directory
// (https://github.com/tetratelabs/wazero/issues/2321); Confined does not.
func Config(args, env []string, dirs []Dir) wazero.ModuleConfig {
	fsc := wazero.NewFSConfig()
	for _, d := range dirs {
		if d.ReadOnly {
			fsc = fsc.WithReadOnlyDirMount(d.Host, d.Guest)
		} else {
			fsc = fsc.WithDirMount(d.Host, d.Guest)
		}
	}
	cfg := wazero.NewModuleConfig().
		WithName(""). // anonymous, so concurrent instances never clash
		WithArgs(args...).
		WithFSConfig(fsc).
		WithSysWalltime().
		WithSysNanotime().
		WithRandSource(rand.Reader)
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		cfg = cfg.WithEnv(k, v)
	}
	return cfg
}

// Confined is Config with every dir mounted through package confinedfs
// instead of wazero's directory mounts: each path the guest uses is
// resolved by an os.Root on the dir's host directory, so no symlink, "..",
// absolute path or read-only bypass (O_TRUNC with FD_READ) reaches outside
// it or writes to a read-only dir, and no device node, FIFO or socket is
// opened unless the Dir grants that device (see package confinedfs). Everything else
// is exactly Config.
//
// Each mount holds one open directory descriptor: call release once the
// guest is done, before unmounting anything under a host directory (an open
// descriptor keeps a mount busy). It fails when a host directory cannot be
// opened.
func Confined(args, env []string, dirs []Dir) (cfg wazero.ModuleConfig, release func(), err error) {
	var closers []io.Closer
	release = func() {
		for _, c := range closers {
			_ = c.Close()
		}
	}
	fsc := wazero.NewFSConfig()
	for _, d := range dirs {
		fs, err := confinedfs.OpenOptions(d.Host, confinedfs.Options{ReadOnly: d.ReadOnly, Devices: d.Devices})
		if err != nil {
			release()
			return nil, nil, fmt.Errorf("wazero: preopen %s: %w", d.Guest, err)
		}
		closers = append(closers, fs)
		fsc = fsc.(sysfs.FSConfig).WithSysFSMount(fs, d.Guest)
	}
	// Config with no dirs, then the confined mounts in their place.
	return Config(args, env, nil).WithFSConfig(fsc), release, nil
}

// SleepUntil is a real sleep for wazero's WithNanosleep that ends early when
// ctx is done: wazero cannot stop a guest inside a host call, so a guest in
// a long poll_oneoff would otherwise outlive a timeout or a kill.
func SleepUntil(ctx context.Context) func(ns int64) {
	return func(ns int64) {
		t := time.NewTimer(time.Duration(ns))
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
		}
	}
}
