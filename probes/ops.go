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
	// fs.wasm, fs_links.c: named fds, rights, fd I/O
	OpOpendir    = "opendir"
	OpOpenFD     = "openfd"
	OpSetRights  = "set-rights"
	OpFDRead     = "fd-read"
	OpFDWrite    = "fd-write"
	OpFDTruncate = "fd-truncate"
	OpFDRights   = "fdrights"

	// fs.wasm, path traversal (src/fs_path.c)
	OpOpenBytes  = "open-bytes"
	OpOpenRepeat = "open-repeat"
	OpOpenAt     = "open-at"

	// fs.wasm, symlink ops (src/fs_symlink.c)
	OpLoopOpen    = "loop-open"
	OpReadlinkBuf = "readlink-buf"

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

	// clock.wasm
	OpClockRes  = "clock-res"
	OpClockTime = "clock-time"
	OpClockMono = "clock-mono"
	OpRandom    = "random"
	OpRandomAt  = "random-at"
	OpPollNone  = "poll-none"
	OpPollRel   = "poll-rel"
	OpPollAbs   = "poll-abs"
	OpPollFile  = "poll-file"
	OpPollBadFD = "poll-badfd"
	OpSleeps    = "sleeps"
	OpYield     = "yield"

	// res.wasm
	OpFlood        = "flood"
	OpFDExhaust    = "fd-exhaust"
	OpRenumberLoop = "renumber-loop"
	OpIovecs       = "iovecs"
	OpReaddirPad   = "readdir-pad"
	OpSetTimes     = "set-times"
	OpStatTimes    = "stat-times"
	OpEdge         = "edge"
	// OpAcceptNB: sock_accept(listener, NONBLOCK) once, with no client.
	OpAcceptNB = "accept-nb"
	// OpPeek: sock_recv with RECV_PEEK, then plain, sock_send, sock_shutdown.
	OpPeek = "peek"

	// sockwasmedge.wasm and sockwamr.wasm (socket extensions)
	OpExtConnect = "ext-connect"
	OpExtListen  = "ext-listen"
	OpExtBad     = "ext-bad"

	// det.wasm (src/det.c): determinism probes, one record per result.
	OpNaN     = "nan"
	OpNaNBits = "nan-bits"
	OpFloat   = "float"
	OpInt     = "int"
	OpTrap    = "trap"
	OpMemory  = "memory"
	OpEndian  = "endian"
)

// Ops lists every op, for checks against the sources.
var Ops = []string{
	OpPreopens, OpOpen, OpOpenRights, OpWrite, OpMkdir, OpRmdir, OpUnlink, OpSymlink, OpReadlink,
	OpStat, OpRename, OpLink, OpLibcOpen, OpEnv, OpArgs, OpFdstat,
	OpOpendir, OpOpenFD, OpSetRights, OpFDRead, OpFDWrite, OpFDTruncate, OpFDRights,
	OpOpenBytes, OpOpenRepeat, OpOpenAt,
	OpAccept, OpRecv, OpSend, OpShutdown, OpEcho,
	OpClockRes, OpClockTime, OpClockMono, OpRandom, OpRandomAt, OpPollNone, OpPollRel, OpPollAbs,
	OpPollFile, OpPollBadFD, OpSleeps, OpYield,
	OpFlood, OpFDExhaust, OpRenumberLoop, OpIovecs, OpReaddirPad, OpSetTimes, OpStatTimes, OpEdge,
	OpLoopOpen, OpReadlinkBuf,
	OpAcceptNB, OpPeek, OpExtConnect, OpExtListen, OpExtBad,
	OpClosePreopen, OpRenumberOver, OpRenumberEdge, OpRenumberStdio, OpScan, OpSync, OpStdio,
	OpStdioRenumber, OpCloseStdout, OpRaise, OpAlive,
	OpNaN, OpNaNBits, OpFloat, OpInt, OpTrap, OpMemory, OpEndian,
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
	// LineLoopRead is loop-open's record of one read that differed from
	// the expected bytes.
	LineLoopRead = "loop-read"
	// Records of the peek op (sock.wasm).
	LineFdstatSetFlags     = "fd_fdstat_set_flags"
	LineSockRecvPeek       = "sock_recv_peek"
	LineSockShutdownRDWR   = "sock_shutdown_rdwr"
	LineSockRecvAfter      = "sock_recv_after"
	LineSockShutdownStdout = "sock_shutdown_stdout"
)
