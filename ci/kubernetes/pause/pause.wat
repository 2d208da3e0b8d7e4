;; A pod sandbox's "pause" process for a wasm runtime handler: it sleeps in
;; poll_oneoff, one second at a time, until it is killed. A handler whose
;; shim runs the sandbox container like any other container (ours, today)
;; then runs no Linux code for the sandbox. Build: wat2wasm pause.wat.
(module
  (import "wasi_snapshot_preview1" "poll_oneoff"
    (func $poll_oneoff (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  ;; One subscription at 0 (48 bytes): userdata 0, tag 0 (clock) at 8,
  ;; clock id 1 (monotonic) at 16, timeout 1 s at 24, precision 0 at 32,
  ;; flags 0 (relative) at 40. The event goes to 64, the count to 128.
  (func (export "_start")
    (i32.store (i32.const 16) (i32.const 1))
    (i64.store (i32.const 24) (i64.const 1000000000))
    (loop $sleep
      (drop (call $poll_oneoff (i32.const 0) (i32.const 64) (i32.const 1) (i32.const 128)))
      (br $sleep))))
