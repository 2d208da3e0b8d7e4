package naive

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"syscall"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/sys"
)

// ModuleName is the import module every preview-1 guest links against.
const ModuleName = "wasi_snapshot_preview1"

var le = binary.LittleEndian

const (
	i32 = api.ValueTypeI32
	i64 = api.ValueTypeI64
)

// hostFn is one host function. It reads its parameters from p and returns
// the WASI errno, which becomes its one i32 result.
type hostFn func(st *state, ctx context.Context, mod api.Module, p []uint64) errno

// function describes one preview-1 export. A nil fn means "not implemented":
// the export exists, with the right signature, and returns NOSYS.
type function struct {
	name   string
	params []api.ValueType
	fn     hostFn
}

// functions lists all 46 preview-1 functions with the parameter types
// wazero's imports/wasi_snapshot_preview1 uses. Every one returns one i32
// errno, except proc_exit, which returns nothing.
var functions = []function{
	{"args_get", []api.ValueType{i32, i32}, (*state).argsGet},
	{"args_sizes_get", []api.ValueType{i32, i32}, (*state).argsSizesGet},
	{"environ_get", []api.ValueType{i32, i32}, (*state).environGet},
	{"environ_sizes_get", []api.ValueType{i32, i32}, (*state).environSizesGet},
	{"clock_res_get", []api.ValueType{i32, i32}, (*state).clockResGet},
	{"clock_time_get", []api.ValueType{i32, i64, i32}, (*state).clockTimeGet},
	{"fd_advise", []api.ValueType{i32, i64, i64, i32}, (*state).fdAdvise},
	{"fd_allocate", []api.ValueType{i32, i64, i64}, nil},
	{"fd_close", []api.ValueType{i32}, (*state).fdClose},
	{"fd_datasync", []api.ValueType{i32}, (*state).fdSync},
	{"fd_fdstat_get", []api.ValueType{i32, i32}, (*state).fdFdstatGet},
	{"fd_fdstat_set_flags", []api.ValueType{i32, i32}, nil},
	{"fd_fdstat_set_rights", []api.ValueType{i32, i64, i64}, nil},
	{"fd_filestat_get", []api.ValueType{i32, i32}, (*state).fdFilestatGet},
	{"fd_filestat_set_size", []api.ValueType{i32, i64}, (*state).fdFilestatSetSize},
	{"fd_filestat_set_times", []api.ValueType{i32, i64, i64, i32}, (*state).fdFilestatSetTimes},
	{"fd_pread", []api.ValueType{i32, i32, i32, i64, i32}, (*state).fdPread},
	{"fd_prestat_get", []api.ValueType{i32, i32}, (*state).fdPrestatGet},
	{"fd_prestat_dir_name", []api.ValueType{i32, i32, i32}, (*state).fdPrestatDirName},
	{"fd_pwrite", []api.ValueType{i32, i32, i32, i64, i32}, (*state).fdPwrite},
	{"fd_read", []api.ValueType{i32, i32, i32, i32}, (*state).fdRead},
	{"fd_readdir", []api.ValueType{i32, i32, i32, i64, i32}, (*state).fdReaddir},
	{"fd_renumber", []api.ValueType{i32, i32}, (*state).fdRenumber},
	{"fd_seek", []api.ValueType{i32, i64, i32, i32}, (*state).fdSeek},
	{"fd_sync", []api.ValueType{i32}, (*state).fdSync},
	{"fd_tell", []api.ValueType{i32, i32}, (*state).fdTell},
	{"fd_write", []api.ValueType{i32, i32, i32, i32}, (*state).fdWrite},
	{"path_create_directory", []api.ValueType{i32, i32, i32}, (*state).pathCreateDirectory},
	{"path_filestat_get", []api.ValueType{i32, i32, i32, i32, i32}, (*state).pathFilestatGet},
	{"path_filestat_set_times", []api.ValueType{i32, i32, i32, i32, i64, i64, i32}, (*state).pathFilestatSetTimes},
	{"path_link", []api.ValueType{i32, i32, i32, i32, i32, i32, i32}, (*state).pathLink},
	{"path_open", []api.ValueType{i32, i32, i32, i32, i32, i64, i64, i32, i32}, (*state).pathOpen},
	{"path_readlink", []api.ValueType{i32, i32, i32, i32, i32, i32}, (*state).pathReadlink},
	{"path_remove_directory", []api.ValueType{i32, i32, i32}, (*state).pathRemoveDirectory},
	{"path_rename", []api.ValueType{i32, i32, i32, i32, i32, i32}, (*state).pathRename},
	{"path_symlink", []api.ValueType{i32, i32, i32, i32, i32}, (*state).pathSymlink},
	{"path_unlink_file", []api.ValueType{i32, i32, i32}, (*state).pathUnlinkFile},
	{"poll_oneoff", []api.ValueType{i32, i32, i32, i32}, (*state).pollOneoff},
	{"proc_exit", []api.ValueType{i32}, (*state).procExit},
	{"proc_raise", []api.ValueType{i32}, nil},
	{"random_get", []api.ValueType{i32, i32}, (*state).randomGet},
	{"sched_yield", nil, (*state).schedYield},
	// WEAKNESS 8: the socket calls link but do nothing.
	{"sock_accept", []api.ValueType{i32, i32, i32}, nil},
	{"sock_recv", []api.ValueType{i32, i32, i32, i32, i32, i32}, nil},
	{"sock_send", []api.ValueType{i32, i32, i32, i32, i32}, nil},
	{"sock_shutdown", []api.ValueType{i32, i32}, nil},
}

