/**
 * `aegis phish` on bad input found by an audit: each case exits 2 with one message naming the
 * input, or reads the rest and counts or warns about what it could not — never a stack trace.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { readMailBytes, readMailPaths } from '../../src/detectors/phishing/read-mail.js';
import { buildTar, gzip, syntheticCorpus } from '../helpers/phish-synthetic.js';
import { runCli } from '../helpers/run-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'aegis-phish-bad-'));
const ham = join(dir, 'ham');
const phish = join(dir, 'phish');
const mailModel = join(dir, 'mail-model');
const urlModel = join(dir, 'url-model');
const fast = ['--folds', '3', '--target-fpr', '0.02', '--epochs', '3', '--seed', '1'];
const corpus = syntheticCorpus(30, 30, 5);

before(async () => {
  mkdirSync(ham);
  mkdirSync(phish);
  corpus.ham.forEach((m, i) => {
    writeFileSync(join(ham, `${i}.eml`), m);
  });
  corpus.phish.forEach((m, i) => {
    writeFileSync(join(phish, `${i}.eml`), m);
  });
  const m = await runCli(['phish', 'train', '--ham', ham, '--phish', phish, '--out', mailModel, ...fast]);
  assert.equal(m.code, 0, m.stderr);
  const urls = join(dir, 'urls.csv');
  const rows = Array.from(
    { length: 40 },
    (_, i) =>
      `https://www.site${i}.example.com/p/${i},legitimate\nhttp://verify${i}.secure-login.xyz/a?i=${i},phishing`,
  );
  writeFileSync(urls, `url,status\n${rows.join('\n')}\n`);
  const u = await runCli(['phish', 'train', '--mode', 'url', '--data', urls, '--out', urlModel, ...fast]);
  assert.equal(u.code, 0, u.stderr);
});

describe('aegis phish: bad input', () => {
  it('a truncated .tar.gz keeps the messages before the cut, with a warning', async () => {
    const tgz = gzip(buildTar(corpus.phish.slice(0, 10).map((data, i) => ({ name: `p/${i}.eml`, data }))));
    const cut = tgz.subarray(0, Math.floor(tgz.length * 0.6));
    const batch = readMailBytes('cut.tar.gz', cut);
    assert.ok(batch.messages.length >= 3 && batch.messages.length < 10, `${batch.messages.length} messages`);
    assert.match(batch.warnings.join('\n'), /cut\.tar\.gz: the gzip data ends early/);
    const file = join(dir, 'cut.tar.gz');
    writeFileSync(file, cut);
    const run = await runCli(['phish', 'scan', '--model', mailModel, file, '--json']);
    assert.equal(run.code, 1, run.stderr); // 1: phishing found
    assert.equal(JSON.parse(run.stdout).length, batch.messages.length);
    assert.match(run.stderr, /gzip data ends early/);
    // Corrupt (not merely cut) gzip data is still refused.
    const corrupt = Uint8Array.from(tgz);
    corrupt.fill(0x55, 40, 90);
    assert.throws(() => readMailBytes('bad.tar.gz', corrupt), /bad\.tar\.gz: not a readable gzip file/);
  });

  it('a corrupt archive met inside a folder is a counted skip; named on the command line it is refused', async () => {
    const folder = join(dir, 'ham-with-junk');
    mkdirSync(folder);
    corpus.ham.forEach((m, i) => {
      writeFileSync(join(folder, `${i}.eml`), m);
    });
    const broken = join(folder, 'zz-broken.tar.gz');
    writeFileSync(broken, Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]));
    const run = await runCli(['phish', 'train', '--ham', folder, '--phish', phish, '--out', join(dir, 'm2'), ...fast]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /skipped 1 input\(s\): .*zz-broken\.tar\.gz: not a readable gzip file/);
    const direct = await runCli(['phish', 'scan', '--model', mailModel, broken]);
    assert.equal(direct.code, 2, direct.stderr);
    assert.match(direct.stderr, /zz-broken\.tar\.gz: not a readable gzip file/);
  });

  it('an unreadable .gz entry inside a tar archive is a counted skip; the other entries are read', () => {
    const good = corpus.phish[0] as string;
    const tar = buildTar([
      { name: 'a.eml', data: good },
      { name: 'b.eml.gz', data: gzip(good).subarray(0, 30) },
      { name: 'c.eml.gz', data: Uint8Array.from([0x1f, 0x8b, 8, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9]) },
      { name: 'd.eml', data: corpus.phish[1] as string },
    ]);
    const batch = readMailBytes('mixed.tar', tar);
    assert.deepEqual(
      batch.messages.map((m) => m.id),
      ['mixed.tar:a.eml', 'mixed.tar:d.eml'],
    );
    assert.deepEqual(
      batch.skipped.map((s) => s.id),
      ['mixed.tar:b.eml.gz', 'mixed.tar:c.eml.gz'],
    );
    assert.match(batch.skipped[0]?.reason ?? '', /^not a readable gzip file/);
  });

  it('inside a folder, a broken symbolic link is a counted skip and a link back to a folder is not followed', () => {
    const folder = join(dir, 'linked');
    mkdirSync(folder);
    writeFileSync(join(folder, 'a.eml'), corpus.ham[0] as string);
    symlinkSync(folder, join(folder, 'loop'));
    symlinkSync(join(dir, 'nowhere.eml'), join(folder, 'broken.eml'));
    const batch = readMailPaths([folder]);
    assert.deepEqual(
      batch.messages.map((m) => m.id),
      [join(folder, 'a.eml')],
    );
    assert.deepEqual(
      batch.skipped.map((s) => s.id),
      [join(folder, 'broken.eml'), join(folder, 'loop')],
    );
    assert.match(batch.skipped[1]?.reason ?? '', /a link to a folder already read/);
  });

  it('empty numeric flags are refused instead of read as 0 or the default', async () => {
    const t = await runCli([
      'phish',
      'train',
      '--ham',
      ham,
      '--phish',
      phish,
      '--target-fpr',
      '',
      '--out',
      join(dir, 'x'),
    ]);
    assert.equal(t.code, 2, t.stderr);
    assert.match(t.stderr, /--target-fpr takes a fraction in \[0, 1\), got ''/);
    const m = await runCli(['phish', 'scan', '--model', mailModel, join(ham, '0.eml'), '--max-message-bytes', '']);
    assert.equal(m.code, 2, m.stderr);
    assert.match(m.stderr, /--max-message-bytes takes a positive whole number, got ''/);
    for (const [flag, value, message] of [
      ['--epochs', '', /--epochs takes a positive whole number/],
      ['--attack', '', /--attack takes a comma-separated list/],
      ['--char-ngrams', '3,5,7', /--char-ngrams takes two numbers/],
      ['--adversarial', '', /--adversarial takes a positive number/],
    ] as const) {
      const r = await runCli(['phish', 'eval', '--ham', ham, '--phish', phish, flag, value]);
      assert.equal(r.code, 2, `${flag} '${value}': ${r.stderr}`);
      assert.match(r.stderr, message);
    }
    const s = await runCli(['phish', 'eval', '--ham', ham, '--phish', phish, '--split', 'abc']);
    assert.equal(s.code, 2, s.stderr);
    assert.match(s.stderr, /--split must be a fraction in \(0, 1\), got 'abc'/);
  });

  it('eval says which test class is missing, and that an empty --test-data is no test data', async () => {
    const empty = join(dir, 'empty');
    mkdirSync(empty);
    const run = await runCli(['phish', 'eval', '--model', mailModel, '--test-ham', ham, '--test-phish', empty]);
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /the test set: no phishing messages read from .*empty/);
    const url = await runCli(['phish', 'eval', '--model', urlModel, '--test-data', '']);
    assert.equal(url.code, 2, url.stderr);
    assert.match(url.stderr, /eval with --model needs test data \(--test-ham\/--test-phish or --test-data\)/);
  });

  it('an --out or --report path that cannot be a folder exits 2 naming it', async () => {
    const file = join(ham, '0.eml');
    const t = await runCli(['phish', 'train', '--ham', ham, '--phish', phish, '--out', join(file, 'm'), ...fast]);
    assert.equal(t.code, 2, t.stderr);
    assert.match(t.stderr, /--out .*0\.eml\/m: cannot write there \(a part of the path is a file, not a folder\)/);
    const e = await runCli([
      'phish',
      'eval',
      '--model',
      mailModel,
      '--test-ham',
      ham,
      '--test-phish',
      phish,
      '--report',
      file,
    ]);
    assert.equal(e.code, 2, e.stderr);
    assert.match(e.stderr, /--report .*0\.eml: cannot write there \(it is a file, not a folder\)/);
  });

  it('eval names the test flags: --test-ham/--test-phish for mail, --test-data only for url/sms', async () => {
    const cases: [string[], RegExp][] = [
      [['--test-ham', ham], /the test set needs both legitimate \(--test-ham\) and phishing \(--test-phish\)/],
      [['--test-data', join(dir, 'urls.csv')], /--test-data is for --mode url\|sms; mail is tested on --test-ham/],
    ];
    for (const [args, message] of cases) {
      const run = await runCli(['phish', 'eval', '--model', mailModel, ...args]);
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, message);
    }
    const url = await runCli(['phish', 'eval', '--model', urlModel, '--test-ham', ham, '--test-data', 'x.csv']);
    assert.equal(url.code, 2, url.stderr);
    assert.match(url.stderr, /--test-ham\/--test-phish are for mail mode; --mode url is tested on --test-data/);
  });

  it('a UTF-16 URL file with a byte-order mark is read (was a column error printing NUL bytes)', async () => {
    const text = `url,status\r\n${Array.from({ length: 20 }, (_, i) => `https://www.s${i}.example.com/,legitimate\r\nhttp://v${i}.secure-login.xyz/a,phishing`).join('\r\n')}\r\n`;
    const file = join(dir, 'urls-utf16.csv');
    writeFileSync(file, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]));
    const run = await runCli([
      'phish',
      'train',
      '--mode',
      'url',
      '--data',
      file,
      '--out',
      join(dir, 'm-utf16'),
      ...fast,
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /trained phishing-url on 40 examples/);
  });

  it('a FIFO given as --data, a scan list or --model exits 2 at once (the read blocked forever)', async () => {
    const fifo = join(dir, 'input.fifo');
    execFileSync('mkfifo', [fifo]);
    const cases = [
      ['phish', 'train', '--mode', 'url', '--data', fifo, '--out', join(dir, 'm-fifo')],
      ['phish', 'scan', '--model', urlModel, fifo],
      ['phish', 'scan', '--model', fifo, join(ham, '0.eml')],
    ];
    for (const args of cases) {
      const run = await runCli(args);
      assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
      assert.match(run.stderr, /input\.fifo: not a regular file/);
    }
  });

  it('url/sms scan: an empty literal item is a counted skip, not scored', async () => {
    const run = await runCli([
      'phish',
      'scan',
      '--model',
      urlModel,
      'http://verify1.secure-login.xyz/a',
      '',
      ' ',
      '--json',
    ]);
    assert.ok(run.code === 0 || run.code === 1, run.stderr);
    assert.equal(JSON.parse(run.stdout).length, 1);
    assert.match(run.stderr, /skipped 2 empty item\(s\)/);
  });

  it('url/sms scan: a folder or a binary file is refused, a .gz file is read decompressed', async () => {
    const folder = await runCli(['phish', 'scan', '--model', urlModel, ham]);
    assert.equal(folder.code, 2, folder.stderr);
    assert.match(folder.stderr, /ham: a folder; --mode url scan reads files of one item per line/);
    const binary = join(dir, 'random.bin');
    writeFileSync(binary, Buffer.from([0x00, 0x01, 0xff, 0x0a, 0x00, 0x7f, 0x80, 0x0a, 0x41]));
    const bin = await runCli(['phish', 'scan', '--model', urlModel, binary]);
    assert.equal(bin.code, 2, bin.stderr);
    assert.match(bin.stderr, /random\.bin: binary data \(NUL bytes\), not one item per line/);
    const gz = join(dir, 'urls.txt.gz');
    writeFileSync(gz, gzip('http://verify1.secure-login.xyz/a?i=1\nhttps://www.site2.example.com/p/2\n'));
    const run = await runCli(['phish', 'scan', '--model', urlModel, gz, '--json']);
    assert.ok(run.code === 0 || run.code === 1, run.stderr);
    const verdicts = JSON.parse(run.stdout) as { id: string }[];
    assert.deepEqual(
      verdicts.map((v) => v.id),
      [`${gz}:1`, `${gz}:2`],
    );
  });
});
