/**
 * The tensor runtime: tfjs on the wasm backend (XNNPACK + SIMD), initialised once.
 * Importing this module (not '@tensorflow/tfjs-core' directly) guarantees gradients are
 * registered, including Aegis's fast Conv2D, MaxPool and MatMul gradients and its wasm kernel
 * replacements (conv-gradients.ts, pool-gradients.ts, matmul-gradients.ts, wasm-kernels.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
// tfjs-core's own register_all_gradients / register_all_chained_ops are ESM-only files that
// Node cannot load (extensionless and directory imports). tfjs-layers' CommonJS bundle
// registers the same stock gradients on import; load it here so they are always registered
// before Aegis's own Conv2D gradient replaces the stock one. Chained ops stay unregistered:
// use the functional ops (tf.reshape(x, s)).
import '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { registerConvGradients } from './conv-gradients.js';
import { registerMatMulGradients } from './matmul-gradients.js';
import { registerPoolGradients } from './pool-gradients.js';
import { registerWasmKernels } from './wasm-kernels.js';

export { tf };

export type BackendName = 'wasm' | 'cpu';

let ready: Promise<BackendName> | undefined;

/**
 * Starts the runtime once (later calls return the same promise). Prefers wasm; if it
 * cannot start, falls back to the pure-JS cpu backend with one warning.
 * AEGIS_BACKEND=cpu forces the cpu backend (used by tests that compare backends).
 */
export function initRuntime(preferred?: BackendName): Promise<BackendName> {
  ready ??= start(preferred ?? (process.env.AEGIS_BACKEND as BackendName | undefined) ?? 'wasm');
  return ready;
}

async function start(preferred: BackendName): Promise<BackendName> {
  tf.env().set('PROD', true); // no per-op NaN checks or debug logging
  registerConvGradients();
  registerPoolGradients();
  registerMatMulGradients();
  registerWasmKernels();
  const backend = await selectBackend(preferred, (name) => tf.setBackend(name), process.emitWarning);
  await tf.ready();
  return backend;
}

/**
 * Tries the preferred backend; when wasm fails to start (setBackend says false or
 * throws), warns once and uses cpu. Separate from start() so the fallback is testable.
 */
export async function selectBackend(
  preferred: BackendName,
  setBackend: (name: BackendName) => Promise<boolean>,
  warn: (message: string) => void,
): Promise<BackendName> {
  if (preferred === 'wasm') {
    let reason = 'it did not initialise';
    try {
      if (await setBackend('wasm')) return 'wasm';
    } catch (error) {
      reason = (error as Error).message;
    }
    warn(`aegis: the wasm backend could not start (${reason}); using the slower cpu backend`);
  }
  if (!(await setBackend('cpu'))) throw new Error('the tfjs cpu backend could not start');
  return 'cpu';
}
