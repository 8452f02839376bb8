import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AegisInputError } from '../../../src/core/errors.js';
import { scanFile, scanPath } from '../../../src/defenses/model-scan/scan-path.js';
import { osSystemProtocol2, torchStateDict } from '../../helpers/pickle-bytes.js';
import { buildZip, npyBytes } from '../../helpers/zip-bytes.js';

let dir: string;
let outside: string;

function inputError(pattern: RegExp): (e: unknown) => boolean {
  return (e) => e instanceof AegisInputError && pattern.test(e.message);
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'aegis-scan-path-'));
  outside = mkdtempSync(join(tmpdir(), 'aegis-scan-outside-'));
  const models = join(dir, 'models');
  mkdirSync(join(models, 'sub'), { recursive: true });
  mkdirSync(join(models, '.git'));
  mkdirSync(join(models, 'node_modules'));
  writeFileSync(join(models, 'b_evil.pkl'), osSystemProtocol2());
  writeFileSync(join(models, 'a_state.pt'), buildZip([{ name: 'archive/data.pkl', data: torchStateDict() }]));
  writeFileSync(join(models, 'sub', 'w.npy'), npyBytes('<f4', [2], new Uint8Array(8)));
  writeFileSync(join(models, 'README.md'), '# models\n');
  writeFileSync(join(models, '.git', 'evil.pkl'), osSystemProtocol2());
  writeFileSync(join(models, 'node_modules', 'evil.pkl'), osSystemProtocol2());
  const whole = buildZip([{ name: 'archive/data.pkl', data: torchStateDict() }]);
  writeFileSync(join(models, 'cut.pt'), whole.subarray(0, whole.length - 30));
  writeFileSync(join(outside, 'secret.pkl'), osSystemProtocol2());
  symlinkSync(join(outside, 'secret.pkl'), join(models, 'escape.pkl'));
  symlinkSync(join(models, 'b_evil.pkl'), join(models, 'sub', 'inside.pkl'));
});

after(() => {
  rmSync(dir, { recursive: true, force: true });
  rmSync(outside, { recursive: true, force: true });
});

describe('scanPath', () => {
  it('walks a folder in sorted order, skipping .git and node_modules', () => {
    const scans = scanPath(join(dir, 'models'));
    assert.deepEqual(
      scans.map((s) => [s.path.slice(dir.length + 1), s.format]),
      [
        ['models/README.md', 'unknown'],
        ['models/a_state.pt', 'pytorch'],
        ['models/b_evil.pkl', 'pickle'],
        ['models/cut.pt', 'unknown'],
        ['models/escape.pkl', 'unknown'],
        ['models/sub/inside.pkl', 'pickle'],
        ['models/sub/w.npy', 'numpy'],
      ],
    );
    const by = (name: string) => scans.find((s) => s.path.endsWith(name))!;
    assert.deepEqual(by('a_state.pt').findings, []);
    assert.ok(by('b_evil.pkl').findings.some((f) => f.rule === 'pickle/dangerous-global'));
    assert.ok(by('inside.pkl').findings.some((f) => f.rule === 'pickle/dangerous-global'));
    assert.equal(by('README.md').findings.length, 0);
    assert.equal(by('b_evil.pkl').bytes, osSystemProtocol2().length);
  });

  it('does not follow a symlink out of the folder, and says so', () => {
    const escape = scanPath(join(dir, 'models')).find((s) => s.path.endsWith('escape.pkl'))!;
    assert.deepEqual(
      escape.findings.map((f) => [f.severity, f.rule]),
      [['medium', 'scan/symlink-escape']],
    );
    assert.match(escape.findings[0].message, /points outside the scanned folder/);
  });

  it('records a file that cannot be parsed inside a folder, and throws for it given directly', () => {
    const cut = scanPath(join(dir, 'models')).find((s) => s.path.endsWith('cut.pt'))!;
    assert.match(cut.error ?? '', /cut\.pt: truncated or not a zip archive/);
    assert.deepEqual(
      cut.findings.map((f) => [f.severity, f.rule]),
      [['high', 'scan/unreadable']],
    );
    assert.throws(() => scanFile(join(dir, 'models', 'cut.pt')), inputError(/truncated or not a zip archive/));
  });

  it('throws AegisInputError for a path that does not exist, and for a bad --allow entry', () => {
    assert.throws(() => scanPath(join(dir, 'nope')), inputError(/nope: cannot read \(ENOENT\)/));
    assert.throws(
      () => scanPath(join(dir, 'models'), { allow: ['os system'] }),
      inputError(/--allow: 'os system' is not an import name/),
    );
  });

  it('applies the limits it is given', () => {
    const [scan] = scanPath(join(dir, 'models', 'a_state.pt'), { limits: { maxEntryBytes: 10 } });
    assert.deepEqual(
      scan.findings.map((f) => f.rule),
      ['zip/entry-too-large'],
    );
  });
});
