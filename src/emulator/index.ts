/** The emulator as a library, for the benchmark (dist/emulator/index.mjs). */
export { checkOtlp } from './check-otlp.js';
export { LambdaEmulator } from './emulator.js';
export { decodeOtlp } from './otlp-decode.js';
export { checkRaw, runScenario } from './scenario.js';
export { Sink } from './sink.js';
