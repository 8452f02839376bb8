/**
 * The streaming alert reader: mixed formats in one NDJSON file, gzip by magic bytes (whatever
 * the name), JSON arrays and pretty-printed values (`aegis nids detect --json`), and bad input
 * counted not thrown: non-JSON lines, unknown shapes, non-alert events, duplicate deliveries,
 * oversize records, a truncated gzip and a truncated array.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { AegisInputError } from '../../../src/core/errors.js';
import type { TriageAlert } from '../../../src/detectors/triage/alert.js';
import {
  type AlertIngestCounts,
  emptyIngestCounts,
  JsonValueSplitter,
  readAlerts,
} from '../../../src/detectors/triage/read-alerts.js';
import { elasticHit, eveAt } from '../../helpers/triage-samples.js';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'aegis-read-alerts-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

async function readAll(paths: string | string[], options: { maxRecordChars?: number } = {}) {
  const counts: AlertIngestCounts = emptyIngestCounts();
  const alerts: TriageAlert[] = [];
  for await (const a of readAlerts(paths, { counts, ...options })) alerts.push(a);
  return { alerts, counts };
}

const MIXED = [
  JSON.stringify(eveAt(0)),
  JSON.stringify({ ...eveAt(1), event_type: 'flow' }),
  'this is not json',
  JSON.stringify(eveAt(0)), // duplicate delivery of the first line
  '',
  JSON.stringify({ some: 'thing', else: 1 }),
  JSON.stringify(elasticHit()),
  JSON.stringify({ '@timestamp': '2024-03-01T10:00:00Z', event: { kind: 'metric' } }),
  JSON.stringify({ ...eveAt(2), alert: { signature: 'no sid' } }),
  '{"timestamp": "2024-03-01T10:00:00', // cut mid-line
  JSON.stringify({
    time: '2024-03-01T10:00:00Z',
    source: 'prada',
    model: 'm',
    keyId: 'k',
    severity: 'critical',
    message: 'x',
    detail: {},
  }),
].join('\r\n');

describe('readAlerts', () => {
  test('mixed NDJSON: alerts of every format, bad lines counted with examples', async () => {
    const path = join(dir, 'mixed.json');
    writeFileSync(path, MIXED);
    const { alerts, counts } = await readAll(path);
    assert.deepEqual(
      alerts.map((a) => a.source),
      ['suricata', 'ecs', 'aegis-gateway'],
    );
    assert.equal(counts.read, 10); // the blank line is not a record
    assert.equal(counts.parsed, 3);
    assert.equal(counts.duplicates, 1);
    assert.equal(counts.ignored, 2); // EVE flow, ECS metric
    assert.equal(counts.unknown, 1);
    assert.equal(counts.malformed, 3); // not JSON, alert without sid, cut line
    assert.deepEqual(counts.byFormat, { suricata: 1, ecs: 1, 'aegis-alert': 1 });
    assert.equal(counts.examples.length, 4); // not JSON, unknown shape, no sid, cut line
    assert.match(counts.examples[0] ?? '', /mixed\.json:3: not JSON/);
  });

  test('gzip is recognised by its bytes, not its name; duplicates span files', async () => {
    const plain = join(dir, 'a.eve.json');
    const gz = join(dir, 'b.log'); // gzip without a .gz name
    writeFileSync(plain, `${JSON.stringify(eveAt(0))}\n${JSON.stringify(eveAt(5))}\n`);
    writeFileSync(gz, gzipSync(`${JSON.stringify(eveAt(5))}\n${JSON.stringify(eveAt(9))}\n`));
    const { alerts, counts } = await readAll([plain, gz]);
    assert.equal(alerts.length, 3);
    assert.equal(counts.duplicates, 1);
    assert.deepEqual(
      alerts.map((a) => a.time - Date.UTC(2024, 2, 1, 10)),
      [0, 5000, 9000],
    );
  });

  test('a truncated gzip keeps what was read and warns instead of crashing', async () => {
    const lines = Array.from({ length: 2000 }, (_, i) => JSON.stringify(eveAt(i))).join('\n');
    const full = gzipSync(lines);
    const path = join(dir, 'cut.json.gz');
    writeFileSync(path, full.subarray(0, Math.floor(full.length * 0.6)));
    const { alerts, counts } = await readAll(path);
    assert.ok(alerts.length > 100 && alerts.length < 2000, `${alerts.length} alerts before the cut`);
    assert.equal(counts.warnings.length, 1);
    assert.match(counts.warnings[0] ?? '', /cut\.json\.gz: reading stopped/);
  });

  test('a pretty-printed JSON array of detector verdicts (aegis nids detect --json) streams element by element', async () => {
    const verdicts = [
      {
        line: 2,
        attack: true,
        score: 0.99,
        label: 'dos',
        reasons: [{ feature: 'count', detail: 'count {high}', weight: 2 }],
      },
      { line: 3, attack: false, score: 0.01, label: 'normal', reasons: [] },
      { line: 4, attack: true, score: 0.8, label: 'probe', reasons: [] },
    ];
    const path = join(dir, 'verdicts.json');
    writeFileSync(path, JSON.stringify(verdicts, null, 2));
    const { alerts, counts } = await readAll(path);
    assert.deepEqual(
      alerts.map((a) => a.signatureId),
      ['nids:dos', 'nids:probe'],
    );
    assert.equal(counts.ignored, 1);
    assert.equal(counts.read, 3);
  });

  test('pretty-printed UBA output ({users: [...]}) and a truncated array end', async () => {
    const uba = join(dir, 'uba.json');
    writeFileSync(uba, JSON.stringify({ users: [{ user: 'eve', risk: 0.9, reasons: [] }] }, null, 2));
    const a = await readAll(uba);
    assert.equal(a.alerts[0]?.signatureId, 'uba:user-risk');
    const cut = join(dir, 'cut-array.json');
    writeFileSync(cut, `[${JSON.stringify(eveAt(0))},\n${JSON.stringify(eveAt(1)).slice(0, 40)}`);
    const b = await readAll(cut);
    assert.equal(b.alerts.length, 1);
    assert.equal(b.counts.malformed, 1);
  });

  test('oversize records are skipped and counted', async () => {
    const path = join(dir, 'big.json');
    writeFileSync(path, `${JSON.stringify(eveAt(0, { payload: 'x'.repeat(5000) }))}\n${JSON.stringify(eveAt(1))}\n`);
    const { alerts, counts } = await readAll(path, { maxRecordChars: 1000 });
    assert.equal(alerts.length, 1);
    assert.equal(counts.malformed, 1);
    assert.match(counts.examples[0] ?? '', /longer than 1000/);
  });

  test('alerts stamped in 1970 or next year (broken sensor clocks) are malformed', async () => {
    const path = join(dir, 'skew.json');
    const future = new Date(Date.now() + 30 * 86_400_000).toISOString();
    writeFileSync(
      path,
      [eveAt(0, { timestamp: '1970-01-01T00:00:05.000000+0000' }), eveAt(1), eveAt(2, { timestamp: future })]
        .map((r) => JSON.stringify(r))
        .join('\n'),
    );
    const { alerts, counts } = await readAll(path);
    assert.equal(alerts.length, 1);
    assert.equal(counts.malformed, 2);
    assert.match(counts.examples[0] ?? '', /1970-01-01T00:00:05.000Z is implausible/);
  });

  test('a missing file is the user’s error', async () => {
    await assert.rejects(
      readAll(join(dir, 'nope.json')),
      (e: unknown) => e instanceof AegisInputError && /nope\.json/.test(e.message),
    );
  });

  test('JsonValueSplitter splits values across chunk boundaries, braces inside strings included', () => {
    const s = new JsonValueSplitter('array', 1e6);
    const text = '[{"a":"}{[","b":[1,{"c":2}]}, {"d":"\\"}"}]';
    const out: (string | null)[] = [];
    for (let i = 0; i < text.length; i += 3) out.push(...s.push(text.slice(i, i + 3)));
    assert.deepEqual(
      out.map((v) => JSON.parse(v as string)),
      [{ a: '}{[', b: [1, { c: 2 }] }, { d: '"}' }],
    );
    assert.equal(s.unfinished, false);
  });
});
