;; writes 5 MiB to stderr (80 x 64 KiB), then traps: the shim's trap line
;; comes after the flood, past the runner's 4 MiB head of stderr.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  (func (export "_start")
    (local $i i32)
    (i32.store (i32.const 16) (i32.const 1024))
    (i32.store (i32.const 20) (i32.const 65536))
    (loop $l
      (drop (call $fd_write (i32.const 2) (i32.const 16) (i32.const 1) (i32.const 8)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 80))))
    unreachable))
