;; create: creates made.cleanup in the last preopened directory with O_CREAT and
;; O_EXCL and writes "made\n" into it; exits 1 when the file already exists
;; or cannot be made.
(module
  (import "wasi_snapshot_preview1" "fd_prestat_get" (func $prestat_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "made.cleanup")
  (data (i32.const 96) "made\n")
  ;; $dir is the last preopened directory: the test's own, after any a
  ;; runtime adds by itself (wasmer adds "/"); 3 when there is none.
  (func $dir (result i32)
    (local $fd i32)
    (local.set $fd (i32.const 3))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $fd) (i32.const 64)))
        (br_if $done (call $prestat_get (local.get $fd) (i32.const 24)))
        (local.set $fd (i32.add (local.get $fd) (i32.const 1)))
        (br $next)))
    (if (result i32) (i32.gt_u (local.get $fd) (i32.const 3))
      (then (i32.sub (local.get $fd) (i32.const 1)))
      (else (i32.const 3))))
  (func (export "_start")
    ;; oflags: creat (1) | excl (4); rights: fd_write (1<<6) only
    (if (call $path_open (call $dir) (i32.const 0) (i32.const 64) (i32.const 12)
          (i32.const 5) (i64.const 64) (i64.const 0) (i32.const 0) (i32.const 20))
      (then (call $proc_exit (i32.const 1))))
    (i32.store (i32.const 0) (i32.const 96))
    (i32.store (i32.const 4) (i32.const 5))
    (if (call $fd_write (i32.load (i32.const 20)) (i32.const 0) (i32.const 1) (i32.const 8))
      (then (call $proc_exit (i32.const 1))))))
