//go:build unix

package wazero

import (
	"context"

	"github.com/tetratelabs/wazero/experimental"
	"golang.org/x/sys/unix"
)

// withMemoryAllocator backs every linear memory of a run with its own
// mapping: the bound (max) is reserved up front without access, and a grow
// opens more of it in place. wazero's default allocator grows a Go slice by
// copying, which leaves the old copies to the garbage collector: a guest
// that grows page by page to 256 MiB took wasicert's peak RSS past 1 GiB.
// Here the peak is what the guest touches, and Free unmaps it at once.
func withMemoryAllocator(ctx context.Context) context.Context {
	return experimental.WithMemoryAllocator(ctx, experimental.MemoryAllocatorFunc(newMapped))
}

type mapped struct {
	buf []byte // the whole reservation, len max
	n   uint64 // bytes open for access
}

func newMapped(_, max uint64) experimental.LinearMemory {
	m := &mapped{}
	if max > 0 {
		b, err := unix.Mmap(-1, 0, int(max), unix.PROT_NONE, unix.MAP_PRIVATE|unix.MAP_ANON|unix.MAP_NORESERVE)
		if err == nil {
			m.buf = b
		}
	}
	return m
}

// Reallocate opens the memory up to size bytes; nil (a failed grow) past
// the reservation.
func (m *mapped) Reallocate(size uint64) []byte {
	if size > uint64(len(m.buf)) {
		return nil
	}
	if size > m.n {
		if unix.Mprotect(m.buf[m.n:size], unix.PROT_READ|unix.PROT_WRITE) != nil {
			return nil
		}
		m.n = size
	}
	return m.buf[:size:size]
}

func (m *mapped) Free() {
	if m.buf != nil {
		unix.Munmap(m.buf)
		m.buf, m.n = nil, 0
	}
}
