/**
 * aegis.yaml values that parse as numbers but cannot mean what they say: a timeout or grace period
 * past Node's timer limit (2^31 - 1 ms, beyond which a timer fires at once) and a drift window of
 * one example. Each is refused at the config, naming its path, like any other bad value.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AegisInputError } from '../../src/core/errors.js';
import { parseGatewayConfig } from '../../src/gateway/config.js';

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
