//go:build !linux

package suites

import "fmt"

type swapDir struct{}

func openSwapDir(root, rel string) (swapDir, error) {
	return swapDir{}, fmt.Errorf("%w: the swap race needs renameat2(RENAME_EXCHANGE), Linux only", ErrSkip)
}

func (swapDir) exchange(a, b string) error { return nil }
func (swapDir) close()                     {}
