/**
 * `aegis triage` end to end on a temp store (in-process): ingest (EVE + ECS + gzip + bad lines,
 * and the store's own gateway alerts) → queue (table, JSON, HTML report) → verdict (the model
 * learns, the queue is rescored, the judged incident leaves the open queue) → explain; a second
 * ingest of the same file adds nothing; bad flags and unknown ids exit 2.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { ALERT_MIGRATIONS, recordAlert } from '../../src/gateway/alerts.js';
import { openStore } from '../../src/store/store.js';
import { runCli } from '../helpers/run-cli.js';
import { elasticHit, eveAt } from '../helpers/triage-samples.js';

let dir: string;
let store: string;
let eve: string;
let ecs: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'aegis-triage-cli-'));
  store = join(dir, 'aegis.db');
  // A noisy low-severity scanner (40 targets, one incident) and a high-severity exploit repeated 3 times in 3 s.
  const lines: string[] = [];
  for (let i = 0; i < 40; i++) {
    lines.push(
      JSON.stringify(
        eveAt(
          i * 30,
          { flow_id: i, dest_ip: `192.168.1.${i}` },
          { severity: 3, signature_id: 2100498, signature: 'GPL ATTACK_RESPONSE id check returned root' },
        ),
      ),
    );
  }
  for (let i = 0; i < 3; i++) {
    lines.push(
      JSON.stringify(
        eveAt(
          600 + i,
          { src_ip: '203.0.113.9', flow_id: 100 + i },
          {
            severity: 1,
            signature_id: 2024217,
            signature: 'ET EXPLOIT Apache Struts RCE',
            metadata: { mitre_tactic_id: ['TA0001'], mitre_technique_id: ['T1190'] },
          },
        ),
      ),
    );
  }
  lines.push(lines[0] as string); // a duplicate delivery
  lines.push(JSON.stringify({ ...eveAt(5), event_type: 'stats' }));
  lines.push('{"broken": ');
  eve = join(dir, 'eve.json.gz');
  writeFileSync(eve, gzipSync(lines.join('\n')));
  ecs = join(dir, 'ecs.ndjson');
  writeFileSync(ecs, `${JSON.stringify(elasticHit())}\n${JSON.stringify({ hello: 1 })}\n`);
  const db = openStore(store, ALERT_MIGRATIONS);
  recordAlert(db, {
    time: '2024-03-01T10:20:00.000Z',
    source: 'prada',
    model: 'fraud-v2',
    keyId: 'key-7',
    severity: 'critical',
    message: 'possible model extraction by key-7',
    detail: {},
  });
  db.close();
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('aegis triage', () => {
  test('ingest → queue → verdict → explain', async () => {
    const ingest = await runCli(['triage', 'ingest', eve, ecs, '--aegis-alerts', '--store', store, '--json']);
    assert.equal(ingest.code, 0, ingest.stderr);
    const counts = JSON.parse(ingest.stdout);
    assert.equal(counts.read.parsed, 44); // 43 EVE alerts + 1 ECS
    assert.equal(counts.read.duplicates, 1);
    assert.equal(counts.read.ignored, 1);
    assert.equal(counts.read.malformed, 1);
    assert.equal(counts.read.unknown, 1);
    assert.equal(counts.alerts, 45); // + the gateway's PRADA alert
    assert.equal(counts.group.duplicates, 2); // the exploit's repeats within the 60 s dedup window
    assert.equal(counts.stored, 43);
    assert.equal(counts.newIncidents, 4); // scanner, exploit burst, LSASS on ws-01, extraction on fraud-v2

    const queue = await runCli(['triage', 'queue', '--store', store, '--json']);
    assert.equal(queue.code, 0, queue.stderr);
    const incidents = JSON.parse(queue.stdout).incidents as {
      id: string;
      key: string;
      score: number;
      alerts: number;
      reasons: unknown[];
    }[];
    assert.equal(incidents.length, 4);
    const scores = incidents.map((i) => i.score);
    assert.deepEqual(
      scores,
      [...scores].sort((a, b) => b - a),
      'highest score first',
    );
    const scanner = incidents.find((i) => i.alerts === 40);
    const exploit = incidents.find((i) => i.key === 'src:203.0.113.9|T1190');
    const extraction = incidents.find((i) => i.key === 'user:key-7|AML.T0024.002');
    assert.ok(scanner && exploit && extraction, JSON.stringify(incidents.map((i) => i.key)));
    assert.ok(exploit.score > scanner.score, 'a high-severity exploit outranks a low-severity scanner');
    assert.ok(incidents.every((i) => i.reasons.length > 0));

    const text = await runCli(['triage', 'queue', '--store', store, '--top', '2', '--report', join(dir, 'report')]);
    assert.equal(text.code, 0, text.stderr);
    assert.equal(text.stdout.trim().split('\n').length, 3); // header + 2
    assert.match(text.stdout, /incident\s+score/);
    assert.ok(existsSync(join(dir, 'report', 'report.html')));

    const before = scanner.score;
    const verdict = await runCli(['triage', 'verdict', scanner.id.slice(0, 10), 'fp', '--store', store, '--json']);
    assert.equal(verdict.code, 0, verdict.stderr);
    const v = JSON.parse(verdict.stdout);
    assert.equal(v.incident, scanner.id);
    assert.ok(v.scoreAfter < before, 'an fp verdict lowers the incident’s score');
    assert.deepEqual(v.verdicts, { tp: 0, fp: 1 });
    assert.equal(v.rescored, 3);

    const open = JSON.parse((await runCli(['triage', 'queue', '--store', store, '--json'])).stdout).incidents as {
      id: string;
    }[];
    assert.equal(open.length, 3);
    assert.ok(!open.some((i) => i.id === scanner.id), 'judged incidents leave the open queue');
    const all = JSON.parse((await runCli(['triage', 'queue', '--store', store, '--all', '--json'])).stdout)
      .incidents as { id: string; verdict: string }[];
    assert.equal(all.at(-1)?.id, scanner.id);
    assert.equal(all.at(-1)?.verdict, 'fp');

    const explain = await runCli(['triage', 'explain', exploit.id, '--store', store, '--json']);
    assert.equal(explain.code, 0, explain.stderr);
    const e = JSON.parse(explain.stdout);
    assert.equal(e.alerts.length, 1);
    assert.equal(e.incident.duplicates, 2);
    assert.equal(e.features.values.severity_max, 0.75);
    const sum = e.rank.reasons.reduce((s: number, r: { weight: number }) => s + r.weight, 0);
    assert.ok(Math.abs(sum - e.rank.logit) < 1e-9, 'reasons add up to the logit');
    const explainText = await runCli(['triage', 'explain', exploit.id, '--store', store]);
    assert.match(explainText.stdout, /ET EXPLOIT Apache Struts RCE/);
    assert.match(explainText.stdout, /severity_max/);

    // Ingesting the same file again changes nothing.
    const again = JSON.parse((await runCli(['triage', 'ingest', eve, '--store', store, '--json'])).stdout);
    assert.equal(again.stored, 0);
    assert.equal(again.alreadyStored, 43, 'kept alerts and recorded duplicates alike');
    assert.equal(again.newIncidents, 0);
  });

  test('bad input exits 2 with one message', async () => {
    const missing = await runCli(['triage', 'ingest', join(dir, 'nope.json'), '--store', store]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /nope\.json/);
    assert.equal((await runCli(['triage', 'ingest', '--store', store])).code, 2);
    assert.equal((await runCli(['triage', 'ingest', ecs, '--by', 'colour', '--store', store])).code, 2);
    const unknown = await runCli(['triage', 'explain', 'inc-doesnotexist', '--store', store]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /no incident 'inc-doesnotexist'/);
    assert.equal((await runCli(['triage', 'verdict', 'inc-x', 'maybe', '--store', store])).code, 2);
    const assets = join(dir, 'assets.json');
    writeFileSync(assets, JSON.stringify({ 'ws-01': 'extreme' }));
    const bad = await runCli(['triage', 'ingest', ecs, '--assets', assets, '--store', store]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /extreme/);
  });
});