// Implemented lists the preview-1 functions naive implements; NotImplemented
// lists those that return NOSYS. Together they are all 46.
func Implemented() (implemented, notImplemented []string) {
	for _, f := range functions {
		if f.fn != nil {
			implemented = append(implemented, f.name)
		} else {
			notImplemented = append(notImplemented, f.name)
		}
	}
	return implemented, notImplemented
}

// hostModule builds the wasi_snapshot_preview1 host module bound to st.
func (st *state) hostModule(rt wazero.Runtime) wazero.HostModuleBuilder {
	b := rt.NewHostModuleBuilder(ModuleName)
	for _, f := range functions {
		if o, ok := st.overrides[f.name]; ok {
			f.fn = o
		}
		f = st.variant(f)
		results := []api.ValueType{i32}
		if f.name == "proc_exit" {
			results = nil
		}
		b.NewFunctionBuilder().
			WithGoModuleFunction(st.wrap(f, len(results) > 0), f.params, results).
			Export(f.name)
	}
	return b
}

// wrap adapts a hostFn to wazero. An out-of-bounds guest pointer becomes
// FAULT; any other panic (other than proc_exit's) marks the run as a crash
// and is passed on so that wazero stops the guest.
func (st *state) wrap(f function, hasResult bool) api.GoModuleFunc {
	return func(ctx context.Context, mod api.Module, stack []uint64) {
		if f.name == "proc_raise" {
			stack[0] = uint64(st.procRaise(ctx, mod, stack))
			return
		}
		if f.fn == nil {
			stack[0] = uint64(errNosys)
			return
		}
		defer func() {
			switch r := recover().(type) {
			case nil:
			case fault:
				stack[0] = uint64(errFault)
			case *sys.ExitError:
				panic(r)
			default:
				st.crash = fmt.Sprintf("host panic in %s: %v", f.name, r)
				panic(r)
			}
		}()
		e := f.fn(st, ctx, mod, stack)
		if hasResult {
			stack[0] = uint64(e)
		}
	}
}

// --- args and environ ---

func (st *state) argsGet(_ context.Context, mod api.Module, p []uint64) errno {
	return putStrings(memOf(mod), st.args, uint32(p[0]), uint32(p[1]))
}

