import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { AegisInputError } from '../../../src/core/errors.js';
import { parseMailBatch } from '../../../src/detectors/phishing/parse-mail.js';
import { readMailBytes, readMailPaths } from '../../../src/detectors/phishing/read-mail.js';
import { buildMail, buildTar, gzip, syntheticCorpus, toMbox } from '../../helpers/phish-synthetic.js';

const { ham, phish } = syntheticCorpus(4, 3);

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'aegis-phish-'));
}

describe('readMailPaths', () => {
  it('reads .eml files, folders recursively (sorted), and counts non-mail files as skips', () => {
    const dir = tmp();
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'b.eml'), ham[0] as string);
    writeFileSync(join(dir, 'sub', 'a.eml'), phish[0] as string);
    writeFileSync(join(dir, 'README.md'), '# notes\n\nnot a message\n');
    writeFileSync(join(dir, 'empty.eml'), '');
    writeFileSync(join(dir, '.hidden'), ham[1] as string);
    const batch = readMailPaths([dir]);
    assert.deepEqual(
      batch.messages.map((m) => m.id.slice(dir.length + 1)),
      ['b.eml', 'sub/a.eml'],
    );
    assert.deepEqual(batch.skipped.map((s) => s.reason).sort(), [
      'empty message',
      'not an e-mail (no header block at the start)',
    ]);
  });

  it('splits an mbox on envelope lines only, removes the envelope and remembers it', () => {
    const mbox = toMbox([...ham.slice(0, 2), phish[0] as string]);
    const batch = readMailBytes('box.mbox', new TextEncoder().encode(mbox));
    assert.equal(batch.messages.length, 3);
    assert.deepEqual(
      batch.messages.map((m) => m.id),
      ['box.mbox#1', 'box.mbox#2', 'box.mbox#3'],
    );
    assert.ok(batch.messages.every((m) => m.envelope));
    assert.match(new TextDecoder().decode(batch.messages[0]?.bytes), /^From: Sam|^From: \w+ Example/);
  });

  it('a body line starting with "From " (not an asctime envelope) does not split the mbox', () => {
    const m = buildMail({ from: 'a@example.org', subject: 's', text: 'hello\r\n\r\nFrom me to you, thanks\r\n' });
    const mbox = `From a@example.org  Tue May 14 10:00:00 2024\n${m.replace(/\r\n/g, '\n')}`;
    assert.equal(readMailBytes('x', new TextEncoder().encode(mbox)).messages.length, 1);
  });

  it('reads .tar.gz archives of messages and gzip-compressed mbox files', () => {
    const dir = tmp();
    const tar = buildTar([
      { name: 'corpus/00001.eml', data: ham[0] as string },
      { name: 'corpus/00002.eml', data: ham[1] as string },
      { name: 'corpus/.DS_Store', data: 'junk' },
    ]);
    writeFileSync(join(dir, 'ham.tar.gz'), gzip(tar));
    writeFileSync(join(dir, 'phish.mbox.gz'), gzip(toMbox(phish)));
    const batch = readMailPaths([join(dir, 'ham.tar.gz'), join(dir, 'phish.mbox.gz')]);
    assert.equal(batch.messages.length, 2 + phish.length);
    assert.match(batch.messages[0]?.id ?? '', /ham\.tar\.gz:corpus\/00001\.eml$/);
    assert.match(batch.messages[2]?.id ?? '', /phish\.mbox\.gz#1$/);
  });

  it('refuses a missing path and a corrupt tar header with the path in the message', () => {
    assert.throws(
      () => readMailPaths(['/no/such/mail']),
      (e: Error) => e instanceof AegisInputError && /no such file/.test(e.message),
    );
    const tar = buildTar([
      { name: 'a.eml', data: ham[0] as string },
      { name: 'b.eml', data: ham[1] as string },
    ]);
    const second = 512 + Math.ceil((ham[0] as string).length / 512) * 512;
    tar[second + 1] = (tar[second + 1] as number) ^ 0x20; // the second header's name changes; its checksum no longer adds up
    assert.throws(
      () => readMailBytes('x.tar', tar),
      (e: Error) =>
        e instanceof AegisInputError &&
        e.message === `x.tar: the tar header at byte ${second} is corrupt (bad checksum)`,
    );
  });

  it('a truncated archive keeps the partial last message with a warning', () => {
    const tar = buildTar([
      { name: 'a.eml', data: ham[0] as string },
      { name: 'b.eml', data: ham[1] as string },
    ]);
    const cut = tar.subarray(0, 512 + Math.ceil((ham[0] as string).length / 512) * 512 + 512 + 200);
    const batch = readMailBytes('cut.tar', cut);
    assert.equal(batch.messages.length, 2);
    assert.equal(batch.messages[1]?.truncated, true);
    assert.match(batch.warnings.join('\n'), /archive ends inside this message/);
  });

  it('cuts a message over the size cap and warns; refuses a decompression bomb', () => {
    const big = buildMail({ from: 'a@example.org', subject: 'big', text: 'x'.repeat(50_000) });
    const batch = readMailBytes('big.eml', new TextEncoder().encode(big), { maxMessageBytes: 10_000 });
    assert.equal(batch.messages[0]?.bytes.length, 10_000);
    assert.equal(batch.messages[0]?.truncated, true);
    assert.match(batch.warnings[0] ?? '', /over the 10000-byte cap/);
    const bomb = gzip(new Uint8Array(5_000_000));
    assert.throws(
      () => readMailBytes('bomb.gz', bomb, { maxArchiveBytes: 1_000_000 }),
      /decompresses to more than 1000000 bytes/,
    );
  });

  it('parses a cut message with a huge attachment best-effort, never crashing', async () => {
    const m = buildMail({
      from: 'a@example.org',
      subject: 'report',
      text: 'see attached',
      attachments: [{ filename: 'data.bin', contentType: 'application/octet-stream', data: new Uint8Array(300_000) }],
    });
    const parsed = await parseMailBatch(
      readMailBytes('att.eml', new TextEncoder().encode(m), { maxMessageBytes: 50_000 }),
    );
    assert.equal(parsed.messages.length, 1);
    assert.equal(parsed.messages[0]?.subject, 'report');
    assert.match(parsed.messages[0]?.text ?? '', /see attached/);
  });
});
