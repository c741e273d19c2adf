// Times the exported loops of firmament_bench_crypto.wasm in this Node's V8 and
// prints "name microseconds-per-call" lines. Usage: node run.mjs <wasm>
import { readFileSync } from "node:fs";

const bytes = readFileSync(process.argv[2]);
const module = await WebAssembly.compile(bytes);
const imports = {};
for (const imp of WebAssembly.Module.imports(module)) {
  imports[imp.module] ??= {};
  imports[imp.module][imp.name] = () => { throw new Error(`unexpected import ${imp.module}.${imp.name}`); };
}
const { exports } = await WebAssembly.instantiate(module, imports);

function time(name, fn, calls, digits = 0) {
  if (fn(1) !== 1) throw new Error(`${name} did not succeed`);
  const start = performance.now();
  const done = fn(calls);
  const elapsed = performance.now() - start;
  if (done !== calls) throw new Error(`${name}: ${done} of ${calls} succeeded`);
  console.log(`${name} ${((elapsed * 1000) / calls).toFixed(digits)}`);
}

time("argon2id_verify", exports.argon2_verify, 20);
time("token_verify", exports.token_verify, 2000);
time("webhook_sign", exports.webhook_sign, 20000);
time("flag_evaluate", exports.flag_evaluate, 200000, 2);
time("flag_snapshot_parse", exports.flag_snapshot_parse, 2000, 1);
