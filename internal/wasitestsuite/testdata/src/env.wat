;; env: writes every environment variable, one KEY=VALUE per line.
(module
  (import "wasi_snapshot_preview1" "environ_sizes_get" (func $sizes (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_get" (func $get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  ;; 0: count, 4: buffer size, 8: iovec, 16: nwritten,
  ;; 1024..16384: pointers, 16384..: the strings.
  (memory (export "memory") 8)
  (func (export "_start")
    (local $i i32) (local $n i32)
    (if (call $sizes (i32.const 0) (i32.const 4)) (then return))
    (local.set $n (i32.load (i32.const 4)))
    ;; refuse what does not fit rather than trap
    (if (i32.or (i32.gt_u (i32.load (i32.const 0)) (i32.const 3840))
                (i32.gt_u (local.get $n) (i32.const 475136)))
      (then return))
    (if (call $get (i32.const 1024) (i32.const 16384)) (then return))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (if (i32.eqz (i32.load8_u (i32.add (i32.const 16384) (local.get $i))))
          (then (i32.store8 (i32.add (i32.const 16384) (local.get $i)) (i32.const 10))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (i32.store (i32.const 8) (i32.const 16384))
    (i32.store (i32.const 12) (local.get $n))
    (drop (call $fd_write (i32.const 1) (i32.const 8) (i32.const 1) (i32.const 16)))))
