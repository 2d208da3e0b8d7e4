/*
 * fs_links.h: the ops of fs_links.c (named fds, rights changes, fd I/O),
 * listed in fs.c's op table. See ../PROTOCOL.md, "Named fds and rights".
 */
#ifndef FS_LINKS_H
#define FS_LINKS_H

#include "probe.h"

void op_opendir(const step_t *s);
void op_openfd(const step_t *s);
void op_set_rights(const step_t *s);
void op_fd_read(const step_t *s);
void op_fd_write(const step_t *s);
void op_fd_truncate(const step_t *s);
void op_fdrights(const step_t *s);

#endif