func (st *state) argsSizesGet(_ context.Context, mod api.Module, p []uint64) errno {
	return putSizes(memOf(mod), st.args, uint32(p[0]), uint32(p[1]))
}

func (st *state) environGet(_ context.Context, mod api.Module, p []uint64) errno {
	return putStrings(memOf(mod), st.env, uint32(p[0]), uint32(p[1]))
}

func (st *state) environSizesGet(_ context.Context, mod api.Module, p []uint64) errno {
	return putSizes(memOf(mod), st.env, uint32(p[0]), uint32(p[1]))
}

// putStrings writes the pointer array at ptrs and the NUL-terminated
// strings at buf, as args_get and environ_get do.
func putStrings(g guestMem, vals [][]byte, ptrs, buf uint32) errno {
	for i, v := range vals {
		g.putU32(ptrs+4*uint32(i), buf)
		g.put(buf, append(v[:len(v):len(v)], 0))
		buf += uint32(len(v)) + 1
	}
	return errSuccess
}

// putSizes writes the count and total size of vals, NULs included.
func putSizes(g guestMem, vals [][]byte, count, size uint32) errno {
	total := 0
	for _, v := range vals {
		total += len(v) + 1
	}
	g.putU32(count, uint32(len(vals)))
	g.putU32(size, uint32(total))
	return errSuccess
}

// --- clocks, random, scheduling, proc ---

func (st *state) now(id uint32) (uint64, errno) {
	switch id {
	case 0: // realtime
		return uint64(time.Now().UnixNano()), errSuccess
	case 1, 2, 3: // monotonic; the CPU-time clocks are approximated by it
		return uint64(time.Since(st.epoch).Nanoseconds()) + 1, errSuccess
	}
	return 0, errInval
}

func (st *state) clockResGet(_ context.Context, mod api.Module, p []uint64) errno {
	if _, e := st.now(uint32(p[0])); e != errSuccess {
		return e
	}
	memOf(mod).putU64(uint32(p[1]), 1)
	return errSuccess
}

func (st *state) clockTimeGet(_ context.Context, mod api.Module, p []uint64) errno {
	t, e := st.now(uint32(p[0]))
	if e == errSuccess {
		memOf(mod).putU64(uint32(p[2]), t)
	}
	return e
}

func (st *state) randomGet(_ context.Context, mod api.Module, p []uint64) errno {
	buf := memOf(mod).read(uint32(p[0]), uint32(p[1]))
	if _, err := rand.Read(buf); err != nil {
		return errIO
	}
	return errSuccess
}

func (st *state) schedYield(context.Context, api.Module, []uint64) errno {
	runtime.Gosched()
	return errSuccess
}

// procExit ends the guest the way wazero's own proc_exit does.
func (st *state) procExit(ctx context.Context, mod api.Module, p []uint64) errno {
	code := uint32(p[0])
	_ = mod.CloseWithExitCode(ctx, code)
	panic(sys.NewExitError(code))
}

