// A tiny command-line WASI runtime over node:wasi, for testing the template
// machinery with a real interpreter:
//   node node-cli.js [--dir GUEST=HOST]... [--env K=V]... mod.wasm [--] args...
// A trap prints "wasm trap: <message>" and exits 134.
'use strict';
const fs = require('fs');
const { WASI } = require('wasi');
const argv = process.argv.slice(2);
const env = {}, preopens = {};
let i = 0;
for (; i < argv.length; i++) {
  const a = argv[i];
  if (a === '--dir') { const [g, h] = argv[++i].split('='); preopens[g] = h; }
  else if (a === '--env') { const kv = argv[++i]; const j = kv.indexOf('='); env[kv.slice(0, j)] = kv.slice(j + 1); }
  else break;
}
const mod = argv[i++];
if (argv[i] === '--') i++;
const args = [require('path').basename(mod), ...argv.slice(i)];
const wasi = new WASI({ version: 'preview1', args, env, preopens, returnOnExit: true });
try {
  const inst = new WebAssembly.Instance(new WebAssembly.Module(fs.readFileSync(mod)), wasi.getImportObject());
  process.exit(wasi.start(inst) & 0xff);
} catch (e) {
  if (e instanceof WebAssembly.RuntimeError) { process.stderr.write('wasm trap: ' + e.message + '\n'); process.exit(134); }
  process.stderr.write('node-cli: ' + e.message + '\n');
  process.exit(1);
}
