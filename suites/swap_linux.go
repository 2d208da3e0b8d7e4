package suites

import (
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// swapDir is an open directory whose entries the Swapper exchanges.
type swapDir struct{ fd int }

// openSwapDir opens rel under root one component at a time, never
// following a symlink.
func openSwapDir(root, rel string) (swapDir, error) {
	fd, err := unix.Open(root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return swapDir{}, fmt.Errorf("swapper: open fixture root: %w", err)
	}
	for _, c := range strings.Split(rel, "/") {
		next, err := unix.Openat(fd, c, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		unix.Close(fd)
		if err != nil {
			return swapDir{}, fmt.Errorf("swapper: %s is not a directory of the fixture (%w): nothing swapped", rel, err)
		}
		fd = next
	}
	return swapDir{fd}, nil
}

func (d swapDir) exchange(a, b string) error {
	if strings.Contains(a, "/") || strings.Contains(b, "/") {
		return fmt.Errorf("swapper: %q and %q must be single names", a, b)
	}
	err := unix.Renameat2(d.fd, a, d.fd, b, unix.RENAME_EXCHANGE)
	if err == unix.ENOSYS || err == unix.EINVAL {
		return fmt.Errorf("%w: renameat2(RENAME_EXCHANGE) is not supported here (%v)", ErrSkip, err)
	}
	if err != nil {
		return fmt.Errorf("swapper: exchange %s and %s: %w", a, b, err)
	}
	return nil
}

func (d swapDir) close() { unix.Close(d.fd) }
