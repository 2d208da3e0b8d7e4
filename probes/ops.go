package probes

// The ops a probe takes on its command line, one constant per row of the op
// tables in src/fs.c and src/sock.c and of PROTOCOL.md (TestOpsMatchSources
// keeps the three in step). Specs build their steps from these names.
const (
	// fs.wasm
	OpPreopens   = "preopens"
	OpOpen       = "open"
	OpOpenRights = "open-rights"
	OpWrite      = "write"
	OpMkdir      = "mkdir"
	OpRmdir      = "rmdir"
	OpUnlink     = "unlink"
	OpSymlink    = "symlink"
	OpReadlink   = "readlink"
	OpStat       = "stat"
	OpRename     = "rename"
	OpLink       = "link"
	OpLibcOpen   = "libc-open"
	OpEnv        = "env"
	OpArgs       = "args"
	OpFdstat     = "fdstat"

	// fs.wasm: fd management and stdio (src/fs_fd.c)
	OpClosePreopen  = "close-preopen"
	OpRenumberOver  = "renumber-over"
	OpRenumberEdge  = "renumber-edge"
	OpRenumberStdio = "renumber-stdio"
	OpScan          = "scan"
	OpSync          = "sync"
	OpStdio         = "stdio"
	OpStdioRenumber = "stdio-renumber"
	OpCloseStdout   = "close-stdout"

	// proc.wasm
	OpRaise = "raise"
	OpAlive = "alive"

	// sock.wasm
	OpAccept   = "accept"
	OpRecv     = "recv"
	OpSend     = "send"
	OpShutdown = "shutdown"
	OpEcho     = "echo"
)

// Ops lists every op, for checks against the sources.
var Ops = []string{
	OpPreopens, OpOpen, OpOpenRights, OpWrite, OpMkdir, OpRmdir, OpUnlink, OpSymlink, OpReadlink,
	OpStat, OpRename, OpLink, OpLibcOpen, OpEnv, OpArgs, OpFdstat,
	OpAccept, OpRecv, OpSend, OpShutdown, OpEcho,
	OpClosePreopen, OpRenumberOver, OpRenumberEdge, OpRenumberStdio, OpScan, OpSync, OpStdio,
	OpStdioRenumber, OpCloseStdout, OpRaise, OpAlive,
}

// The op names of records that an op prints for one of its calls rather
// than for the step itself (Line.Op): env and args print one record per
// WASI call, echo one per stage, and a bad command line one usage record.
const (
	LineEnvironSizesGet = "environ_sizes_get"
	LineEnvironGet      = "environ_get"
	LineArgsSizesGet    = "args_sizes_get"
	LineArgsGet         = "args_get"
	LineFind            = "find"
	LineSockAccept      = "sock_accept"
	LineSockRecv        = "sock_recv"
	LineSockSend        = "sock_send"
	LineSockShutdown    = "sock_shutdown"
	LineUsage           = "usage"
)
