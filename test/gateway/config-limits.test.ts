/**
 * aegis.yaml values that parse as numbers but cannot mean what they say: a timeout or grace period
 * past Node's timer limit (2^31 - 1 ms, beyond which a timer fires at once), a drift window of
 * one example, a drift reference of the wrong width. Each is refused naming its config path.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { AegisInputError } from '../../src/core/errors.js';
import { parseGatewayConfig } from '../../src/gateway/config.js';
import { CNN_PATH, gatewayFixture } from '../helpers/gateway-fixture.js';

const models = { cnn: { path: 'cnn.onnx' } };

function refused(raw: Record<string, unknown>, pattern: RegExp): void {
  assert.throws(
    () => parseGatewayConfig(raw, 'aegis.yaml'),
    (e: unknown) => e instanceof AegisInputError && pattern.test(e.message),
  );
}

test('server.shutdownGraceMs and requestTimeoutMs above 2^31 - 1 ms are refused by path', () => {
  refused({ models, server: { shutdownGraceMs: 3e9 } }, /server\.shutdownGraceMs: Too big/);
  refused({ models, server: { requestTimeoutMs: 2 ** 31 } }, /server\.requestTimeoutMs: Too big/);
  const longest = parseGatewayConfig({ models, server: { shutdownGraceMs: 2 ** 31 - 1 } }, 'aegis.yaml');
  assert.equal(longest.server.shutdownGraceMs, 2 ** 31 - 1);
});

test('monitoring.windowSize 1 is refused by path (the monitor needs two examples to compare)', () => {
  refused({ models, monitoring: { windowSize: 1 } }, /monitoring\.windowSize: Too small/);
  assert.equal(parseGatewayConfig({ models, monitoring: { windowSize: 2 } }, 'aegis.yaml').monitoring.windowSize, 2);
});

test('models.<name>.reference whose examples are not the model’s input shape stops startup naming it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'aegis-reference-'));
  try {
    const csv = join(dir, 'narrow.csv');
    writeFileSync(
      csv,
      `a,b,label\n${Array.from({ length: 20 }, (_, i) => `${i / 20},${(i % 5) / 5},${i % 2}`).join('\n')}\n`,
    );
    await assert.rejects(
      gatewayFixture({ models: { cnn: { path: CNN_PATH, reference: csv } } }, { keys: [] }),
      (e: unknown) =>
        e instanceof AegisInputError &&
        /^models\.cnn\.reference: its examples have shape \[2\], but model 'cnn' takes \[28, 28, 1\]$/.test(e.message),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
