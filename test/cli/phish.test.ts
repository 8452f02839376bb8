import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { buildTar, gzip, syntheticCorpus, toMbox } from '../helpers/phish-synthetic.js';
import { runCli } from '../helpers/run-cli.js';
import { sharedPath, skipUnlessShared } from '../helpers/shared-dir.js';

const dir = mkdtempSync(join(tmpdir(), 'aegis-phish-cli-'));
const hamDir = join(dir, 'ham');
const phishBox = join(dir, 'phish.mbox');
const testHam = join(dir, 'test-ham.tar.gz');
const testPhish = join(dir, 'test-phish');
const model = join(dir, 'model');
const fast = ['--folds', '3', '--target-fpr', '0.02', '--epochs', '10', '--seed', '1'];

before(() => {
  const train = syntheticCorpus(60, 30, 1);
  const test = syntheticCorpus(30, 15, 2);
  mkdirSync(hamDir);
  train.ham.forEach((m, i) => {
    writeFileSync(join(hamDir, `${i}.eml`), m);
  });
  writeFileSync(phishBox, toMbox(train.phish));
  writeFileSync(testHam, gzip(buildTar(test.ham.map((m, i) => ({ name: `ham/${i}.eml`, data: m })))));
  mkdirSync(testPhish);
  test.phish.forEach((m, i) => {
    writeFileSync(join(testPhish, `${i}.eml`), m);
  });
});

