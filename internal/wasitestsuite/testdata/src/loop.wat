;; loop: never ends; only the runner's timeout stops it.
(module
  (memory (export "memory") 1)
  (func (export "_start") (loop $forever (br $forever))))
