;; trap.wasm: traps at once with `unreachable` (trap reporting).
(module
  (memory (export "memory") 1)
  (func (export "_start")
    unreachable))
