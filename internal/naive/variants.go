package naive

// Variants: the naive runtime with one further, narrower mistake each, for
// the negative controls of specs that the plain naive runtime fails for
// other reasons as well (or passes, since it implements no rights at all).
// NOT A SANDBOX, like the rest of this package.

import (
	"context"
	"strings"

	"github.com/tetratelabs/wazero/api"

	"github.com/wasicert/wasicert/runners"
)

// Options selects a variant's extra behaviour; the zero value is New().
type Options struct {
	// ShallowReadOnly honours Preopen.ReadOnly on the preopen's own fd only,
	// the wasmtime-class mistake (GHSA-4ch3-9j33-3pmj): a path_* call that
	// changes something, or a path_open that creates, truncates or asks for
	// FD_WRITE, is refused with PERM when its directory fd is a read-only
	// preopen; path_link and path_rename look at the destination fd alone.
	// A directory opened from the read-only preopen (path_open of "." or of
	// a subdirectory) is not read-only: everything works through it. Files
	// opened from the preopen itself get the mode they asked for.
	ShallowReadOnly bool
	// RightsUnenforced makes fd_fdstat_set_rights succeed for any rights,
	// added ones included, and fd_fdstat_get report what was set, but
	// nothing ever checks them: a dropped FD_WRITE still writes.
	RightsUnenforced bool
	// NarrowDirRights makes every directory fd report base rights
	// PATH_OPEN|FD_READDIR and inheriting rights FD_READ|FD_SEEK alone, as
	// wasmtime once did (#6463): wasi-libc then cannot create or write.
	NarrowDirRights bool
}

// NewVariant returns the naive runner with the extra weaknesses of o.
// NOT A SANDBOX: for tests only.
func NewVariant(o Options) *Runner { return &Runner{opts: o} }

// name is the runner's name: "naive", plus the variant's weaknesses.
func (o Options) name() string {
	var w []string
	if o.ShallowReadOnly {
		w = append(w, "read-only on the preopen fd only")
	}
	if o.RightsUnenforced {
		w = append(w, "rights recorded, never enforced")
	}
	if o.NarrowDirRights {
		w = append(w, "narrow directory rights")
	}
	if len(w) == 0 {
		return Name
	}
	return Name + " (" + strings.Join(w, ", ") + ")"
}

// vary applies the variant's options to a new state.
func (st *state) vary(o Options, inv runners.Invocation) {
	st.opts = o
	if !o.ShallowReadOnly {
		return
	}
	st.roFds = map[uint32]bool{}
	for i, p := range inv.Preopens {
		if p.ReadOnly {
			st.roFds[uint32(3+i)] = true
		}
	}
}

// variant replaces f's implementation where the variant has its own.
func (st *state) variant(f function) function {
	if f.name == "fd_fdstat_set_rights" && st.opts.RightsUnenforced {
		f.fn = (*state).fdFdstatSetRights
	}
	return f
}

// rightsOf is what fd_fdstat_get reports for e (WEAKNESS 3: everything,
// unless a variant says otherwise).
func (st *state) rightsOf(e *entry) (base, inheriting uint64) {
	switch {
	case e.rights != nil:
		return e.rights[0], e.rights[1]
	case st.opts.NarrowDirRights && e.kind == kindDir:
		return rightPathOpen | rightFdReaddir, rightFdRead | rightFdSeek
	}
	return allRights, allRights
}

// Rights bits the variants use.
const (
	rightFdSeek    uint64 = 1 << 2
	rightPathOpen  uint64 = 1 << 13
	rightFdReaddir uint64 = 1 << 14
)

// fdFdstatSetRights (RightsUnenforced) records any rights and enforces none.
func (st *state) fdFdstatSetRights(_ context.Context, _ api.Module, p []uint64) errno {
	e := st.fds[uint32(p[0])]
	if e == nil {
		return errBadf
	}
	e.rights = &[2]uint64{p[1], p[2]}
	return errSuccess
}

// shallowRefuse (ShallowReadOnly) refuses a change through a read-only
// preopen's own fd; any other fd, a directory derived from it included,
// passes.
func (st *state) shallowRefuse(dirfd uint64) errno {
	if st.roFds[uint32(dirfd)] {
		return errPerm
	}
	return errSuccess
}

// shallowOpen (ShallowReadOnly) refuses path_open through a read-only
// preopen's own fd when it would create, truncate or write; honest says
// the file must get the mode it asked for, not read-write.
func (st *state) shallowOpen(dirfd uint64, oflags uint16, rights uint64) (e errno, honest bool) {
	if !st.roFds[uint32(dirfd)] {
		return errSuccess, false
	}
	if oflags&(oflagCreat|oflagTrunc) != 0 || rights&rightFdWrite != 0 {
		return errPerm, true
	}
	return errSuccess, true
}
