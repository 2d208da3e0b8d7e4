/*
 * proc.c: the process probe (proc.wasm): proc_raise, kept out of fs.wasm so
 * that a runtime without it still runs every other probe. See ../PROTOCOL.md.
 */
#include "probe.h"

__attribute__((import_module("wasi_snapshot_preview1"), import_name("proc_raise")))
__wasi_errno_t proc_raise(uint32_t sig);

/* raise: check sig. sig is a WASI signal number (typenames.witx: kill 9,
 * term 15, stop 18). */
static void op_raise(const step_t *s) {
	emit_err(s, "proc_raise", proc_raise((uint32_t)s->arg[0].num));
}

/* alive: check. Prints one record: the probe still runs. */
static void op_alive(const step_t *s) {
	emit(s, &(rec_t){.err = __WASI_ERRNO_SUCCESS});
}

const op_t probe_ops[] = {
	{"raise", "n", op_raise},
	{"alive", "", op_alive},
};
const size_t probe_nops = sizeof probe_ops / sizeof *probe_ops;
