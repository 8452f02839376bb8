import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { AegisInputError } from '../../../src/core/errors.js';
import { Rng } from '../../../src/core/rng.js';
import { FlowEncoder } from '../../../src/detectors/network/encoder.js';
import { detectLayout, normaliseHeader } from '../../../src/detectors/network/layouts.js';
import { isAttack, parseFlows, readFlows } from '../../../src/detectors/network/read-flows.js';
import { cicCsv, nslLines, nslRow, unswCsv } from '../../helpers/nids-synthetic.js';
import { sharedPath, skipUnlessShared } from '../../helpers/shared-dir.js';

describe('NSL-KDD reader', () => {
  it('reads 43-field rows, maps attack names to the five classes', () => {
    const { table, report } = parseFlows(nslLines(200, 1).join('\n'));
    assert.equal(table.layout.name, 'nsl-kdd');
    assert.equal(table.size, 200);
    assert.equal(table.numericNames.length, 38);
    assert.deepEqual(table.categoricalNames, ['protocol_type', 'service', 'flag']);
    assert.equal(report.skipped, 0);
    const i = table.labels.indexOf('neptune');
    assert.equal(table.classes[i], 'DoS');
    assert.equal(table.classes[table.labels.indexOf('guess_passwd')], 'R2L');
    assert.equal(table.classes[table.labels.indexOf('buffer_overflow')], 'U2R');
    assert.equal(isAttack(table)[i], 1);
    assert.ok(!table.numericNames.includes('difficulty'), 'difficulty is not a feature');
  });

  it('counts malformed rows with their line numbers instead of failing', () => {
    const rng = new Rng(2);
    const good = (k: number) => Array.from({ length: k }, () => nslRow('normal', rng).join(','));
    const badCount = nslRow('normal', rng).slice(0, 30).join(',');
    const badNumber = nslRow('neptune', rng);
    badNumber[4] = 'lots';
    const lines = [...good(3), badCount, '', ...good(2), badNumber.join(','), ...good(1)];
    const { table, report } = parseFlows(lines.join('\n'), { source: 'x.txt' });
    assert.equal(table.size, 6);
    assert.equal(report.skipped, 2);
    assert.deepEqual(report.skippedLines, [4, 8]);
    assert.equal(report.skipReasons['wrong field count'], 1);
    assert.equal(report.skipReasons['non-numeric value in a numeric column'], 1);
    assert.match(report.warnings[0] ?? '', /skipped 2 malformed row\(s\).*lines 4, 8/);
  });

  it('reads gzip files whatever their extension and fails clearly on a truncated one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nids-'));
    const gz = gzipSync(Buffer.from(nslLines(50, 3).join('\n')));
    writeFileSync(join(dir, 'train.txt.gz'), gz);
    writeFileSync(join(dir, 'renamed.txt'), gz);
    assert.equal(readFlows(join(dir, 'train.txt.gz')).table.size, 50);
    assert.equal(readFlows(join(dir, 'renamed.txt')).table.size, 50);
    writeFileSync(join(dir, 'cut.gz'), gz.subarray(0, gz.length >> 1));
    assert.throws(() => readFlows(join(dir, 'cut.gz')), /corrupt or truncated gzip/);
    assert.throws(() => readFlows(join(dir, 'missing.gz')), /cannot read flow file \(ENOENT\)/);
  });

  it('rejects a file with no usable row, saying why', () => {
    assert.throws(
      () => parseFlows('0,tcp,http,SF,1,2\n', { layout: 'nsl-kdd', source: 'bad.txt' }),
      (e: unknown) =>
        e instanceof AegisInputError && /no usable NSL-KDD rows \(1 rows skipped: 1 wrong field count/.test(e.message),
    );
    assert.throws(() => parseFlows('a;b;c\n1;2;3\n'), /cannot tell the layout/);
  });

  it('labels unknown attack names as attacks and reports them', () => {
    const row = nslRow('neptune', new Rng(4));
    row[41] = 'newattack';
    const { table, report } = parseFlows(row.join(','));
    assert.equal(table.classes[0], undefined);
    assert.equal(isAttack(table)[0], 1);
    assert.deepEqual(report.unknownLabels, { newattack: 1 });
  });
});

