//go:build !unix

package wazero

import "context"

// withMemoryAllocator keeps wazero's default allocator where there is no mmap.
func withMemoryAllocator(ctx context.Context) context.Context { return ctx }
