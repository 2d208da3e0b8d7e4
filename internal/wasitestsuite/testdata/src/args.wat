;; args: writes every argument after argv[0], one per line.
(module
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $sizes (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func $get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  ;; 0: argc, 4: buffer size, 8: iovec, 16: nwritten,
  ;; 1024..16384: pointers, 16384..: the strings.
  (memory (export "memory") 8)
  (func (export "_start")
    (local $i i32) (local $end i32)
    (if (call $sizes (i32.const 0) (i32.const 4)) (then return))
    (if (i32.or (i32.gt_u (i32.load (i32.const 0)) (i32.const 3840))
                (i32.gt_u (i32.load (i32.const 4)) (i32.const 475136)))
      (then return))
    (if (i32.lt_u (i32.load (i32.const 0)) (i32.const 2)) (then return))
    (if (call $get (i32.const 1024) (i32.const 16384)) (then return))
    (local.set $end (i32.add (i32.const 16384) (i32.load (i32.const 4))))
    ;; from argv[1] to the end of the strings, NUL becomes a newline
    (local.set $i (i32.load (i32.const 1028)))
    (i32.store (i32.const 8) (local.get $i))
    (i32.store (i32.const 12) (i32.sub (local.get $end) (local.get $i)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        (if (i32.eqz (i32.load8_u (local.get $i)))
          (then (i32.store8 (local.get $i) (i32.const 10))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (drop (call $fd_write (i32.const 1) (i32.const 8) (i32.const 1) (i32.const 16)))))
