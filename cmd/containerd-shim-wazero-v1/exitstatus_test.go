package main

import "testing"

// TestExitStatus: proc_exit codes that fit a status pass through; codes
// past 255 never wrap to a status that reads as success.
func TestExitStatus(t *testing.T) {
	for code, want := range map[int]int{0: 0, 1: 1, 33: 33, 255: 255, 256: 255, 257: 255, 1 << 31: 255, 1<<32 - 1: 255, -1: 255} {
		if got := exitStatus(code); got != want {
			t.Errorf("exitStatus(%d) = %d, want %d", code, got, want)
		}
	}
}
