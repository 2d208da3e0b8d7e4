;; grow.wasm [big]: grows its memory 1 MiB (16 pages) at a time, or 128 MiB
;; (2048 pages) when given any argument (two grows: a runtime that copies its
;; memory on each grow stays fast), up to 256 MiB,
;; writing to every 4 KiB page it gets (so the host really backs it), until
;; memory.grow fails; then prints one line and exits 0:
;;   "grow: N MiB, memory.grow failed\n"   or   "grow: N MiB, cap reached\n"
;; N counts the MiB grown beyond the initial page (memory limits).
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_sizes_get"
    (func $args_sizes_get (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  ;; 0: iovec; 8: nwritten; 64: the line being built
  (data (i32.const 256) " MiB, memory.grow failed\n")
  (data (i32.const 288) " MiB, cap reached\n")
  (data (i32.const 320) "grow: ")

  ;; $emit writes len bytes at ptr to stdout.
  (func $emit (param $ptr i32) (param $len i32)
    (i32.store (i32.const 0) (local.get $ptr))
    (i32.store (i32.const 4) (local.get $len))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))

  ;; $num writes n in decimal.
  (func $num (param $n i32)
    (local $p i32)
    (local.set $p (i32.const 96))
    (loop $digits
      (local.set $p (i32.sub (local.get $p) (i32.const 1)))
      (i32.store8 (local.get $p) (i32.add (i32.const 48) (i32.rem_u (local.get $n) (i32.const 10))))
      (local.set $n (i32.div_u (local.get $n) (i32.const 10)))
      (br_if $digits (i32.ne (local.get $n) (i32.const 0))))
    (call $emit (local.get $p) (i32.sub (i32.const 96) (local.get $p))))

  (func (export "_start")
    (local $mib i32)
    (local $old i32)
    (local $a i32)
    (local $end i32)
    (local $step i32)
    ;; argc at 16, argv_buf size at 20: an argument past argv[0] picks big steps
    (local.set $step (i32.const 1))
    (drop (call $args_sizes_get (i32.const 16) (i32.const 20)))
    (if (i32.gt_u (i32.load (i32.const 16)) (i32.const 1))
      (then (local.set $step (i32.const 128))))
    (block $stop
      (loop $grow
        (br_if $stop (i32.ge_u (local.get $mib) (i32.const 256)))
        (local.set $old (memory.grow (i32.mul (local.get $step) (i32.const 16))))
        (if (i32.eq (local.get $old) (i32.const -1))
          (then
            (call $emit (i32.const 320) (i32.const 6))
            (call $num (local.get $mib))
            (call $emit (i32.const 256) (i32.const 25))
            (return)))
        ;; touch every 4 KiB page of the new step
        (local.set $a (i32.mul (local.get $old) (i32.const 65536)))
        (local.set $end (i32.add (local.get $a) (i32.mul (local.get $step) (i32.const 1048576))))
        (loop $touch
          (i32.store8 (local.get $a) (i32.const 1))
          (local.set $a (i32.add (local.get $a) (i32.const 4096)))
          (br_if $touch (i32.lt_u (local.get $a) (local.get $end))))
        (local.set $mib (i32.add (local.get $mib) (local.get $step)))
        (br $grow)))
    (call $emit (i32.const 320) (i32.const 6))
    (call $num (local.get $mib))
    (call $emit (i32.const 288) (i32.const 18))))
