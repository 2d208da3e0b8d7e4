// Package capture keeps one output stream of a run the way a
// runners.Result reports it: a bounded head (runners.MaxOutput), the tail
// (TailSize) that classification reads, the byte count, and the canaries
// sighted anywhere in it. Every runner that captures a guest's output writes
// it through an Output and fills its Result with Fill.
package capture

import (
	"bytes"
	"slices"
	"sync"

	"github.com/wasicert/wasicert/runners"
)

// TailSize is how much of the end of each stream Output keeps apart from
// its bounded head: what a runtime prints last (a trap message, a panic) is
// found there even when the guest flooded the stream first.
const TailSize = 64 << 10

// Output captures one output stream of a run the way a Result keeps it: the
// first runners.MaxOutput bytes, and the last TailSize bytes for classifying how the
// run ended. Writes never fail, so a flooding guest is not stopped by an
// error (the timeout cuts it off) and a writer keeps draining its pipe. It
// is safe for concurrent use: an abandoned guest may still write while the
// runner reads.
type Output struct {
	mu        sync.Mutex
	head      bytes.Buffer
	truncated bool
	tail      []byte // ring of the last TailSize bytes, once past runners.MaxOutput
	n         int    // bytes written into tail
	written   int64  // bytes written in all

	watch []runners.Canary
	seen  []bool
	seam  []byte // the last (longest canary - 1) bytes, for a canary split across writes
}

// Watch makes o look for each canary's value in everything written from
// now on, including what is past runners.MaxOutput and never kept: Seen reports the
// names found. Memory stays bounded by the longest value. Call it before
// the first Write.
func (o *Output) Watch(canaries ...runners.Canary) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, c := range canaries {
		if c.Value != "" {
			o.watch = append(o.watch, c)
			o.seen = append(o.seen, false)
		}
	}
}

// Seen returns the names of the watched canaries written so far, in the
// order they were given to Watch.
func (o *Output) Seen() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []string
	for i, c := range o.watch {
		if o.seen[i] {
			out = append(out, c.Name)
		}
	}
	return out
}

// Written returns how many bytes were written in all, kept or not.
func (o *Output) Written() int64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.written
}

// scan looks for the watched values in p and across the seam with what
// came before it.
func (o *Output) scan(p []byte) {
	if len(o.watch) == 0 {
		return
	}
	longest := 0
	for i, c := range o.watch {
		longest = max(longest, len(c.Value))
		if o.seen[i] {
			continue
		}
		v := []byte(c.Value)
		if bytes.Contains(p, v) {
			o.seen[i] = true
			continue
		}
		// A value split across writes: it starts in the seam.
		if len(o.seam) > 0 {
			joint := append(bytes.Clone(o.seam), p[:min(len(p), len(v)-1)]...)
			if bytes.Contains(joint, v) {
				o.seen[i] = true
			}
		}
	}
	keep := longest - 1
	if len(p) >= keep {
		o.seam = append(o.seam[:0], p[len(p)-keep:]...)
	} else {
		o.seam = append(o.seam, p...)
		o.seam = o.seam[max(0, len(o.seam)-keep):]
	}
}

// Write keeps what fits in the head and rolls everything into the tail.
func (o *Output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.written += int64(len(p))
	o.scan(p)
	room := runners.MaxOutput - o.head.Len()
	if room >= len(p) {
		o.head.Write(p)
		return len(p), nil
	}
	o.truncated = true
	o.head.Write(p[:max(room, 0)])
	if o.tail == nil {
		o.tail = make([]byte, TailSize)
		h := o.head.Bytes()
		o.ring(h[max(0, len(h)-TailSize):])
	}
	o.ring(p[max(room, 0):])
	return len(p), nil
}

func (o *Output) ring(p []byte) {
	for len(p) > 0 {
		c := copy(o.tail[o.n%TailSize:], p)
		p, o.n = p[c:], o.n+c
	}
}

// Bytes returns a copy of the head: the first runners.MaxOutput bytes written.
func (o *Output) Bytes() []byte {
	o.mu.Lock()
	defer o.mu.Unlock()
	return bytes.Clone(o.head.Bytes())
}

// Tail returns a copy of the last TailSize bytes written (fewer if fewer were).
func (o *Output) Tail() []byte {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.tail == nil {
		h := o.head.Bytes()
		return bytes.Clone(h[max(0, len(h)-TailSize):])
	}
	i := o.n % TailSize
	return slices.Concat(o.tail[i:], o.tail[:i])
}

// Truncated reports whether anything was written past runners.MaxOutput.
func (o *Output) Truncated() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.truncated
}

// Fill fills r's output fields from the run's two streams: the kept head of
// each, whether either was cut, the byte counts and the canaries sighted.
// Every runner that captures output calls it.
func Fill(r *runners.Result, stdout, stderr *Output) {
	r.Stdout, r.Stderr = stdout.Bytes(), stderr.Bytes()
	r.Truncated = stdout.Truncated() || stderr.Truncated()
	r.StdoutBytes, r.StderrBytes = stdout.Written(), stderr.Written()
	r.Sightings = nil
	for _, s := range []struct {
		name string
		o    *Output
	}{{"stdout", stdout}, {"stderr", stderr}} {
		for _, c := range s.o.Seen() {
			r.Sightings = append(r.Sightings, runners.Sighting{Canary: c, Stream: s.name})
		}
	}
}