// pollOneoff supports clock subscriptions (it sleeps until the earliest
// one) and treats fd subscriptions as always ready.
func (st *state) pollOneoff(ctx context.Context, mod api.Module, p []uint64) errno {
	g := memOf(mod)
	in, out, n, nevents := uint32(p[0]), uint32(p[1]), uint32(p[2]), uint32(p[3])
	if n == 0 {
		return errInval
	}
	const subSize, eventSize = 48, 32
	type clockSub struct {
		i     uint32
		delay time.Duration
	}
	var clocks []clockSub
	var events uint32
	event := func(sub []byte, err errno) {
		ev := make([]byte, eventSize)
		copy(ev[0:8], sub[0:8]) // userdata
		le.PutUint16(ev[8:], uint16(err))
		ev[10] = sub[8] // type
		g.put(out+eventSize*events, ev)
		events++
	}
	for i := range n {
		sub := g.read(in+subSize*i, subSize)
		switch sub[8] {
		case 0: // clock
			id, timeout, flags := le.Uint32(sub[16:]), le.Uint64(sub[24:]), le.Uint16(sub[40:])
			now, e := st.now(id)
			if e != errSuccess {
				event(sub, e)
				continue
			}
			d := time.Duration(timeout)
			if flags&1 != 0 { // abstime
				d = time.Duration(int64(timeout) - int64(now))
			}
			clocks = append(clocks, clockSub{i, d})
		case 1, 2: // fd_read, fd_write: ready at once if the fd exists
			if st.fds[le.Uint32(sub[16:])] == nil {
				event(sub, errBadf)
			} else {
				event(sub, errSuccess)
			}
		default:
			event(sub, errInval)
		}
	}
	if events == 0 && len(clocks) > 0 {
		sort.SliceStable(clocks, func(a, b int) bool { return clocks[a].delay < clocks[b].delay })
		if d := clocks[0].delay; d > 0 {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
			}
		}
		for _, c := range clocks {
			if c.delay <= clocks[0].delay {
				event(g.read(in+subSize*c.i, subSize), errSuccess)
			}
		}
	}
	g.putU32(nevents, events)
	return errSuccess
}

// --- fds ---

func (st *state) fdPrestatGet(_ context.Context, mod api.Module, p []uint64) errno {
	e := st.fds[uint32(p[0])]
	if e == nil || e.preopen == "" {
		return errBadf
	}
	g := memOf(mod)
	g.putU32(uint32(p[1]), 0) // tag dir, padding
	g.putU32(uint32(p[1])+4, uint32(len(e.preopen)))
	return errSuccess
}

func (st *state) fdPrestatDirName(_ context.Context, mod api.Module, p []uint64) errno {
	e := st.fds[uint32(p[0])]
	if e == nil || e.preopen == "" {
		return errBadf
	}
	if uint32(p[2]) < uint32(len(e.preopen)) {
		return errNametoolong
	}
	memOf(mod).put(uint32(p[1]), []byte(e.preopen))
	return errSuccess
}

func (st *state) fdClose(_ context.Context, _ api.Module, p []uint64) errno {
	fd := uint32(p[0])
	e := st.fds[fd]
	if e == nil {
		return errBadf
	}
	if e.preopen != "" && st.fdFlaws.PreopenCloseIgnored {
		return errSuccess
	}
	delete(st.fds, fd)
	if e.file != nil {
		return toErrno(e.file.Close())
	}
	return errSuccess
}

func (st *state) fdRenumber(_ context.Context, _ api.Module, p []uint64) errno {
	from, to := uint32(p[0]), uint32(p[1])
	src, dst := st.fds[from], st.fds[to]
	if src == nil || dst == nil && !st.fdFlaws.RenumberDup2 {
		return errBadf
	}
	if from == to {
		return errSuccess
	}
	if dst != nil && dst.file != nil {
		dst.file.Close()
	}
	st.fds[to] = src
	if !st.fdFlaws.RenumberCopies {
		delete(st.fds, from)
	}
	return errSuccess
}

// file returns fd's host file, opening a directory lazily.
func (st *state) file(fd uint32) (*entry, errno) {
	e := st.fds[fd]
	if e == nil {
		return nil, errBadf
	}
	if e.kind == kindDir && e.file == nil {
		f, err := os.Open(e.host)
		if err != nil {
			return nil, toErrno(err)
		}
		e.file = f
	}
	return e, errSuccess
}

