package capture

import (
	"bytes"
	"github.com/wasicert/wasicert/runners"
	"sync"
	"testing"
)

func TestOutputKeepsHeadAndTail(t *testing.T) {
	var o Output
	o.Write([]byte("start\n"))
	if o.Truncated() || string(o.Bytes()) != "start\n" || string(o.Tail()) != "start\n" {
		t.Fatalf("small output: head %q tail %q truncated %v", o.Bytes(), o.Tail(), o.Truncated())
	}
	chunk := bytes.Repeat([]byte("x"), 1000)
	for written := 6; written < runners.MaxOutput+3*TailSize; written += len(chunk) {
		if n, err := o.Write(chunk); n != len(chunk) || err != nil {
			t.Fatalf("Write = %d, %v: a flood must never fail a write", n, err)
		}
	}
	o.Write([]byte("\nwasm trap: unreachable\n"))
	if !o.Truncated() || len(o.Bytes()) != runners.MaxOutput || !bytes.HasPrefix(o.Bytes(), []byte("start\n")) {
		t.Errorf("head: %d bytes, truncated %v; want the first %d bytes", len(o.Bytes()), o.Truncated(), runners.MaxOutput)
	}
	tail := o.Tail()
	if len(tail) != TailSize || !bytes.HasSuffix(tail, []byte("\nwasm trap: unreachable\n")) {
		t.Errorf("tail: %d bytes ending %q; want %d bytes ending with the trap line", len(tail), tail[max(0, len(tail)-30):], TailSize)
	}
}

func TestOutputTailStraddlesTheBound(t *testing.T) {
	var o Output
	o.Write(bytes.Repeat([]byte("a"), runners.MaxOutput-10))
	o.Write([]byte("0123456789ABCDEF")) // 10 bytes fit, 6 spill
	if got := o.Tail(); !bytes.HasSuffix(got, []byte("0123456789ABCDEF")) || len(got) != TailSize {
		t.Errorf("tail across the bound ends %q (%d bytes)", got[len(got)-16:], len(got))
	}
}

func TestOutputConcurrentWrites(t *testing.T) {
	var o Output
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				o.Write(bytes.Repeat([]byte("y"), 4096))
				_ = o.Tail()
			}
		}()
	}
	wg.Wait()
	if len(o.Bytes()) != runners.MaxOutput || !o.Truncated() {
		t.Errorf("after 6.4 MB from 8 writers: %d bytes, truncated %v", len(o.Bytes()), o.Truncated())
	}
}

// TestOutputWatchSeesEverySplit: a canary written in pieces is seen
// whatever the cut: a byte at a time, every cut into three pieces (a
// middle piece shorter than the seam included), after a flood past
// runners.MaxOutput, with a longer and a shorter canary watched alongside; and
// not seen when one byte of it is missing.
func TestOutputWatchSeesEverySplit(t *testing.T) {
	const v = "HOST-ENV-CANARY-0123456789abcdef"
	watch := []runners.Canary{{Name: "long", Value: v + "-and-a-longer-tail-0123456789"}, {Name: "v", Value: v}, {Name: "short", Value: "zz"}}
	seen := func(o *Output) bool {
		for _, n := range o.Seen() {
			if n == "v" {
				return true
			}
		}
		return false
	}
	var o Output
	o.Watch(watch...)
	o.Write([]byte("x"))
	for i := range len(v) {
		o.Write([]byte{v[i]})
	}
	if !seen(&o) {
		t.Errorf("a byte at a time: not seen")
	}
	for i := 0; i <= len(v); i++ {
		for j := i; j <= len(v); j++ {
			var o Output
			o.Watch(watch...)
			o.Write([]byte("prefix"))
			for _, p := range []string{v[:i], v[i:j], v[j:]} {
				o.Write([]byte(p))
			}
			if !seen(&o) {
				t.Fatalf("cut at %d and %d: not seen", i, j)
			}
		}
	}
	var f Output
	f.Watch(watch...)
	f.Write(bytes.Repeat([]byte("x"), runners.MaxOutput+1))
	f.Write([]byte(v[:5]))
	f.Write([]byte(v[5:]))
	if !seen(&f) {
		t.Errorf("past a flood: not seen")
	}
	var m Output
	m.Watch(watch...)
	m.Write([]byte(v[:10]))
	m.Write([]byte(v[11:]))
	if seen(&m) {
		t.Errorf("a byte missing: seen")
	}
}
