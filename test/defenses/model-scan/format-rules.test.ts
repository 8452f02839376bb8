import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { FORMAT_RULES } from '../../../src/defenses/model-scan/format-rules.js';

const SOURCES = ['keras.ts', 'hdf5.ts', 'onnx.ts', 'onnx-external.ts', 'safetensors.ts'];

/** Rule ids written as string literals in the format scanners' sources. */
function rulesInSources(): Set<string> {
  const found = new Set<string>();
  for (const file of SOURCES) {
    const text = readFileSync(new URL(`../../../src/defenses/model-scan/${file}`, import.meta.url), 'utf8');
    for (const m of text.matchAll(/'((?:keras|hdf5|onnx|safetensors)\/[a-z0-9-]+)'/g)) found.add(m[1]);
  }
  return found;
}

describe('format scanner rules', () => {
  it('lists every rule the Keras, HDF5, ONNX and safetensors scanners emit, and no other', () => {
    const emitted = rulesInSources();
    assert.ok(emitted.size > 30);
    assert.deepEqual(
      [...emitted].filter((r) => !(r in FORMAT_RULES)),
      [],
      'emitted but not listed',
    );
    assert.deepEqual(
      Object.keys(FORMAT_RULES).filter((r) => !emitted.has(r)),
      [],
      'listed but never emitted',
    );
  });
});