func (st *state) fdFdstatGet(_ context.Context, mod api.Module, p []uint64) errno {
	e := st.fds[uint32(p[0])]
	if e == nil {
		return st.hostFdstat(mod, uint32(p[0]), uint32(p[1])) // WEAKNESS 15
	}
	b := make([]byte, 24)
	switch e.kind {
	case kindStdin, kindStdout, kindStderr:
		b[0] = ftCharDevice
	case kindDir:
		b[0] = ftDirectory
	default:
		b[0] = ftRegularFile
		if fi, err := e.file.Stat(); err == nil {
			b[0] = filetypeOf(fi.Mode())
		}
	}
	le.PutUint16(b[2:], e.fdflags)
	base, inheriting := st.rightsOf(e) // WEAKNESS 3: everything, always
	le.PutUint64(b[8:], base)
	le.PutUint64(b[16:], inheriting)
	memOf(mod).put(uint32(p[1]), b)
	return errSuccess
}

func (st *state) fdFilestatGet(_ context.Context, mod api.Module, p []uint64) errno {
	e, en := st.file(uint32(p[0]))
	if en != errSuccess {
		return en
	}
	g := memOf(mod)
	if e.file == nil { // stdio
		b := make([]byte, 64)
		b[16] = ftCharDevice
		g.put(uint32(p[1]), b)
		return errSuccess
	}
	fi, err := e.file.Stat()
	if err != nil {
		return toErrno(err)
	}
	g.putFilestat(uint32(p[1]), fi)
	return errSuccess
}

// regular returns fd's file when it is an open file (not stdio, not a dir).
func (st *state) regular(fd uint32) (*os.File, errno) {
	e := st.fds[fd]
	switch {
	case e == nil || e.kind == kindDir:
		return nil, errBadf
	case e.file == nil:
		return nil, errSpipe
	}
	return e.file, errSuccess
}

func (st *state) fdFilestatSetSize(_ context.Context, _ api.Module, p []uint64) errno {
	f, e := st.regular(uint32(p[0]))
	if e != errSuccess {
		return e
	}
	return toErrno(f.Truncate(int64(p[1])))
}

func (st *state) fdFilestatSetTimes(_ context.Context, _ api.Module, p []uint64) errno {
	e, en := st.file(uint32(p[0]))
	if en != errSuccess {
		return en
	}
	if e.file == nil {
		return errBadf
	}
	return setTimes(e.file.Name(), p[1], p[2], uint16(p[3]))
}

// setTimes applies fst_flags (ATIM 1, ATIM_NOW 2, MTIM 4, MTIM_NOW 8),
// following symlinks.
func setTimes(host string, atim, mtim uint64, flags uint16) errno {
	if flags&3 == 3 || flags&12 == 12 {
		return errInval
	}
	pick := func(set, now uint16, ts uint64) time.Time {
		switch {
		case flags&now != 0:
			return time.Now()
		case flags&set != 0:
			return time.Unix(0, int64(ts))
		}
		return time.Time{} // left unchanged by os.Chtimes
	}
	return toErrno(os.Chtimes(host, pick(1, 2, atim), pick(4, 8, mtim)))
}

func (st *state) fdSync(_ context.Context, _ api.Module, p []uint64) errno {
	f, e := st.regular(uint32(p[0]))
	if e != errSuccess {
		return e
	}
	return toErrno(f.Sync())
}

func (st *state) fdAdvise(_ context.Context, _ api.Module, p []uint64) errno {
	_, e := st.regular(uint32(p[0]))
	return e
}

func (st *state) fdRead(_ context.Context, mod api.Module, p []uint64) errno {
	e := st.fds[uint32(p[0])]
	if e == nil {
		return st.hostRead(mod, uint32(p[0]), uint32(p[1]), uint32(p[2]), uint32(p[3])) // WEAKNESS 15
	}
	var r io.Reader
	switch {
	case e.kind == kindStdin:
		r = st.stdin
	case e.kind == kindDir:
		return errIsdir
	case e.file != nil:
		r = e.file
	default:
		return errBadf
	}
	return readInto(memOf(mod), r, uint32(p[1]), uint32(p[2]), uint32(p[3]))
}

