;; cat: opens argv[1] relative to the last preopened directory for reading and
;; writes up to 64 KiB of it to stdout. A file it cannot open is no error:
;; it writes nothing and exits 0.
(module
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $sizes (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func $get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_prestat_get" (func $prestat_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  ;; 0: argc, 4: buffer size, 8: iovec, 16: count, 20: opened fd, 24: prestat,
  ;; 1024..16384: pointers, 16384..65536: the strings, 65536..131072: data.
  (memory (export "memory") 2)
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
    (local $p i32) (local $len i32)
    (if (call $sizes (i32.const 0) (i32.const 4)) (then return))
    (if (i32.or (i32.gt_u (i32.load (i32.const 0)) (i32.const 3840))
                (i32.gt_u (i32.load (i32.const 4)) (i32.const 49152)))
      (then return))
    (if (i32.lt_u (i32.load (i32.const 0)) (i32.const 2)) (then return))
    (if (call $get (i32.const 1024) (i32.const 16384)) (then return))
    (local.set $p (i32.load (i32.const 1028)))
    (block $done
      (loop $next
        (br_if $done (i32.eqz (i32.load8_u (i32.add (local.get $p) (local.get $len)))))
        (local.set $len (i32.add (local.get $len) (i32.const 1)))
        (br $next)))
    ;; rights: fd_read (1<<1) only
    (if (call $path_open (call $dir) (i32.const 0) (local.get $p) (local.get $len)
          (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 20))
      (then return))
    (i32.store (i32.const 8) (i32.const 65536))
    (i32.store (i32.const 12) (i32.const 65536))
    (if (call $fd_read (i32.load (i32.const 20)) (i32.const 8) (i32.const 1) (i32.const 16))
      (then return))
    (i32.store (i32.const 12) (i32.load (i32.const 16)))
    (drop (call $fd_write (i32.const 1) (i32.const 8) (i32.const 1) (i32.const 16)))))
