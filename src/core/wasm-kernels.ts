/**
 * Replacement wasm kernels that make tfjs's gradient tape cheaper.
 *
 * Identity: tfjs clones every tensor a gradient saves (engine.saveTensorsForBackwardMode), and
 * the wasm backend's Identity copies the data (~0.2–0.3 ms per [100,26,26,16] activation, 1–1.5 ms
 * per CNN input gradient). Cast to the same dtype (the ReLU gradient casts step(x), already
 * float32) copies too. Tensors are immutable, so both can share the memory with a reference
 * count, as the cpu backend's Identity and the wasm backend's own Reshape already do.
 *
 * Cast to bool: the stock kernel copies values into a byte array, so −2.2 becomes 254 and 256
 * becomes 0; it is x ≠ 0 here, as on the cpu backend.
 */
import * as tf from '@tensorflow/tfjs-core';

interface RefCountingBackend {
  incRef(dataId: tf.DataId): void;
}

interface HeapBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
}

const stock = new Map<string, tf.KernelFunc>();

function share(x: tf.TensorInfo, backend: unknown): tf.TensorInfo {
  (backend as RefCountingBackend).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

function sharedIdentity(args: Parameters<tf.KernelFunc>[0]): tf.TensorInfo | tf.TensorInfo[] {
  const { x } = args.inputs as { x: tf.TensorInfo };
  const fallback = stock.get(tf.Identity);
  if (x.dtype === 'string' && fallback) return fallback(args); // strings live outside the heap
  return share(x, args.backend);
}

function sharedCast(args: Parameters<tf.KernelFunc>[0]): tf.TensorInfo | tf.TensorInfo[] {
  const { x } = args.inputs as { x: tf.TensorInfo };
  const { dtype } = args.attrs as unknown as tf.CastAttrs;
  if (dtype === x.dtype && dtype !== 'string') return share(x, args.backend);
  if (dtype === 'bool' && x.dtype !== 'string') return castToBool(x, args.backend as unknown as HeapBackend);
  const fallback = stock.get(tf.Cast);
  if (!fallback) throw new Error('the wasm backend has no Cast kernel');
  return fallback(args);
}

/** x ≠ 0, as the cpu backend casts to bool (the stock wasm Cast wraps −2.2 to 254 instead of 1). */
function castToBool(x: tf.TensorInfo, backend: HeapBackend): tf.TensorInfo {
  const out = backend.makeOutput(x.shape, 'bool');
  const from = backend.typedArrayFromHeap(x);
  const to = backend.typedArrayFromHeap(out);
  for (let i = 0; i < from.length; i++) to[i] = from[i] !== 0 ? 1 : 0;
  return out;
}

function replace(kernelName: string, kernelFunc: tf.KernelFunc): void {
  const current = tf.getKernel(kernelName, 'wasm');
  if (current?.kernelFunc === kernelFunc) return;
  if (current) {
    stock.set(kernelName, current.kernelFunc);
    tf.unregisterKernel(kernelName, 'wasm');
  }
  tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc });
}

/** Registers the wasm kernels above over the stock ones (call after the wasm backend is imported). Idempotent. */
export function registerWasmKernels(): void {
  replace(tf.Identity, sharedIdentity);
  replace(tf.Cast, sharedCast);
}
