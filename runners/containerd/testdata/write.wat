;; creates out.txt in the directory fd 4 (the first preopen after "/") and
;; writes "written\n"; exits with path_open's errno, 100+fd_write's errno, or 0
(module
  (import "wasi_snapshot_preview1" "path_open" (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "out.txt")
  (data (i32.const 200) "written\n")
  (func (export "_start")
    (local $e i32)
    (local.set $e (call $path_open (i32.const 4) (i32.const 0) (i32.const 100) (i32.const 7)
      (i32.const 9) (i64.const 0x1fffffff) (i64.const 0) (i32.const 0) (i32.const 0)))
    (if (local.get $e) (then (call $proc_exit (local.get $e))))
    (i32.store (i32.const 16) (i32.const 200))
    (i32.store (i32.const 20) (i32.const 8))
    (local.set $e (call $fd_write (i32.load (i32.const 0)) (i32.const 16) (i32.const 1) (i32.const 24)))
    (if (local.get $e) (then (call $proc_exit (i32.add (i32.const 100) (local.get $e)))))
    (call $proc_exit (i32.const 0))))
