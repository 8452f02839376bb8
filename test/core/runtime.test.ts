import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { initRuntime, selectBackend, tf } from '../../src/core/runtime.js';

describe('runtime', () => {
  test('starts on wasm here, once', async () => {
    const first = initRuntime();
    assert.equal(initRuntime(), first, 'later calls share the first start');
    assert.equal(await first, process.env.AEGIS_BACKEND === 'cpu' ? 'cpu' : 'wasm');
    assert.equal(tf.getBackend(), await first);
  });

  test('falls back to cpu with exactly one warning when wasm throws', async () => {
    const warnings: string[] = [];
    const tried: string[] = [];
    const backend = await selectBackend(
      'wasm',
      async (name) => {
        tried.push(name);
        if (name === 'wasm') throw new Error('no WebAssembly here');
        return true;
      },
      (m) => warnings.push(m),
    );
    assert.equal(backend, 'cpu');
    assert.deepEqual(tried, ['wasm', 'cpu']);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0] ?? '', /wasm backend could not start \(no WebAssembly here\).*cpu/);
  });

  test('falls back when wasm silently fails to initialise', async () => {
    const warnings: string[] = [];
    const backend = await selectBackend(
      'wasm',
      async (name) => name === 'cpu',
      (m) => warnings.push(m),
    );
    assert.equal(backend, 'cpu');
    assert.equal(warnings.length, 1);
  });

  test('no warning when wasm starts, or when cpu is asked for', async () => {
    const warnings: string[] = [];
    assert.equal(
      await selectBackend(
        'wasm',
        async () => true,
        (m) => warnings.push(m),
      ),
      'wasm',
    );
    assert.equal(
      await selectBackend(
        'cpu',
        async () => true,
        (m) => warnings.push(m),
      ),
      'cpu',
    );
    assert.equal(warnings.length, 0);
  });
});