describe('UNSW-NB15 and CIC-IDS2017 readers', () => {
  it('UNSW: BOM, CRLF, drops id, families from attack_cat', () => {
    const { table } = parseFlows(unswCsv(100, 5));
    assert.equal(table.layout.name, 'unsw-nb15');
    assert.equal(table.size, 100);
    assert.ok(!table.numericNames.includes('id') && !table.numericNames.includes('label'));
    assert.deepEqual(table.categoricalNames, ['proto', 'service', 'state']);
    assert.ok(table.classes.every((c) => c === 'Normal' || c === 'Generic' || c === 'Exploits'));
  });

  it('CIC: trimmed, de-duplicated header; Infinity and NaN counted and filled from training data', () => {
    const { text, infinities, nans } = cicCsv(300, 6);
    assert.ok(infinities > 0 && nans > 0, 'the generator plants both');
    const { table, report } = parseFlows(text);
    assert.equal(table.layout.name, 'cic-ids2017');
    assert.ok(table.numericNames.includes('Flow Duration'));
    assert.ok(table.numericNames.includes('Fwd Header Length.1'), 'the second "Fwd Header Length" is renamed');
    const counted = Object.values(report.nonFinite).reduce((a, b) => a + b, 0);
    assert.equal(counted, infinities + nans);
    assert.match(report.warnings.join('\n'), /NaN\/Infinity values.*Flow Packets\/s/);
    const encoder = FlowEncoder.fit(table);
    const { x, filled } = encoder.encode(table);
    assert.ok(x.every(Number.isFinite), 'encoded features are finite');
    assert.equal(
      Object.values(filled).reduce((a, b) => a + b, 0),
      infinities + nans,
    );
  });

  it('detects layouts and names headers like pandas', () => {
    assert.equal(detectLayout(' Destination Port, Flow Duration, Label')?.name, 'cic-ids2017');
    assert.equal(detectLayout('id,dur,proto,service,state,sttl,attack_cat,label')?.name, 'unsw-nb15');
    assert.deepEqual(normaliseHeader([' a', 'b ', ' a', '']), ['a', 'b', 'a.1', 'column_4']);
  });
});

describe('encoder', () => {
  it('one-hot + unseen slot, log1p of heavy counters, standardisation; saved as JSON', () => {
    const train = parseFlows(nslLines(300, 7, { neptune: 0.3 }).join('\n')).table;
    const encoder = FlowEncoder.fit(train);
    const src = encoder.numeric.find((n) => n.name === 'src_bytes');
    assert.equal(src?.log, true, 'bytes are log-scaled');
    assert.equal(encoder.numeric.find((n) => n.name === 'serror_rate')?.log, false, 'rates are not');
    const { x } = encoder.encode(train);
    const j = encoder.numericIndex('src_bytes');
    let mean = 0;
    for (let i = 0; i < train.size; i++) mean += x[i * encoder.dimension + j] as number;
    assert.ok(Math.abs(mean / train.size) < 1e-4, 'standardised to mean 0');
    // An unseen service encodes in the unseen slot and is counted.
    const row = nslRow('normal', new Rng(8));
    row[2] = 'gopher';
    const test = parseFlows(row.join(',')).table;
    const enc = encoder.encode(test);
    const [start, end] = encoder.oneHotRange('service');
    assert.equal(enc.x[end - 1], 1);
    assert.equal(
      enc.x.slice(start, end - 1).reduce((a, b) => a + b, 0),
      0,
    );
    assert.deepEqual(enc.unknownCategories, { service: 1 });
    const copy = FlowEncoder.fromJson(JSON.parse(JSON.stringify(encoder.toJson())));
    assert.deepEqual(copy.encode(test).x, enc.x);
    assert.ok(Math.abs(encoder.decodeValue(j, encoder.encodeValue(j, 1480)) - 1480) < 1e-6);
    assert.throws(() => FlowEncoder.fromJson({ format: 'x' }), /format/);
  });
});

describe('real NSL-KDD files', () => {
  const reason = skipUnlessShared('datasets', 'nsl-kdd', 'KDDTest-21.txt.gz');
  it('reads every row of KDDTest-21 with the published class counts', { skip: reason }, () => {
    const { table, report } = readFlows(sharedPath('datasets', 'nsl-kdd', 'KDDTest-21.txt.gz'));
    assert.equal(table.size, 11850);
    assert.equal(report.skipped, 0);
    assert.equal(table.classes.filter((c) => c === 'normal').length, 2152);
    assert.equal(table.classes.filter((c) => c === undefined).length, 0, 'every test attack name is mapped');
  });
});
