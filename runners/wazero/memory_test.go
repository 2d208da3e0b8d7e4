package wazero

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/wasicert/wasicert/runners"
)

// growWAT grows its memory one page at a time until memory.grow returns -1,
// then exits with the number of pages it has.
const growWAT = `(module
  (import ` + wasi + ` "proc_exit" (func $exit (param i32)))
  (memory 1)
  (func (export "_start")
    (block $full (loop $l
      (br_if $full (i32.eq (memory.grow (i32.const 1)) (i32.const -1)))
      (br $l)))
    (call $exit (memory.size))))`

// TestMemoryBound: a guest that grows without end is refused at the bound,
// sees the refusal (it exits with its page count), and wasicert carries on.
// Without the bound it gets 65536 pages (4 GiB, inside this process).
func TestMemoryBound(t *testing.T) {
	m := wat(t, growWAT)
	small, err := New(Options{MemoryLimit: 16 << 20})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		r     runners.Runner
		pages int
	}{{both(t)[0], DefaultMemoryLimit >> 16}, {both(t)[1], DefaultMemoryLimit >> 16}, {small, 256}} {
		before := vmHWM(t)
		res := run(t, c.r, runners.Invocation{Module: m})
		t.Logf("%s: %s; VmHWM %d KiB before, %d KiB after", c.r.Name(), res, before, vmHWM(t))
		if res.Ended != runners.EndedExit || res.ExitCode != c.pages {
			t.Errorf("%s: %s, want exit %d (pages at the bound)", c.r.Name(), res, c.pages)
		}
	}
	if _, err := New(Options{MemoryLimit: 1 << 33}); err == nil {
		t.Error("New accepted an 8 GiB memory limit")
	}
}

func vmHWM(t *testing.T) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Skip(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	return 0
}
