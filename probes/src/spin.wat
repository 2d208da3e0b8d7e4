;; spin.wasm: loops forever without calling the host (timeout handling).
(module
  (memory (export "memory") 1)
  (func (export "_start")
    (loop $forever
      (br $forever))))
