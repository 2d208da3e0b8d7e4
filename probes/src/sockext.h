/*
 * sockext.h: the socket EXTENSIONS some runtimes add to
 * wasi_snapshot_preview1 (sock_open, sock_bind, sock_connect, sock_listen,
 * name resolution), which preview 1 itself does not have. Two runtimes ship
 * two incompatible ABIs under the same names, so each gets a probe module of
 * its own (sockwasmedge.wasm, sockwamr.wasm) built from sockext.c, the ops,
 * and one of sockext_wasmedge.c / sockext_wamr.c, the ABI. See ../PROTOCOL.md.
 */
#ifndef SOCKEXT_H
#define SOCKEXT_H

#include "probe.h"

/* An out-of-bounds guest address (aligned, so no runtime answers for the
 * alignment instead of the bounds). */
#define OOB_PTR 0xFFFFFFF0u

/* Each ABI file implements these; every one returns the runtime's errno. */
__wasi_errno_t ext_open(__wasi_fd_t *fd); /* an IPv4 stream socket */
__wasi_errno_t ext_open_at(uint32_t fd_ptr); /* the same, fd written at a raw address */
__wasi_errno_t ext_bind(__wasi_fd_t fd, const uint8_t ip[4], uint16_t port);
__wasi_errno_t ext_connect(__wasi_fd_t fd, const uint8_t ip[4], uint16_t port);
__wasi_errno_t ext_connect_at(__wasi_fd_t fd, uint32_t addr_ptr, uint16_t port);
/* ext_bind_badbuf binds with an address whose bytes are out of bounds
 * (WasmEdge: the buffer the address struct points to; WAMR, whose address
 * struct holds the bytes: the struct itself). */
__wasi_errno_t ext_bind_badbuf(__wasi_fd_t fd, uint16_t port);
__wasi_errno_t ext_listen(__wasi_fd_t fd, uint32_t backlog);
__wasi_errno_t ext_accept(__wasi_fd_t fd, __wasi_fd_t *newfd);
/* ext_resolve_huge resolves "localhost" into room for one result while
 * telling the runtime there is room for max. */
__wasi_errno_t ext_resolve_huge(uint32_t max);
/* The name of the call each of the above makes. */
extern const char *const ext_call_open, *const ext_call_resolve;

#endif