describe('aegis phish', () => {
  it('eval --split prints the held-out figures as JSON', async () => {
    const r = await runCli([
      'phish',
      'eval',
      '--ham',
      hamDir,
      '--phish',
      phishBox,
      '--split',
      '0.3',
      ...fast,
      '--json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout);
    for (const k of ['precision', 'recall', 'f1', 'auc', 'falsePositiveRate']) assert.equal(typeof doc[k], 'number', k);
    assert.equal(doc.messages, 27);
    assert.ok(doc.recall >= 0.9 && doc.auc > 0.95, r.stdout);
  });

  it('eval on separate test paths (.tar.gz and a folder), with the evasion attack and a report', async () => {
    const report = join(dir, 'report');
    const r = await runCli([
      'phish',
      'eval',
      '--ham',
      hamDir,
      '--phish',
      phishBox,
      '--test-ham',
      testHam,
      '--test-phish',
      testPhish,
      '--attack',
      '0.05,0.2',
      '--attack-limit',
      '5',
      '--report',
      report,
      ...fast,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /phishing-mail on 45 test messages \(15 phishing, 30 legitimate\)/);
    assert.match(r.stdout, /robust recall/);
    const doc = JSON.parse(readFileSync(join(report, 'report.json'), 'utf8'));
    assert.equal(doc.detectors[0].kind, 'phishing');
    assert.equal(doc.attacks[0].atlas, 'AML.T0043.001');
    assert.deepEqual(
      doc.attacks[0].rows.map((row: { eps: number }) => row.eps),
      [0.05, 0.2],
    );
    assert.ok(existsSync(join(report, 'report.html')));
  });

  it('train saves a model; scan prints verdict, score and reasons per message and exits 1 on phishing', async () => {
    const t = await runCli(['phish', 'train', '--ham', hamDir, '--phish', phishBox, '--out', model, ...fast]);
    assert.equal(t.code, 0, t.stderr);
    assert.match(t.stdout, /saved to .*phishing-model\.json/);
    assert.match(
      t.stdout,
      /nested check \(order-statistic, threshold chosen without each fold\): \d+ legitimate flagged/,
    );
    assert.equal(t.stderr.includes('warning:'), false, t.stderr);
    // 60 legitimate messages cannot resolve a 0.1% target: said on stderr, with the rate it expects.
    const strict = ['--folds', '3', '--target-fpr', '0.001', '--epochs', '10', '--seed', '1'];
    const w = await runCli([
      'phish',
      'train',
      '--ham',
      hamDir,
      '--phish',
      phishBox,
      '--out',
      `${model}-strict`,
      ...strict,
    ]);
    assert.equal(w.code, 0, w.stderr);
    assert.match(
      w.stderr,
      /warning: 60 legitimate training examples cannot resolve a 0\.1% .*expects 1\.6% false positives/,
    );
    const s = await runCli(['phish', 'scan', '--model', model, testPhish, '--json']);
    assert.equal(s.code, 1, s.stderr);
    const verdicts = JSON.parse(s.stdout) as {
      id: string;
      label: string;
      score: number;
      reasons: { detail: string }[];
    }[];
    assert.equal(verdicts.length, 15);
    assert.ok(verdicts.filter((v) => v.label === 'phishing').length >= 14);
    assert.ok(verdicts[0]?.reasons.length);
    const ham = await runCli(['phish', 'scan', '--model', model, join(hamDir, '0.eml')]);
    assert.equal(ham.code, 0, ham.stderr);
    assert.match(ham.stdout, /0\.eml\tham\t0\.\d{4}\t/);
    assert.match(ham.stderr, /1 scanned, 0 flagged/);
  });

  it('sms mode trains on a labelled text file and scans literal messages', async () => {
    const lines: string[] = [];
    for (let i = 0; i < 40; i++) {
      lines.push(`ham\tok see you at ${i} for dinner, bring the book`);
      lines.push(`spam\tWINNER!! claim your £${100 + i} prize now, call 0906170${1000 + i} or text WIN to 8${i}123`);
    }
    const file = join(dir, 'sms.txt');
    writeFileSync(file, `${lines.join('\n')}\n`);
    const out = join(dir, 'sms-model');
    const t = await runCli(['phish', 'train', '--mode', 'sms', '--data', file, '--out', out, ...fast]);
    assert.equal(t.code, 0, t.stderr);
    const s = await runCli([
      'phish',
      'scan',
      '--model',
      out,
      'URGENT you have won a £900 prize, call 09061701461',
      '--json',
    ]);
    assert.equal(s.code, 1);
    assert.equal(JSON.parse(s.stdout)[0].label, 'phishing');
  });

  it('eval breaks the test figures down by guessed language and warns about a phishing-only language', async () => {
    const lines: string[] = [];
    for (let i = 0; i < 40; i++) {
      lines.push(`ham\tok see you at ${i} for dinner and bring the book with you, the one you have`);
      lines.push(
        `spam\tWINNER!! claim your £${100 + i} prize and the bonus now, this is for you: text WIN to 8${i}123`,
      );
      lines.push(`spam\tSie haben ${i} Euro gewonnen, das ist Ihre Chance und wir senden eine Karte, nicht warten`);
    }
    const file = join(dir, 'sms-languages.txt');
    writeFileSync(file, `${lines.join('\n')}\n`);
    const args = ['phish', 'eval', '--mode', 'sms', '--data', file, '--split', '0.3', ...fast];
    const text = await runCli(args);
    assert.equal(text.code, 0, text.stderr);
    assert.match(
      text.stderr,
      /warning: German: \d+ phishing but 0 legitimate training examples;.*Add legitimate German examples/,
    );
    assert.doesNotMatch(text.stderr, /warning: English/);
    assert.match(
      text.stdout,
      /by language \(guessed from common words\):\n {4}English +\d+\/\d+ phishing missed +\d+\/12 legitimate flagged/,
    );
    assert.match(text.stdout, /German +\d+\/\d+ phishing missed +no legitimate \(false-positive rate not measured\)/);
    const json = await runCli([...args, '--json']);
    assert.equal(json.code, 0, json.stderr);
    const doc = JSON.parse(json.stdout) as { byLanguage: Record<string, { phishing: number; legitimate: number }> };
    // The 30% split is stratified by label (12 legitimate, 24 phishing), not by language.
    assert.deepEqual(Object.keys(doc.byLanguage).sort(), ['de', 'en']);
    assert.equal(doc.byLanguage.en?.legitimate, 12);
    assert.equal(doc.byLanguage.de?.legitimate, 0);
    assert.equal((doc.byLanguage.en?.phishing ?? 0) + (doc.byLanguage.de?.phishing ?? 0), 24);
    // A saved model puts a caveat on German messages when it scans them.
    const model = join(dir, 'sms-languages-model');
    const t = await runCli(['phish', 'train', '--mode', 'sms', '--data', file, '--out', model, ...fast]);
    assert.equal(t.code, 0, t.stderr);
    const scan = await runCli(['phish', 'scan', '--model', model, 'Das ist nicht schlimm, wir sehen uns morgen']);
    assert.match(scan.stdout, /\tcaveat: German: trained on 0 legitimate and 40 phishing German messages/);
  });

  it('bad input exits 2 with one clear message', async () => {
    const cases: [string[], RegExp][] = [
      [['phish', 'eval', '--ham', hamDir, '--json'], /needs both legitimate \(--ham\) and phishing \(--phish\)/],
      [['phish', 'train', '--mode', 'fax', '--data', 'x'], /--mode must be one of mail, url, sms/],
      [['phish', 'train', '--ham', join(dir, 'nope'), '--phish', phishBox], /no such file or folder/],
      [['phish', 'train', '--ham', hamDir, '--phish', phishBox, '--data', 'x.csv'], /--data is for --mode url\|sms/],
      [['phish', 'eval', '--ham', hamDir, '--phish', phishBox, '--split', '1.5'], /--split must be a fraction/],
      [['phish', 'scan', '--model', join(dir, 'nope'), testPhish], /cannot read a phishing model/],
      [['phish', 'train', '--mode', 'url', '--data', join(dir, 'missing.csv')], /cannot read/],
      [
        ['phish', 'train', '--ham', hamDir, '--phish', phishBox, '--threshold-rule', 'median'],
        /threshold rule must be one of order-statistic, tail-fit/,
      ],
      [
        ['phish', 'train', '--ham', hamDir, '--phish', phishBox, '--language-weight', '2'],
        /--language-weight takes a fraction in \[0, 1\], got '2'/,
      ],
      [
        ['phish', 'train', '--ham', hamDir, '--phish', phishBox, '--language-weight', ''],
        /--language-weight takes a fraction/,
      ],
      [
        ['phish', 'train', '--ham', hamDir, '--phish', phishBox, '--threshold-rule', 'tail-fit', '--folds', '3'],
        /tail fit: \d+ benign scores are too few/,
      ],
    ];
    for (const [args, message] of cases) {
      const r = await runCli(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, message);
    }
  });

  it('a folder with broken and non-mail files scans the rest and counts the skips', async () => {
    const mixed = join(dir, 'mixed');
    mkdirSync(mixed);
    writeFileSync(join(mixed, 'a.eml'), readFileSync(join(testPhish, '0.eml')));
    writeFileSync(join(mixed, 'notes.txt'), 'just some notes\n');
    writeFileSync(join(mixed, 'empty.eml'), '');
    const r = await runCli(['phish', 'scan', '--model', model, mixed]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /skipped 2 input\(s\)/);
    assert.match(r.stdout, /a\.eml\tphishing/);
  });

  it('real corpora: SpamAssassin hard_ham vs Nazario phishing0, 30% held out', {
    skip: skipUnlessShared('datasets', 'nazario-phishing-mbox', 'phishing0.mbox.gz'),
  }, async () => {
    const r = await runCli([
      'phish',
      'eval',
      '--ham',
      sharedPath('datasets', 'spamassassin-public-corpus', 'hard_ham.tar.gz'),
      '--phish',
      sharedPath('datasets', 'nazario-phishing-mbox', 'phishing0.mbox.gz'),
      '--split',
      '0.3',
      '--seed',
      '1',
      '--folds',
      '3',
      '--target-fpr',
      '0.01',
      '--epochs',
      '10',
      '--json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout);
    assert.ok(doc.f1 > 0.9 && doc.auc > 0.97, r.stdout);
  });
});
