package runners

import (
	"bytes"
	"slices"
	"sync"
)

// TailSize is how much of the end of each stream Output keeps apart from
// its bounded head: what a runtime prints last (a trap message, a panic) is
// found there even when the guest flooded the stream first.
const TailSize = 64 << 10

// Output captures one output stream of a run the way a Result keeps it: the
// first MaxOutput bytes, and the last TailSize bytes for classifying how the
// run ended. Writes never fail, so a flooding guest is not stopped by an
// error (the timeout cuts it off) and a writer keeps draining its pipe. It
// is safe for concurrent use: an abandoned guest may still write while the
// runner reads.
type Output struct {
	mu        sync.Mutex
	head      bytes.Buffer
	truncated bool
	tail      []byte // ring of the last TailSize bytes, once past MaxOutput
	n         int    // bytes written into tail
}

// Write keeps what fits in the head and rolls everything into the tail.
func (o *Output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	room := MaxOutput - o.head.Len()
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

// Bytes returns a copy of the head: the first MaxOutput bytes written.
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

// Truncated reports whether anything was written past MaxOutput.
func (o *Output) Truncated() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.truncated
}