func (st *state) fdPread(_ context.Context, mod api.Module, p []uint64) errno {
	f, e := st.regular(uint32(p[0]))
	if e != errSuccess {
		return e
	}
	r := io.NewSectionReader(f, int64(p[3]), 1<<62)
	return readInto(memOf(mod), r, uint32(p[1]), uint32(p[2]), uint32(p[4]))
}

// readInto fills the iovecs from r, stopping at the first short read.
func readInto(g guestMem, r io.Reader, iovs, n, nread uint32) errno {
	total := 0
	for _, buf := range g.iovecs(iovs, n) {
		k, err := r.Read(buf)
		total += k
		if err == io.EOF {
			break
		}
		if err != nil {
			if total > 0 {
				break
			}
			return toErrno(err)
		}
		if k < len(buf) {
			break
		}
	}
	g.putU32(nread, uint32(total))
	return errSuccess
}

func (st *state) fdWrite(_ context.Context, mod api.Module, p []uint64) errno {
	e := st.fds[uint32(p[0])]
	if e == nil {
		return errBadf
	}
	g := memOf(mod)
	var write func([]byte) (int, error)
	switch {
	case e.kind == kindStdout:
		write = st.stdout.Write
	case e.kind == kindStderr:
		write = st.stderr.Write
	case e.kind == kindFile:
		write = e.file.Write
	default:
		return errBadf
	}
	return writeFrom(g, write, uint32(p[1]), uint32(p[2]), uint32(p[3]))
}

func (st *state) fdPwrite(_ context.Context, mod api.Module, p []uint64) errno {
	f, e := st.regular(uint32(p[0]))
	if e != errSuccess {
		return e
	}
	off := int64(p[3])
	write := func(b []byte) (int, error) {
		k, err := f.WriteAt(b, off)
		off += int64(k)
		return k, err
	}
	return writeFrom(memOf(mod), write, uint32(p[1]), uint32(p[2]), uint32(p[4]))
}

// writeFrom writes the ciovecs with write and reports the total.
func writeFrom(g guestMem, write func([]byte) (int, error), iovs, n, nwritten uint32) errno {
	total := 0
	for _, buf := range g.iovecs(iovs, n) {
		k, err := write(buf)
		total += k
		if err != nil {
			if total > 0 {
				break
			}
			return toErrno(err)
		}
	}
	g.putU32(nwritten, uint32(total))
	return errSuccess
}

func (st *state) fdSeek(_ context.Context, mod api.Module, p []uint64) errno {
	f, e := st.regular(uint32(p[0]))
	if e != errSuccess {
		return e
	}
	whence := int(uint32(p[2]))
	if whence > 2 {
		return errInval
	}
	off, err := f.Seek(int64(p[1]), whence)
	if err != nil {
		return toErrno(err)
	}
	memOf(mod).putU64(uint32(p[3]), uint64(off))
	return errSuccess
}

func (st *state) fdTell(_ context.Context, mod api.Module, p []uint64) errno {
	f, e := st.regular(uint32(p[0]))
	if e != errSuccess {
		return e
	}
	off, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		return toErrno(err)
	}
	memOf(mod).putU64(uint32(p[1]), uint64(off))
	return errSuccess
}

