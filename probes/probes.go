// Package probes holds wasicert's probe modules: small WASI preview-1
// programs that perform the steps given on their command line and print what
// the runtime answered, one JSON record per line (see PROTOCOL.md).
//
// The modules are built from probes/src by `make probes`, which also writes
// probes/manifest.json, and are embedded in this package. Get returns an
// embedded module after checking it against the embedded manifest; Load reads
// a module from a file a user names instead.
package probes

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/wasicert/wasicert/runners"
)

//go:embed *.wasm manifest.json
var embedded embed.FS

// rebuildHint tells a user how to get consistent modules.
const rebuildHint = "run `make probes` (see probes/PROTOCOL.md) and rebuild wasicert"

// manifest is the part of manifest.json this package checks.
type manifest struct {
	Modules []struct {
		Name   string `json:"name"`
		File   string `json:"file"`
		Size   int    `json:"size"`
		SHA256 string `json:"sha256"`
	} `json:"modules"`
}

// entry is one embedded module, or why it cannot be used.
type entry struct {
	mod runners.Module
	err error
}

var (
	indexOnce sync.Once
	index     map[string]entry

	diskMu  sync.Mutex
	diskDir string // where Get wrote the modules; "" until first use
)

// Names returns the names of the embedded probe modules ("exit", "flood",
// "fs", ...), sorted.
func Names() []string {
	indexOnce.Do(func() { index = verify(embedded) })
	names := make([]string, 0, len(index))
	for name := range index {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// Get returns the embedded probe module name ("fs", or "fs.wasm"). Its Path
// is a file holding the same bytes, written once per process into a private
// temporary directory, for runners that start the runtime in another process.
// Get fails if the module is unknown or differs from the embedded manifest.
func Get(name string) (runners.Module, error) {
	indexOnce.Do(func() { index = verify(embedded) })
	e, ok := index[strings.TrimSuffix(name, ".wasm")]
	if !ok {
		return runners.Module{}, fmt.Errorf("probes: no probe module %q; the probes are %s", name, strings.Join(Names(), ", "))
	}
	if e.err != nil {
		return runners.Module{}, e.err
	}
	dir, err := writeOnce()
	if err != nil {
		return runners.Module{}, err
	}
	m := e.mod
	m.Bytes = slices.Clone(m.Bytes) // a caller may not change what others get
	m.Path = filepath.Join(dir, m.Name+".wasm")
	return m, nil
}

// Cleanup removes the files Get wrote. Paths returned before become invalid;
// a later Get writes the files again. Call it when the process is done with
// the probes, e.g. deferred in main or TestMain.
func Cleanup() error {
	diskMu.Lock()
	defer diskMu.Unlock()
	if diskDir == "" {
		return nil
	}
	err := os.RemoveAll(diskDir)
	diskDir = ""
	return err
}

// Load reads a probe module from a file, for a user who brings their own
// build. Its Name is the file name without ".wasm". Load fails with advice
// when the file is missing or is not a WebAssembly core module.
func Load(path string) (runners.Module, error) {
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return runners.Module{}, fmt.Errorf("probes: module file %s does not exist: check the path, or %s", path, rebuildHint)
	case err != nil:
		return runners.Module{}, fmt.Errorf("probes: reading module file: %w", err)
	}
	if err := checkBinary(b); err != nil {
		return runners.Module{}, fmt.Errorf("probes: %s %v", path, err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return runners.Module{}, fmt.Errorf("probes: %w", err)
	}
	return runners.Module{
		Name:   strings.TrimSuffix(filepath.Base(path), ".wasm"),
		Path:   abs,
		Bytes:  b,
		Digest: digest(b),
	}, nil
}

// checkBinary checks the WebAssembly magic and binary version 1.
func checkBinary(b []byte) error {
	if len(b) < 8 || !bytes.Equal(b[:4], []byte("\x00asm")) {
		if bytes.HasPrefix(bytes.TrimSpace(b), []byte("(")) {
			return fmt.Errorf("is WebAssembly text, not a binary: convert it with wat2wasm, or %s", rebuildHint)
		}
		return fmt.Errorf("is not a WebAssembly binary (no \\0asm magic at its start): %s", rebuildHint)
	}
	if v := binary.LittleEndian.Uint32(b[4:8]); v != 1 {
		if v>>16 == 1 {
			return fmt.Errorf("is a WebAssembly component (binary version %#x), not a core module: probes are WASI preview-1 core modules", v)
		}
		return fmt.Errorf("has WebAssembly binary version %d; a WASI preview-1 core module has version 1", v)
	}
	return nil
}

// verify indexes the modules in fsys and checks each against manifest.json.
// Every problem is kept on the module it concerns, so one bad module does not
// hide the others.
func verify(fsys fs.FS) map[string]entry {
	index := map[string]entry{}
	files, _ := fs.Glob(fsys, "*.wasm")
	var man manifest
	raw, err := fs.ReadFile(fsys, "manifest.json")
	if err == nil {
		err = json.Unmarshal(raw, &man)
	}
	if err != nil {
		err = fmt.Errorf("probes: the embedded probes/manifest.json is unusable (%v): %s", err, rebuildHint)
		for _, f := range files {
			index[strings.TrimSuffix(f, ".wasm")] = entry{err: err}
		}
		return index
	}
	for _, m := range man.Modules {
		b, err := fs.ReadFile(fsys, m.File)
		switch {
		case err != nil:
			err = fmt.Errorf("probes: probes/manifest.json lists %s but it is not embedded: %s", m.File, rebuildHint)
		case digest(b) != m.SHA256 || len(b) != m.Size:
			err = fmt.Errorf("probes: embedded %s (sha256 %s, %d bytes) does not match probes/manifest.json (sha256 %s, %d bytes): %s",
				m.File, digest(b), len(b), m.SHA256, m.Size, rebuildHint)
		default:
			if err = checkBinary(b); err != nil {
				err = fmt.Errorf("probes: embedded %s %v", m.File, err)
			}
		}
		index[m.Name] = entry{mod: runners.Module{Name: m.Name, Bytes: b, Digest: digest(b)}, err: err}
	}
	for _, f := range files {
		if name := strings.TrimSuffix(f, ".wasm"); index[name].mod.Name == "" && index[name].err == nil {
			index[name] = entry{err: fmt.Errorf("probes: embedded %s is not listed in probes/manifest.json: %s", f, rebuildHint)}
		}
	}
	return index
}

// writeOnce writes every usable embedded module into a private temporary
// directory the first time it is needed, and returns that directory.
func writeOnce() (string, error) {
	diskMu.Lock()
	defer diskMu.Unlock()
	if diskDir != "" {
		return diskDir, nil
	}
	dir, err := os.MkdirTemp("", "wasicert-probes-") // mode 0700
	if err != nil {
		return "", fmt.Errorf("probes: making a directory for the probe modules: %w", err)
	}
	for name, e := range index {
		if e.err != nil {
			continue
		}
		if err := os.WriteFile(filepath.Join(dir, name+".wasm"), e.mod.Bytes, 0o600); err != nil {
			os.RemoveAll(dir)
			return "", fmt.Errorf("probes: writing the probe modules: %w", err)
		}
	}
	diskDir = dir
	return dir, nil
}

func digest(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// SetDigest is the probe set's digest: "sha256:" and the SHA-256 of the
// embedded modules' "name sha256\n" lines, sorted by name. Two wasicert
// builds with the same digest ran the very same probe bytes, so their
// results can be compared; result records and certificates carry it.
// A module that fails its manifest check contributes its error instead.
func SetDigest() string {
	h := sha256.New()
	for _, name := range Names() {
		e := index[name]
		if e.err != nil {
			fmt.Fprintf(h, "%s error %s\n", name, e.err)
			continue
		}
		fmt.Fprintf(h, "%s %s\n", name, e.mod.Digest)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}
