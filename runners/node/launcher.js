// wasicert launcher for node:wasi (Node.js) and Bun's node:wasi.
//
//   node --no-warnings launcher.js JOB.json
//   bun launcher.js JOB.json
//
// JOB.json is a wasicert process.Job: {module, args, env, preopens, listeners}.
// The guest gets exactly args, env and preopens: process.env is never passed.
// stdin, stdout and stderr are the guest's. One JSON report goes to fd 3:
//   {"ended":"exit","exit_code":N}   returned / proc_exit(N); exit status N&255
//   {"ended":"trap","detail":"..."}  WebAssembly.RuntimeError, or a RangeError
//                                    for the call stack (a guest stack
//                                    overflow); exit status 134
//   {"ended":"error","detail":"..."} could not compile or instantiate; exit 2
//   {"ended":"crash","detail":"..."} another exception from the runtime; exit 70
'use strict';
const fs = require('fs');
const { WASI } = require('wasi');

function report(o) {
  try { fs.writeSync(3, JSON.stringify(o) + '\n'); } catch (e) { /* no report pipe */ }
}
function fail(detail) {
  report({ ended: 'error', detail });
  process.stderr.write('wasicert launcher: ' + detail + '\n');
  process.exit(2);
}
function message(e) {
  return (e && e.message) ? String(e.message) : String(e);
}

let job;
try {
  job = JSON.parse(fs.readFileSync(process.argv[process.argv.length - 1], 'utf8'));
} catch (e) {
  fail('job: ' + message(e));
}
if ((job.listeners || []).length > 0) fail('listeners are not supported by node:wasi');

// Null-prototype objects: a key such as "__proto__" is a key like any other.
const env = Object.create(null);
for (const kv of job.env || []) {
  const i = kv.indexOf('=');
  env[kv.slice(0, i)] = kv.slice(i + 1);
}
const preopens = Object.create(null);
for (const p of job.preopens || []) {
  // node:wasi has no read-only preopens; refuse rather than grant write.
  if (p.readonly) fail('read-only preopen ' + p.guest + ': not supported by node:wasi');
  preopens[p.guest] = p.host;
}

let wasi, mod, inst;
try {
  wasi = new WASI({ version: 'preview1', args: job.args || [], env, preopens, returnOnExit: true });
} catch (e) {
  fail('WASI: ' + message(e));
}
try {
  mod = new WebAssembly.Module(fs.readFileSync(job.module));
} catch (e) {
  fail('compile: ' + message(e));
}
// Bun's WASI has no getImportObject.
const imports = typeof wasi.getImportObject === 'function'
  ? wasi.getImportObject()
  : { wasi_snapshot_preview1: wasi.wasiImport };

// A trap: a WebAssembly.RuntimeError, or V8's and JavaScriptCore's
// "RangeError: Maximum call stack size exceeded" for a guest stack overflow.
function isTrap(e) {
  return e instanceof WebAssembly.RuntimeError || (e instanceof RangeError && /call stack/i.test(message(e)));
}

function trapOrCrash(e) {
  if (isTrap(e)) {
    report({ ended: 'trap', detail: message(e) });
    process.stderr.write('wasm trap: ' + message(e) + '\n');
    process.exit(134);
  }
  report({ ended: 'crash', detail: 'host exception: ' + message(e) });
  process.stderr.write('wasicert launcher: host exception: ' + (e && e.stack ? e.stack : message(e)) + '\n');
  process.exit(70);
}

try {
  inst = new WebAssembly.Instance(mod, imports);
} catch (e) {
  if (isTrap(e)) trapOrCrash(e); // start function trapped
  fail('instantiate: ' + message(e));
}
// Bun ignores returnOnExit: proc_exit(N) calls process.exit(N) from inside
// start(). Report that exit, and only that one, as the guest's.
let inStart = false;
process.on('exit', (c) => {
  if (inStart) report({ ended: 'exit', exit_code: c });
});
let code;
try {
  inStart = true;
  code = wasi.start(inst);
} catch (e) {
  inStart = false;
  trapOrCrash(e);
}
inStart = false;
if (typeof code !== 'number') code = 0;
report({ ended: 'exit', exit_code: code });
process.exit(code & 0xff);
