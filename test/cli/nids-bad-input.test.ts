/**
 * `aegis nids` on bad input found by an audit: each case exits 2 with one message, or reads the
 * rest and counts what it skipped — never a stack trace, a NaN score or a model that cannot load.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { readFlowText } from '../../src/detectors/network/read-flows.js';
import { cicCsv, nslLines } from '../helpers/nids-synthetic.js';
import { runCli } from '../helpers/run-cli.js';

describe('aegis nids: bad input', () => {
  const dir = mkdtempSync(join(tmpdir(), 'aegis-nids-bad-'));
  const train = join(dir, 'train.txt');
  const test = join(dir, 'test.txt');
  const model = join(dir, 'model');
  const trainLines = nslLines(600, 31);
  const testLines = nslLines(60, 32);

  before(async () => {
    writeFileSync(train, `${trainLines.join('\n')}\n`);
    writeFileSync(test, `${testLines.join('\n')}\n`);
    const run = await runCli(['nids', 'train', '--train', train, '--out', model, '--epochs', '2']);
    assert.equal(run.code, 0, run.stderr);
  });

  /** A copy of the trained model with one change. */
  function brokenModel(name: string, change: (copy: string) => void): string {
    const copy = join(dir, name);
    rmSync(copy, { recursive: true, force: true });
    cpSync(model, copy, { recursive: true });
    change(copy);
    return copy;
  }

  it('finite values far outside the float32 range score as finite numbers, not NaN', async () => {
    const set = (line: string, column: number, value: string) => {
      const f = line.split(',');
      f[column] = value;
      return f.join(',');
    };
    // 24 = serror_rate (a rate: not log-scaled), 0 = duration.
    const lines = [set(testLines[0] as string, 24, '1e308'), set(testLines[1] as string, 24, '-1e38'), testLines[2]];
    lines.push(set(testLines[3] as string, 0, '-1e308'));
    const file = join(dir, 'huge.txt');
    writeFileSync(file, `${lines.join('\n')}\n`);
    const run = await runCli(['nids', 'detect', '--model', model, file, '--json']);
    assert.equal(run.code, 0, run.stderr);
    const verdicts = JSON.parse(run.stdout) as { score: number | null; attack: boolean }[];
    assert.equal(verdicts.length, 4);
    for (const v of verdicts) assert.ok(typeof v.score === 'number' && Number.isFinite(v.score), JSON.stringify(v));
    assert.ok(verdicts[0]?.attack && verdicts[1]?.attack, 'a rate of 1e308 is an anomaly');
  });

  it('a decimal that overflows to Infinity (1e309) is counted with the other non-finite values', async () => {
    const f = (testLines[0] as string).split(',');
    f[4] = '1e309';
    const file = join(dir, 'overflow.txt');
    writeFileSync(file, `${[f.join(','), ...testLines.slice(1)].join('\n')}\n`);
    const run = await runCli(['nids', 'detect', '--model', model, file, '--json']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /NaN\/Infinity values .*src_bytes 1/);
  });

  it('--target-fpr 1 and an empty --target-fpr are refused; a repeated novelty detector is trained once', async () => {
    for (const value of ['1', '', ' ']) {
      const run = await runCli(['nids', 'train', '--train', train, '--out', join(dir, 'm-fpr'), '--target-fpr', value]);
      assert.equal(run.code, 2, `--target-fpr '${value}': ${run.stderr}`);
      assert.match(run.stderr, /--target-fpr takes a fraction in \[0, 1\)/);
    }
    const out = join(dir, 'm-dup');
    const run = await runCli([
      'nids',
      'train',
      '--train',
      train,
      '--out',
      out,
      '--epochs',
      '1',
      '--novelty',
      'autoencoder,autoencoder',
    ]);
    assert.equal(run.code, 0, run.stderr);
    const meta = JSON.parse(readFileSync(join(out, 'nids.json'), 'utf8'));
    assert.deepEqual(meta.novelty, ['autoencoder']);
    assert.deepEqual(meta.combination.weights, { supervised: 0.2, autoencoder: 0.8 });
  });

  it('a damaged model directory exits 2 naming the file, whatever part is broken', async () => {
    const cases: [string, (m: string) => void, RegExp][] = [
      ['no-encoder', (m) => rmSync(join(m, 'encoder.json')), /encoder\.json.*(ENOENT|missing)/],
      ['bad-encoder', (m) => writeFileSync(join(m, 'encoder.json'), '{"format":'), /encoder\.json: not valid JSON/],
      ['cut-knn', (m) => writeFileSync(join(m, 'knn.json'), '{"format":"aegis-knn"'), /knn\.json: not valid JSON/],
      [
        'no-iforest',
        (m) => {
          const meta = JSON.parse(readFileSync(join(m, 'nids.json'), 'utf8'));
          meta.novelty.push('iforest');
          writeFileSync(join(m, 'nids.json'), JSON.stringify(meta));
        },
        /iforest\.json.*(ENOENT|missing)/,
      ],
      [
        'other-knn',
        (m) => {
          const knn = JSON.parse(readFileSync(join(m, 'knn.json'), 'utf8'));
          knn.dimension -= 1;
          knn.center.pop();
          knn.references = Buffer.alloc(4 * knn.dimension * knn.rows).toString('base64');
          writeFileSync(join(m, 'knn.json'), JSON.stringify(knn));
        },
        /knn\.json does not match encoder\.json/,
      ],
    ];
    for (const [name, change, message] of cases) {
      const run = await runCli(['nids', 'detect', '--model', brokenModel(name, change), test]);
      assert.equal(run.code, 2, `${name}: ${run.stderr}`);
      assert.match(run.stderr, message, name);
      assert.doesNotMatch(run.stderr, /\n\s+at /, `${name}: no stack trace`);
    }
  });

  it('an autoencoder of another dimension is refused at load time', async () => {
    const other = join(dir, 'other');
    const cic = join(dir, 'cic.csv');
    writeFileSync(cic, cicCsv(300, 4).text);
    const t = await runCli([
      'nids',
      'train',
      '--train',
      cic,
      '--out',
      other,
      '--epochs',
      '1',
      '--novelty',
      'autoencoder',
    ]);
    assert.equal(t.code, 0, t.stderr);
    const broken = brokenModel('other-autoencoder', (m) => {
      rmSync(join(m, 'autoencoder'), { recursive: true });
      cpSync(join(other, 'autoencoder'), join(m, 'autoencoder'), { recursive: true });
    });
    const run = await runCli(['nids', 'detect', '--model', broken, test]);
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /autoencoder does not match encoder\.json/);
  });

  it('detect ignores the labels: a file with an empty label column is scored', async () => {
    const { text } = cicCsv(200, 5);
    const cicTrain = join(dir, 'cic-train.csv');
    writeFileSync(cicTrain, text);
    const cicModel = join(dir, 'cic-model');
    const t = await runCli([
      'nids',
      'train',
      '--train',
      cicTrain,
      '--out',
      cicModel,
      '--epochs',
      '1',
      '--novelty',
      'none',
    ]);
    assert.equal(t.code, 0, t.stderr);
    const [header, ...rows] = cicCsv(20, 6).text.trim().split('\n');
    const blank = join(dir, 'cic-blank-labels.csv');
    writeFileSync(blank, `${[header, ...rows.map((r) => r.replace(/,[^,]*$/, ','))].join('\n')}\n`);
    const run = await runCli(['nids', 'detect', '--model', cicModel, blank, '--json']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(JSON.parse(run.stdout).length, 20);
  });

  it('eval on a test file of one class says which file and what is missing', async () => {
    const attacksOnly = join(dir, 'attacks.txt');
    writeFileSync(attacksOnly, `${testLines.filter((l) => !l.includes(',normal,')).join('\n')}\n`);
    const run = await runCli(['nids', 'eval', '--model', model, '--test', attacksOnly]);
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /attacks\.txt: evaluation needs both normal and attack flows \(\d+ attack, 0 normal\)/);
  });

  it('eval reports test flows of classes the model does not know, left out of the class figures', async () => {
    const renamed = join(dir, 'unknown-labels.txt');
    writeFileSync(renamed, `${testLines.map((l) => l.replace(',neptune,', ',mystery_attack,')).join('\n')}\n`);
    const run = await runCli(['nids', 'eval', '--model', model, '--test', renamed, '--json']);
    assert.equal(run.code, 0, run.stderr);
    const n = testLines.filter((l) => l.includes(',neptune,')).length;
    assert.ok(n > 0);
    assert.equal(JSON.parse(run.stdout).unclassified, n);
    assert.match(run.stderr, new RegExp(`${n} flow\\(s\\) with labels outside the model's classes`));
  });

  it('an --out or --report path that cannot be a folder exits 2 before any training', async () => {
    const t = await runCli(['nids', 'train', '--train', train, '--out', test]);
    assert.equal(t.code, 2, t.stderr);
    assert.match(t.stderr, /--out .*test\.txt: cannot write there \(it is a file, not a folder\)/);
    const e = await runCli(['nids', 'eval', '--model', model, '--test', test, '--report', join(test, 'report')]);
    assert.equal(e.code, 2, e.stderr);
    assert.match(e.stderr, /--report .*test\.txt\/report: cannot write there \(a part of the path is a file/);
  });

  it('empty flag values are refused, not read as absent; --evasion on another layout is refused before training', async () => {
    const cases: [string[], RegExp][] = [
      [['nids', 'eval', '--model', model, '--test', test, '--evasion', ''], /--evasion takes a comma-separated list/],
      [['nids', 'train', '--train', train, '--out', join(dir, 'e'), '--epochs', ''], /--epochs takes a positive whole/],
      [['nids', 'detect', '--model', model, test, '--layout', ''], /unknown flow layout ''/],
    ];
    for (const [args, message] of cases) {
      const run = await runCli(args);
      assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
      assert.match(run.stderr, message);
    }
    const cic = join(dir, 'cic-evasion.csv');
    writeFileSync(cic, cicCsv(100, 7).text);
    const run = await runCli(['nids', 'eval', '--train', cic, '--test', cic, '--evasion', '1']);
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /--evasion: the constrained evasion attack works on NSL-KDD flows.*cic-ids2017 flows/);
  });

  it('a file with every field quoted (R write.csv) is detected and read', async () => {
    const quoted = join(dir, 'quoted.txt');
    const q = (line: string) =>
      line
        .split(',')
        .map((f) => `"${f}"`)
        .join(',');
    writeFileSync(quoted, `${trainLines.map(q).join('\n')}\n`);
    const run = await runCli(['nids', 'train', '--train', quoted, '--out', join(dir, 'm-quoted'), '--epochs', '1']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /trained on 600 nsl-kdd flows/);
  });

  it('too few normal flows to split says how many there are', async () => {
    const few = join(dir, 'few.txt');
    const normal = trainLines.filter((l) => l.includes(',normal,')).slice(0, 2);
    writeFileSync(
      few,
      `${[...normal, ...trainLines.filter((l) => l.includes(',neptune,')).slice(0, 20)].join('\n')}\n`,
    );
    const run = await runCli(['nids', 'train', '--train', few, '--out', join(dir, 'm-few'), '--epochs', '1']);
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /few\.txt: 2 normal \(normal\) flow\(s\) are too few to split/);
  });

  it('a training file of benign flows only says the multi-class classifier needs attacks', async () => {
    const [header, ...rows] = cicCsv(200, 8).text.trim().split('\n');
    const benign = join(dir, 'benign.csv');
    writeFileSync(benign, `${[header, ...rows.filter((r) => r.endsWith(',BENIGN'))].join('\n')}\n`);
    const run = await runCli(['nids', 'train', '--train', benign, '--out', join(dir, 'm-benign'), '--epochs', '1']);
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /benign\.csv: only BENIGN flows; the multi-class classifier needs attack flows too/);
  });

  it('UTF-16 text with a byte-order mark (a spreadsheet export) is read', () => {
    const text = `${testLines.slice(0, 5).join('\r\n')}\r\n`;
    for (const [name, bytes] of [
      ['le.txt', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')])],
      ['be.txt', Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(text, 'utf16le').swap16()])],
    ] as const) {
      const file = join(dir, name);
      writeFileSync(file, bytes);
      assert.equal(readFlowText(file), text, name);
    }
  });

  it('a semicolon- or tab-separated file is refused saying flow files are comma-separated', async () => {
    const semi = join(dir, 'semi.txt');
    writeFileSync(semi, `${testLines.map((l) => l.replace(/,/g, ';')).join('\n')}\n`);
    const train = await runCli(['nids', 'train', '--train', semi, '--out', join(dir, 'm-semi')]);
    assert.equal(train.code, 2, train.stderr);
    assert.match(train.stderr, /cannot tell the layout.*the first line has semicolons but no commas/);
    const tabs = join(dir, 'tabs.txt');
    writeFileSync(tabs, `${testLines.map((l) => l.replace(/,/g, '\t')).join('\n')}\n`);
    const detect = await runCli(['nids', 'detect', '--model', model, tabs]);
    assert.equal(detect.code, 2, detect.stderr);
    assert.match(
      detect.stderr,
      /no usable NSL-KDD rows .*; the first line has tabs but no commas: flow files are comma-separated/,
    );
  });

  it('a FIFO given as a flow file exits 2 at once (the read blocked forever)', async () => {
    const fifo = join(dir, 'flows.fifo');
    execFileSync('mkfifo', [fifo]);
    const run = await runCli(['nids', 'detect', '--model', model, fifo]);
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /flows\.fifo: not a regular file \(a FIFO, socket or device\)/);
  });

  it('a file of another layout than the model, without --layout, is refused naming both layouts', async () => {
    const cic = join(dir, 'cic-for-nsl.csv');
    writeFileSync(cic, cicCsv(30, 9).text);
    for (const args of [
      ['nids', 'detect', '--model', model, cic],
      ['nids', 'eval', '--model', model, '--test', cic],
    ]) {
      const run = await runCli(args);
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, /cic-for-nsl\.csv: CIC-IDS2017 flows, but the model was trained on the nsl-kdd layout/);
    }
  });

  it('text beyond what one string can hold ends with a clear message, not a RangeError', () => {
    const gz = join(dir, 'big.gz');
    writeFileSync(gz, gzipSync(Buffer.alloc(5000, 'a')));
    assert.throws(() => readFlowText(gz, 1000), /big\.gz: more than 1000 bytes of text/);
    const plain = join(dir, 'big.txt');
    writeFileSync(plain, Buffer.alloc(5000, 'a'));
    assert.throws(() => readFlowText(plain, 1000), /big\.txt: more than 1000 bytes of text/);
    assert.equal(readFlowText(plain).length, 5000);
  });
});
