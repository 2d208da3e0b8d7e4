// wasicert launcher for a preview-1 module adapted into a WASI 0.2 component
// by jco and run on @bytecodealliance/preview2-shim in Node.js.
//
//   node --no-warnings launcher.mjs INSTANTIATION.js COMPONENT.js JOB.json
//
// INSTANTIATION.js is the shim's dist/common/instantiation.js (WASIShim);
// COMPONENT.js is the module's component, transpiled by `jco transpile
// --instantiation async` (its core modules beside it). JOB.json is a wasicert
// process.Job: {module, args, env, preopens, listeners}.
//
// The guest gets exactly args, env and preopens through WASIShim's sandbox
// configuration (jco PR #1213): process.env, process.argv and the host's
// filesystem are never passed, and the network is switched off. stdin,
// stdout and stderr are the guest's. One JSON report goes to fd 3:
//   {"ended":"exit","exit_code":N}   run returned (0), or wasi:cli/exit ended
//                                    the process with N (what the shim chose)
//   {"ended":"trap","detail":"..."}  WebAssembly.RuntimeError, or a RangeError
//                                    for the call stack; exit status 134
//   {"ended":"error","detail":"..."} could not load or instantiate; exit 2
//   {"ended":"crash","detail":"..."} another exception from the host; exit 70
import fs from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { pathToFileURL } from 'node:url';

function report(o) {
  try { fs.writeSync(3, JSON.stringify(o) + '\n'); } catch (e) { /* no report pipe */ }
}
function message(e) {
  return (e && e.message) ? String(e.message) : String(e);
}
function fail(detail) {
  report({ ended: 'error', detail });
  process.stderr.write('wasicert jco launcher: ' + detail + '\n');
  process.exit(2);
}

const [instantiationJS, componentJS, jobPath] = process.argv.slice(-3);
let job;
try {
  job = JSON.parse(fs.readFileSync(jobPath, 'utf8'));
} catch (e) {
  fail('job: ' + message(e));
}
if ((job.listeners || []).length > 0) fail('listeners are not supported by the preview2-shim runner');

// Null-prototype objects: a key such as "__proto__" is a key like any other.
const env = Object.create(null);
for (const kv of job.env || []) {
  const i = kv.indexOf('=');
  env[kv.slice(0, i)] = kv.slice(i + 1);
}
const preopens = Object.create(null);
for (const p of job.preopens || []) {
  // preview2-shim's Node filesystem has no read-only preopens: refuse
  // rather than grant write.
  if (p.readonly) fail('read-only preopen ' + p.guest + ': not supported by preview2-shim');
  if (p.guest in preopens) fail('preopen ' + p.guest + ' granted twice: preview2-shim keys preopens by guest path');
  preopens[p.guest] = p.host;
}

let WASIShim, instantiate;
try {
  ({ WASIShim } = await import(pathToFileURL(instantiationJS).href));
  ({ instantiate } = await import(pathToFileURL(componentJS).href));
} catch (e) {
  fail('load: ' + message(e));
}

let imports;
try {
  const shim = new WASIShim({
    sandbox: { preopens, env, args: job.args || [], enableNetwork: false },
  });
  imports = shim.getImportObject();
} catch (e) {
  fail('WASIShim: ' + message(e));
}

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
  process.stderr.write('wasicert jco launcher: host exception: ' + (e && e.stack ? e.stack : message(e)) + '\n');
  process.exit(70);
}

const dir = path.dirname(componentJS);
const getCoreModule = (name) => WebAssembly.compile(fs.readFileSync(path.join(dir, name)));

// The preview-1 adapter's proc_exit calls wasi:cli/exit, and the shim ends
// the process there (process.exit). Report that exit, and only that one, as
// the guest's: its status is what the shim made of the guest's code.
let inGuest = false;
process.on('exit', (c) => {
  if (inGuest) report({ ended: 'exit', exit_code: c });
});

let instance;
try {
  inGuest = true;
  instance = await instantiate(getCoreModule, imports);
} catch (e) {
  inGuest = false;
  if (isTrap(e)) trapOrCrash(e); // a start function trapped
  fail('instantiate: ' + message(e));
}
inGuest = false;
const run = instance && instance.run;
if (!run || typeof run.run !== 'function') fail('the component exports no wasi:cli/run');

try {
  inGuest = true;
  run.run();
} catch (e) {
  inGuest = false;
  // run returned its error variant: the guest failed, as `jco run` reports it (exit 1).
  if (e && e.constructor && e.constructor.name === 'ComponentError') {
    report({ ended: 'exit', exit_code: 1 });
    process.exit(1);
  }
  trapOrCrash(e);
}
inGuest = false;
report({ ended: 'exit', exit_code: 0 });
process.exit(0);
