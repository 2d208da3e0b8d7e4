// Package reports turns verdict records into what people and machines read:
// the summary (printed and as JSON), ginkgo's JUnit and JSON reports, and a
// results stream that survives an interrupted run.
//
// Every report file is written atomically: into a temp file beside it, then
// renamed, so a reader never sees half a report.
package reports

import (
	"fmt"
	"os"
	"path/filepath"
)

// WriteFileAtomic writes data to path through a temp file in the same
// directory and a rename.
func WriteFileAtomic(path string, data []byte) error {
	return writeAtomic(path, func(f *os.File) error {
		_, err := f.Write(data)
		return err
	})
}

// writeAtomic calls fill on a temp file beside path, then renames it over path.
func writeAtomic(path string, fill func(*os.File) error) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("cannot write report %s: %w", path, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // a no-op after the rename
	if err := fill(f); err != nil {
		f.Close()
		return fmt.Errorf("cannot write report %s: %w", path, err)
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("cannot write report %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("cannot write report %s: %w", path, err)
	}
	return nil
}

// CheckWritable fails early, with one line, when a report could not be
// written to path: its directory cannot be made or written, or path is a
// directory. It makes a missing directory.
func CheckWritable(path string) error {
	if path == "" {
		return nil
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return fmt.Errorf("report path %s is a directory: give a file name", path)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("cannot write reports to %s: %v (choose another path)", dir, err)
	}
	f, err := os.CreateTemp(dir, ".wasicert-probe-*")
	if err != nil {
		return fmt.Errorf("cannot write reports to %s: %v (create the directory or choose another path)", dir, err)
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}
