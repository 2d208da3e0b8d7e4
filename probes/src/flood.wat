;; flood.wasm: writes a 64 KiB buffer to stdout forever, ignoring errors
;; (output bounds). The buffer is lines of dots; it is filled at run time so
;; the module stays small.
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  ;; page 0: the buffer; page 1: the iovec at 65536 and nwritten at 65544.
  (memory (export "memory") 2)
  (func (export "_start")
    (local $p i32)
    (loop $fill
      (i64.store (local.get $p) (i64.const 0x0a2e2e2e2e2e2e2e)) ;; ".......\n"
      (local.set $p (i32.add (local.get $p) (i32.const 8)))
      (br_if $fill (i32.lt_u (local.get $p) (i32.const 65536))))
    (i32.store (i32.const 65536) (i32.const 0))
    (i32.store (i32.const 65540) (i32.const 65536))
    (loop $forever
      (drop (call $fd_write (i32.const 1) (i32.const 65536) (i32.const 1) (i32.const 65544)))
      (br $forever))))