// fdReaddir lists ".", ".." and the directory's entries, sorted, with
// cookie = index of the next entry. The last entry may be cut short, as
// the spec allows; bufused < buf_len means the end was reached.
func (st *state) fdReaddir(_ context.Context, mod api.Module, p []uint64) errno {
	e, en := st.file(uint32(p[0]))
	if en != errSuccess {
		return en
	}
	if e.kind != kindDir {
		return errNotdir
	}
	des, err := os.ReadDir(e.host)
	if err != nil {
		return toErrno(err)
	}
	names := []string{".", ".."}
	for _, de := range des {
		names = append(names, de.Name())
	}
	g := memOf(mod)
	buf, bufLen, cookie := uint32(p[1]), uint32(p[2]), p[3]
	var out []byte
	for i := cookie; i < uint64(len(names)) && uint32(len(out)) < bufLen; i++ {
		d := make([]byte, 24, 24+len(names[i]))
		var ino uint64
		ft := ftUnknown
		if fi, err := os.Lstat(e.host + "/" + names[i]); err == nil {
			ft = filetypeOf(fi.Mode())
			if s, ok := fi.Sys().(*syscall.Stat_t); ok {
				ino = s.Ino
			}
		}
		le.PutUint64(d[0:], i+1)
		le.PutUint64(d[8:], ino)
		le.PutUint32(d[16:], uint32(len(names[i])))
		d[20] = ft
		out = append(out, append(d, names[i]...)...)
	}
	if uint32(len(out)) > bufLen {
		out = out[:bufLen]
	}
	g.put(buf, out)
	g.putU32(uint32(p[4]), uint32(len(out)))
	return errSuccess
}

// --- paths (WEAKNESS 1-4: see resolve) ---

// path reads a guest path and resolves it against dirfd.
func (st *state) path(mod api.Module, dirfd, ptr, n uint64) (string, errno) {
	return st.resolve(uint32(dirfd), memOf(mod).str(uint32(ptr), uint32(n)))
}

// WASI oflags and fdflags path_open understands.
const (
	oflagCreat     = 1
	oflagDirectory = 2
	oflagExcl      = 4
	oflagTrunc     = 8
	fdflagAppend   = 1
)

