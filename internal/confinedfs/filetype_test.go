//go:build linux

package confinedfs

import (
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	experimentalsys "github.com/tetratelabs/wazero/experimental/sys"
	"golang.org/x/sys/unix"
)

// TestSpecialFilesRefused: a FIFO, a socket and device nodes in the
// directory are refused with EPERM, by path and through symlinks, with
// and without O_NOFOLLOW, and a FIFO never blocks the open; a device that
// Options.Devices grants opens. Device nodes need root (mknod).
func TestSpecialFilesRefused(t *testing.T) {
	dir := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(unix.Mkfifo(filepath.Join(dir, "fifo"), 0o666))
	must(os.Symlink("fifo", filepath.Join(dir, "fifolink")))
	l, err := net.Listen("unix", filepath.Join(dir, "sock"))
	must(err)
	defer l.Close()
	must(os.WriteFile(filepath.Join(dir, "file"), []byte("x"), 0o644))
	refused := []string{"fifo", "fifolink", "sock"}
	root := os.Geteuid() == 0
	if root {
		// char 1:5 is /dev/zero, char 1:3 /dev/null: harmless to open.
		must(unix.Mknod(filepath.Join(dir, "zero"), syscall.S_IFCHR|0o666, int(unix.Mkdev(1, 5))))
		must(unix.Mknod(filepath.Join(dir, "null"), syscall.S_IFCHR|0o666, int(unix.Mkdev(1, 3))))
		must(os.Symlink("zero", filepath.Join(dir, "zerolink")))
		refused = append(refused, "zero", "zerolink", "null")
	}
	fsys, err := OpenOptions(dir, Options{Devices: []Device{{Major: 1, Minor: 3}, {Block: true, Major: 1, Minor: 5}}})
	must(err)
	defer fsys.Close()
	for _, name := range refused {
		for _, flag := range []experimentalsys.Oflag{experimentalsys.O_RDONLY, experimentalsys.O_RDWR, experimentalsys.O_WRONLY | experimentalsys.O_NOFOLLOW, experimentalsys.O_RDONLY | experimentalsys.O_NONBLOCK} {
			f, errno := fsys.OpenFile(name, flag, 0)
			want := experimentalsys.EPERM
			if name == "null" {
				want = 0 // granted by Options.Devices
			} else if flag&experimentalsys.O_NOFOLLOW != 0 && (name == "fifolink" || name == "zerolink") {
				want = experimentalsys.ELOOP // the link itself, not followed
			}
			if f != nil {
				f.Close()
			}
			if errno != want {
				t.Errorf("OpenFile(%s, %#x) = %v, want %v", name, flag, errno, want)
			}
		}
	}
	if f, errno := fsys.OpenFile("file", experimentalsys.O_RDONLY, 0); errno != 0 {
		t.Errorf("regular file: %v", errno)
	} else {
		if nb := f.(*file).IsNonblock(); nb {
			t.Error("regular file opened non-blocking without O_NONBLOCK")
		}
		fl, _ := unix.FcntlInt(f.(*file).fd, unix.F_GETFL, 0)
		if fl&unix.O_NONBLOCK != 0 {
			t.Error("O_NONBLOCK left set on a descriptor the guest opened blocking")
		}
		f.Close()
	}
	// Stat still answers: the guest may see that the node is there.
	if st, errno := fsys.Stat("fifo"); errno != 0 || st.Mode&os.ModeNamedPipe == 0 {
		t.Errorf("Stat(fifo) = %v %v", st.Mode, errno)
	}
	if !root {
		t.Log("device nodes not tried: mknod needs root")
	}
}

// TestFIFOGrant: a linux.devices entry of type "p" (Device.FIFO) grants
// FIFOs; a socket stays refused. A granted FIFO the guest opens
// non-blocking opens at once.
func TestFIFOGrant(t *testing.T) {
	dir := t.TempDir()
	if err := unix.Mkfifo(filepath.Join(dir, "fifo"), 0o666); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("unix", filepath.Join(dir, "sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	fsys, err := OpenOptions(dir, Options{Devices: []Device{{FIFO: true}}})
	if err != nil {
		t.Fatal(err)
	}
	defer fsys.Close()
	f, errno := fsys.OpenFile("fifo", experimentalsys.O_RDONLY|experimentalsys.O_NONBLOCK, 0)
	if errno != 0 {
		t.Fatalf("granted FIFO: %v", errno)
	}
	f.Close()
	if _, errno := fsys.OpenFile("sock", experimentalsys.O_RDONLY, 0); errno != experimentalsys.EPERM {
		t.Errorf("socket with a FIFO grant: %v, want EPERM", errno)
	}
}
