/* fs_fd.h: the fd management and stdio ops of fs.wasm (fs_fd.c). */
#ifndef FS_FD_H
#define FS_FD_H

#include "probe.h"

void op_close_preopen(const step_t *s);
void op_renumber_over(const step_t *s);
void op_renumber_edge(const step_t *s);
void op_renumber_stdio(const step_t *s);
void op_scan(const step_t *s);
void op_sync(const step_t *s);
void op_stdio(const step_t *s);
void op_stdio_renumber(const step_t *s);
void op_close_stdout(const step_t *s);

#endif