// pathOpen opens whatever the guest names, following symlinks, read-write
// when the host allows it whatever rights were asked for, ignoring
// lookupflags and ReadOnly.
func (st *state) pathOpen(_ context.Context, mod api.Module, p []uint64) errno {
	host, e := st.path(mod, p[0], p[2], p[3])
	if e != errSuccess {
		return e
	}
	oflags, rights, fdflags := uint16(p[4]), p[5], uint16(p[7])
	refused, honest := st.shallowOpen(p[0], oflags, rights)
	if refused != errSuccess {
		return refused
	}
	flag := os.O_RDONLY
	switch r, w := rights&rightFdRead != 0, rights&rightFdWrite != 0; {
	case r && w:
		flag = os.O_RDWR
	case w:
		flag = os.O_WRONLY
	}
	for _, m := range []struct {
		bit  uint16
		flag int
	}{{oflagCreat, os.O_CREATE}, {oflagDirectory, syscall.O_DIRECTORY}, {oflagExcl, os.O_EXCL}, {oflagTrunc, os.O_TRUNC}} {
		if oflags&m.bit != 0 {
			flag |= m.flag
		}
	}
	if fdflags&fdflagAppend != 0 {
		flag |= os.O_APPEND
	}
	// WEAKNESS 3: the rights asked for do not limit the fd. A file is opened
	// read-write whenever the host allows it, so an fd asked for with FD_READ
	// alone writes; the asked mode is the fallback (directories, files the
	// host will not open for writing).
	var f *os.File
	err := os.ErrInvalid
	if !honest { // a ShallowReadOnly variant's file of a read-only preopen
		f, err = os.OpenFile(host, flag&^(os.O_RDONLY|os.O_WRONLY|os.O_RDWR)|os.O_RDWR, 0o644)
	}
	if err != nil {
		f, err = os.OpenFile(host, flag, 0o644)
	}
	if err != nil {
		return toErrno(err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return toErrno(err)
	}
	ent := &entry{kind: kindFile, host: host, file: f, fdflags: fdflags}
	if fi.IsDir() {
		ent.kind = kindDir
	}
	memOf(mod).putU32(uint32(p[8]), st.add(ent))
	return errSuccess
}

func (st *state) pathCreateDirectory(_ context.Context, mod api.Module, p []uint64) errno {
	if e := st.shallowRefuse(p[0]); e != errSuccess {
		return e
	}
	host, e := st.path(mod, p[0], p[1], p[2])
	if e != errSuccess {
		return e
	}
	return toErrno(os.Mkdir(host, 0o755))
}

func (st *state) pathRemoveDirectory(_ context.Context, mod api.Module, p []uint64) errno {
	if e := st.shallowRefuse(p[0]); e != errSuccess {
		return e
	}
	host, e := st.path(mod, p[0], p[1], p[2])
	if e != errSuccess {
		return e
	}
	return toErrno(syscall.Rmdir(host))
}

func (st *state) pathUnlinkFile(_ context.Context, mod api.Module, p []uint64) errno {
	if e := st.shallowRefuse(p[0]); e != errSuccess {
		return e
	}
	host, e := st.path(mod, p[0], p[1], p[2])
	if e != errSuccess {
		return e
	}
	return toErrno(syscall.Unlink(host))
}

// pathSymlink stores any target string, absolute or escaping.
func (st *state) pathSymlink(_ context.Context, mod api.Module, p []uint64) errno {
	if e := st.shallowRefuse(p[2]); e != errSuccess { // the destination alone
		return e
	}
	target := memOf(mod).str(uint32(p[0]), uint32(p[1]))
	host, e := st.path(mod, p[2], p[3], p[4])
	if e != errSuccess {
		return e
	}
	return toErrno(os.Symlink(target, host))
}

func (st *state) pathReadlink(_ context.Context, mod api.Module, p []uint64) errno {
	host, e := st.path(mod, p[0], p[1], p[2])
	if e != errSuccess {
		return e
	}
	target, err := os.Readlink(host)
	if err != nil {
		return toErrno(err)
	}
	g := memOf(mod)
	b := []byte(target)
	if n := uint32(p[4]); uint32(len(b)) > n {
		b = b[:n]
	}
	g.put(uint32(p[3]), b)
	g.putU32(uint32(p[5]), uint32(len(b)))
	return errSuccess
}

// pathFilestatGet honours SYMLINK_FOLLOW (bit 0), so links stat as links.
func (st *state) pathFilestatGet(_ context.Context, mod api.Module, p []uint64) errno {
	host, e := st.path(mod, p[0], p[2], p[3])
	if e != errSuccess {
		return e
	}
	stat := os.Lstat
	if p[1]&1 != 0 {
		stat = os.Stat
	}
	fi, err := stat(host)
	if err != nil {
		return toErrno(err)
	}
	memOf(mod).putFilestat(uint32(p[4]), fi)
	return errSuccess
}

func (st *state) pathFilestatSetTimes(_ context.Context, mod api.Module, p []uint64) errno {
	if e := st.shallowRefuse(p[0]); e != errSuccess {
		return e
	}
	host, e := st.path(mod, p[0], p[2], p[3])
	if e != errSuccess {
		return e
	}
	return setTimes(host, p[4], p[5], uint16(p[6]))
}

func (st *state) pathRename(_ context.Context, mod api.Module, p []uint64) errno {
	if e := st.shallowRefuse(p[3]); e != errSuccess { // the destination alone
		return e
	}
	from, e := st.path(mod, p[0], p[1], p[2])
	if e != errSuccess {
		return e
	}
	to, e := st.path(mod, p[3], p[4], p[5])
	if e != errSuccess {
		return e
	}
	return toErrno(syscall.Rename(from, to)) // os.Rename refuses to replace a directory
}

// pathLink ignores lookupflags: link(2) does not follow the source.
func (st *state) pathLink(_ context.Context, mod api.Module, p []uint64) errno {
	if e := st.shallowRefuse(p[4]); e != errSuccess { // the destination alone
		return e
	}
	from, e := st.path(mod, p[0], p[2], p[3])
	if e != errSuccess {
		return e
	}
	to, e := st.path(mod, p[4], p[5], p[6])
	if e != errSuccess {
		return e
	}
	return toErrno(os.Link(from, to))
}
