package compare

import (
	"fmt"
	iofs "io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/wasicert/wasicert/records"
)

// Load reads every records file named, or found under a directory named
// (files called records.jsonl or *.records.jsonl), into sets (Sets). Its
// errors are one line saying what to do.
func Load(paths []string) ([]*Set, error) {
	var sets []*Set
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("compare: %v", err)
		}
		files := []string{p}
		if fi.IsDir() {
			files = nil
			_ = filepath.WalkDir(p, func(f string, d iofs.DirEntry, err error) error {
				if err == nil && !d.IsDir() && (d.Name() == "records.jsonl" || strings.HasSuffix(d.Name(), ".records.jsonl")) {
					files = append(files, f)
				}
				return nil
			})
			if len(files) == 0 {
				return nil, fmt.Errorf("compare: no records.jsonl under %s: write records with wasicert run --records or wasicert matrix", p)
			}
		}
		for _, f := range files {
			recs, err := records.Read(f)
			if err != nil {
				return nil, fmt.Errorf("compare: %v", err)
			}
			if len(recs) == 0 {
				return nil, fmt.Errorf("compare: %s holds no records: the run that wrote it ran no spec", f)
			}
			sets = append(sets, Sets(f, recs)...)
		}
	}
	return sets, nil
}
