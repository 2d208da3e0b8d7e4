;; exit.wasm: proc_exit(N) where N is argv[1] in decimal: its leading digits,
;; modulo 2^32; 0 when argv[1] is missing or does not start with a digit.
(module
  (import "wasi_snapshot_preview1" "args_sizes_get"
    (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get"
    (func $args_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit"
    (func $proc_exit (param i32)))
  ;; 0: argc, 4: buffer size, 16..: argv pointers, then the strings.
  (memory (export "memory") 1)
  (func $arg1 (result i32) ;; address of argv[1], or 0
    (local $argc i32) (local $strs i32) (local $need i32)
    (if (call $args_sizes_get (i32.const 0) (i32.const 4))
      (then (return (i32.const 0))))
    (local.set $argc (i32.load (i32.const 0)))
    (if (i32.lt_u (local.get $argc) (i32.const 2))
      (then (return (i32.const 0))))
    (local.set $strs (i32.add (i32.const 16) (i32.shl (local.get $argc) (i32.const 2))))
    (local.set $need (i32.add (local.get $strs) (i32.load (i32.const 4))))
    (if (i32.gt_u (local.get $need) (i32.shl (memory.size) (i32.const 16)))
      (then
        (if (i32.eq (i32.const -1)
              (memory.grow (i32.sub (i32.shr_u (i32.add (local.get $need) (i32.const 65535)) (i32.const 16))
                                    (memory.size))))
          (then (return (i32.const 0))))))
    (if (call $args_get (i32.const 16) (local.get $strs))
      (then (return (i32.const 0))))
    (i32.load (i32.const 20)))
  (func (export "_start")
    (local $p i32) (local $n i32) (local $d i32)
    (local.set $p (call $arg1))
    (if (local.get $p)
      (then
        (block $done
          (loop $digits
            (local.set $d (i32.sub (i32.load8_u (local.get $p)) (i32.const 48)))
            (br_if $done (i32.gt_u (local.get $d) (i32.const 9)))
            (local.set $n (i32.add (i32.mul (local.get $n) (i32.const 10)) (local.get $d)))
            (local.set $p (i32.add (local.get $p) (i32.const 1)))
            (br $digits)))))
    (call $proc_exit (local.get $n))))
