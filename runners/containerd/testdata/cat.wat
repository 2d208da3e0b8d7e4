;; copies stdin to stdout
(module
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (block $done (loop $l
      (i32.store (i32.const 16) (i32.const 1024))
      (i32.store (i32.const 20) (i32.const 4096))
      (br_if $done (call $fd_read (i32.const 0) (i32.const 16) (i32.const 1) (i32.const 8)))
      (br_if $done (i32.eqz (i32.load (i32.const 8))))
      (i32.store (i32.const 20) (i32.load (i32.const 8)))
      (drop (call $fd_write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 8)))
      (br $l)))))
