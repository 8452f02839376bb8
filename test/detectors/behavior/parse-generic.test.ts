import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BehaviorEvent } from '../../../src/detectors/behavior/event.js';
import type { ParseOutcome } from '../../../src/detectors/behavior/parse-common.js';
import {
  parseCsvHeader,
  parseCsvLine,
  parseJsonlLine,
  splitCsvLine,
} from '../../../src/detectors/behavior/parse-generic.js';

function event(outcome: ParseOutcome): BehaviorEvent {
  assert.equal(outcome.kind, 'event', `expected an event, got ${JSON.stringify(outcome)}`);
  return (outcome as { event: BehaviorEvent }).event;
}

describe('generic CSV', () => {
  const columns = parseCsvHeader('time,user,host,source,action,outcome,extra_col');
  assert.ok(columns);

  it('finds the columns by name in any order and ignores extra columns', () => {
    const e = event(
      parseCsvLine('2024-05-01T12:00:00Z,Alice,WS-1.corp.example,10.0.0.5,logon,success,whatever', columns!),
    );
    assert.deepEqual(
      [e.user, e.host, e.source, e.action, e.outcome, e.sourceFormat],
      ['alice', 'ws-1', '10.0.0.5', 'logon', 'success', 'csv'],
    );
    assert.equal(new Date(e.time).toISOString(), '2024-05-01T12:00:00.000Z');
  });

  it('reads ISO times without a zone as UTC, epoch seconds and epoch milliseconds', () => {
    const iso = event(parseCsvLine('2024-05-01 12:00:00,a,h,s,logon,success,', columns!));
    const sec = event(parseCsvLine('1714564800,a,h,s,logon,success,', columns!));
    const ms = event(parseCsvLine('1714564800000,a,h,s,logon,success,', columns!));
    assert.equal(iso.time, Date.UTC(2024, 4, 1, 12));
    assert.equal(sec.time, Date.UTC(2024, 4, 1, 12));
    assert.equal(ms.time, Date.UTC(2024, 4, 1, 12));
  });

  it('turns a failed logon into logon-failure and maps synonyms, unknown words to other', () => {
    assert.equal(event(parseCsvLine('1714564800,a,h,s,logon,failure,', columns!)).action, 'logon-failure');
    assert.equal(event(parseCsvLine('1714564800,a,h,s,login,ok,', columns!)).action, 'logon');
    assert.equal(event(parseCsvLine('1714564800,a,h,s,sudo,ok,', columns!)).action, 'privilege-use');
    const odd = event(parseCsvLine('1714564800,a,h,s,print-job,maybe,', columns!));
    assert.deepEqual([odd.action, odd.outcome, odd.rawType], ['other', 'unknown', 'print-job']);
  });

  it('handles quoted fields with commas and doubled quotes; an open quote is malformed', () => {
    assert.deepEqual(splitCsvLine('a,"b, c","say ""hi""",'), ['a', 'b, c', 'say "hi"', '']);
    const e = event(parseCsvLine('1714564800,"CORP\\bob","h",s,logon,success,"x,y"', columns!));
    assert.deepEqual([e.user, e.domain], ['bob', 'corp']);
    assert.equal(parseCsvLine('1714564800,"bob,h,s,logon,success,', columns!).kind, 'malformed');
  });

  it('marks rows without user or with an unreadable time malformed', () => {
    assert.equal(parseCsvLine('1714564800,,h,s,logon,success,', columns!).kind, 'malformed');
    assert.equal(parseCsvLine('yesterday,a,h,s,logon,success,', columns!).kind, 'malformed');
    assert.equal(parseCsvLine('2024-13-01T00:00:00Z,a,h,s,logon,success,', columns!).kind, 'malformed');
  });

  it('needs user and time columns in the header', () => {
    assert.equal(parseCsvHeader('host,source,action'), undefined);
    assert.ok(parseCsvHeader('\uFEFFTimestamp,UserName,Host'));
  });
});

describe('generic JSONL', () => {
  it('reads the same keys (and common aliases) from JSON objects', () => {
    const e = event(
      parseJsonlLine(
        '{"timestamp":"2024-05-01T14:00:00+02:00","username":"Bob@CORP.EXAMPLE","hostname":"srv9","src_ip":"::ffff:10.1.2.3","action":"logon","result":"failed","id":"abc"}',
      ),
    );
    assert.deepEqual(
      [e.user, e.domain, e.host, e.source, e.action, e.outcome, e.recordId, e.sourceFormat],
      ['bob', 'corp', 'srv9', '10.1.2.3', 'logon-failure', 'failure', 'jsonl:abc', 'jsonl'],
    );
    assert.equal(e.time, Date.UTC(2024, 4, 1, 12));
  });

  it('reads Elastic Common Schema nesting (user.name, host.name, source.ip, event.action/outcome)', () => {
    const e = event(
      parseJsonlLine(
        JSON.stringify({
          '@timestamp': '2024-05-01T12:00:00Z',
          user: { name: 'Eve', domain: 'CORP' },
          host: { name: 'web-7' },
          source: { ip: '198.51.100.4' },
          event: { action: 'logon', outcome: 'failure', id: 'ecs-1' },
        }),
      ),
    );
    assert.deepEqual(
      [e.user, e.domain, e.host, e.source, e.action, e.outcome, e.recordId],
      ['eve', 'corp', 'web-7', '198.51.100.4', 'logon-failure', 'failure', 'jsonl:ecs-1'],
    );
  });

  it('accepts numeric epoch times and flags service accounts', () => {
    const e = event(parseJsonlLine('{"time":1714564800,"user":"SYSTEM","action":"process","detail":"cmd.exe"}'));
    assert.deepEqual([e.machineAccount, e.detail, e.action], [true, 'cmd.exe', 'process']);
  });

  it('marks bad JSON, arrays and records without user or time malformed', () => {
    assert.equal(parseJsonlLine('{"user": "a", "time": ').kind, 'malformed');
    assert.equal(parseJsonlLine('["a"]').kind, 'malformed');
    assert.equal(parseJsonlLine('{"time": 1714564800}').kind, 'malformed');
    assert.equal(parseJsonlLine('{"user": "a"}').kind, 'malformed');
  });
});
