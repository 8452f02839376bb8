import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type ExtractionConfig, parseGatewayConfig } from '../../../src/gateway/config.js';
import { ExtractionMonitor } from '../../../src/gateway/extraction/extraction-monitor.js';
import type { Alert } from '../../../src/gateway/types.js';
import { jbdaLikeStream, naturalStream, type QueryStream } from './streams.js';

function config(extraction: Partial<ExtractionConfig> = {}): ExtractionConfig {
  return parseGatewayConfig({ models: { cnn: { path: 'cnn.onnx' } }, extraction }).extraction;
}

/** Sends a stream in requests of `batch` rows, as the server would after each reply. */
function send(monitor: ExtractionMonitor, who: string, model: string, s: QueryStream, batch: number): void {
  const n = s.labels.length;
  for (let start = 0; start < n; start += batch) {
    const end = Math.min(n, start + batch);
    monitor.observe(
      who,
      model,
      s.rows.subarray(start * s.rowSize, end * s.rowSize),
      s.rowSize,
      s.labels.subarray(start, end),
    );
  }
}

const attack = jbdaLikeStream(400, 20, 0.1, 1);
const benign = naturalStream(1000, 1);

describe('ExtractionMonitor', () => {
  for (const [action, status] of [
    ['throttle', 'throttled'],
    ['block', 'blocked'],
    ['log', 'ok'],
  ] as const) {
    test(`action '${action}': the extracting client becomes '${status}', with one critical alert; others stay ok`, () => {
      const alerts: Alert[] = [];
      const monitor = new ExtractionMonitor(config({ action }), (a) => alerts.push(a), {
        now: () => new Date('2025-01-02T03:04:05Z'),
      });
      send(monitor, 'key-benign', 'cnn', benign, 16);
      assert.equal(monitor.status('key-attacker', 'cnn'), 'ok');
      send(monitor, 'key-attacker', 'cnn', attack, 1);
      assert.equal(monitor.status('key-attacker', 'cnn'), status);
      assert.equal(monitor.status('key-benign', 'cnn'), 'ok');
      // Same client, other model: its own detector, untouched.
      assert.equal(monitor.status('key-attacker', 'other'), 'ok');
      assert.equal(alerts.length, 1);
      const [alert] = alerts as [Alert];
      assert.equal(alert.source, 'prada');
      assert.equal(alert.severity, 'critical');
      assert.equal(alert.keyId, 'key-attacker');
      assert.equal(alert.model, 'cnn');
      assert.equal(alert.time, '2025-01-02T03:04:05.000Z');
      const { w, threshold, queries, action: applied } = alert.detail as Record<string, number | string>;
      assert.ok(typeof w === 'number' && w < 0.9, `W ${w}`);
      assert.equal(threshold, 0.9);
      assert.ok(typeof queries === 'number' && queries >= 100 && queries <= 400, `queries ${queries}`);
      assert.equal(applied, action);
      assert.match(alert.message, /key-attacker .* 'cnn'/);
      // More queries from the same client: no second alert, status unchanged, detector freed.
      send(monitor, 'key-attacker', 'cnn', attack, 50);
      assert.equal(alerts.length, 1);
      assert.equal(monitor.status('key-attacker', 'cnn'), status);
      const state = monitor.inspect('key-attacker', 'cnn');
      assert.equal(state.detector, null);
      assert.deepEqual(state.alert, alert);
      assert.equal(monitor.inspect('key-benign', 'cnn').detector?.queries, 1000);
    });
  }

  test('batch boundaries do not matter: the alarm comes at the same query', () => {
    const at = (batch: number) => {
      const alerts: Alert[] = [];
      const monitor = new ExtractionMonitor(config(), (a) => alerts.push(a));
      send(monitor, 'k', 'cnn', attack, batch);
      return alerts[0]?.detail.queries;
    };
    assert.equal(at(1), at(64));
  });

  test('disabled: observes nothing, never alerts', () => {
    const alerts: Alert[] = [];
    const monitor = new ExtractionMonitor(config({ enabled: false }), (a) => alerts.push(a));
    send(monitor, 'k', 'cnn', attack, 10);
    assert.equal(alerts.length, 0);
    assert.equal(monitor.status('k', 'cnn'), 'ok');
    assert.equal(monitor.trackedClients, 0);
  });

  test('at most maxClients detectors; the least recently seen is dropped first', () => {
    const monitor = new ExtractionMonitor(config(), () => {}, { maxClients: 2 });
    const one = naturalStream(5, 2);
    for (const who of ['a', 'b', 'a', 'c']) send(monitor, who, 'cnn', one, 5);
    assert.equal(monitor.trackedClients, 2);
    assert.equal(monitor.inspect('b', 'cnn').detector, null);
    assert.equal(monitor.inspect('a', 'cnn').detector?.queries, 10);
  });

  test('detectors stay within maxMemoryBytes: older clients are dropped, the current one kept', () => {
    const monitor = new ExtractionMonitor(config(), () => {}, { maxMemoryBytes: 500_000 });
    const few = naturalStream(20, 3);
    send(monitor, 'a', 'cnn', few, 20);
    const one = monitor.memoryBytes;
    // A window of 5000 distances (2 × 40 KB) plus growing sets of 784-value rows.
    assert.ok(one > 80_000 && one <= 500_000, `${one} bytes`);
    send(monitor, 'b', 'cnn', few, 20);
    send(monitor, 'c', 'cnn', few, 20);
    assert.ok(monitor.memoryBytes <= 500_000, `${monitor.memoryBytes} bytes`);
    assert.equal(monitor.inspect('a', 'cnn').detector, null);
    assert.equal(monitor.inspect('c', 'cnn').detector?.memoryBytes, one);
    assert.equal(
      monitor.memoryBytes,
      ['a', 'b', 'c'].reduce((sum, who) => sum + (monitor.inspect(who, 'cnn').detector?.memoryBytes ?? 0), 0),
    );
  });

  test('a failing alert sink does not make observe throw; the action still applies and a warning says why', async () => {
    const monitor = new ExtractionMonitor(config({ action: 'block' }), () => {
      throw new Error('disk full');
    });
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on('warning', onWarning);
    try {
      assert.doesNotThrow(() => send(monitor, 'k', 'cnn', attack, 25));
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', onWarning);
    }
    assert.equal(monitor.status('k', 'cnn'), 'blocked');
    assert.ok(
      warnings.some((m) => /PRADA alert: disk full/.test(m)),
      warnings.join('; '),
    );
  });
});
