/** `aegis scan`: exit codes 0/1/2, text, JSON and SARIF output, --out, --allow, --max-entry-bytes. */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseByteSize } from '../../src/cli/scan.js';
import { execViaStackGlobal, osSystemProtocol0, pickle, torchStateDict } from '../helpers/pickle-bytes.js';
import { runCli } from '../helpers/run-cli.js';
import { buildZip } from '../helpers/zip-bytes.js';

let dir: string;
const at = (name: string) => join(dir, name);

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'aegis-scan-cli-'));
  writeFileSync(at('clean.pt'), buildZip([{ name: 'archive/data.pkl', data: torchStateDict() }]));
  writeFileSync(at('evil.pkl'), osSystemProtocol0());
  writeFileSync(at('exec.pkl'), execViaStackGlobal().bytes);
  writeFileSync(at('custom.pkl'), pickle().proto(2).global('acme.nets', 'Net').emptyTuple().newObj().stop().bytes());
  const zip = buildZip([{ name: 'archive/data.pkl', data: torchStateDict() }]);
  writeFileSync(at('cut.pt'), zip.subarray(0, zip.length - 10));
  mkdirSync(at('folder'));
  writeFileSync(at('folder/model.pt'), buildZip([{ name: 'archive/data.pkl', data: torchStateDict() }]));
  writeFileSync(at('folder/notes.txt'), 'hello');
});

after(() => rmSync(dir, { recursive: true, force: true }));

describe('aegis scan', () => {
  it('exits 0 on clean files and folders', async () => {
    const run = await runCli(['scan', at('clean.pt'), at('folder')]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(
      run.stdout,
      /scanned 3 files .*: 0 critical, 0 high, 0 medium, 0 low, 0 info — no high or critical findings/,
    );
  });

  it('exits 1 when a finding is high or critical, one line per finding', async () => {
    const run = await runCli(['scan', at('evil.pkl'), at('exec.pkl')]);
    assert.equal(run.code, 1);
    const lines = run.stdout.trim().split('\n');
    assert.match(lines[0], /^CRITICAL pickle\/dangerous-global {2}.*evil\.pkl: byte 0 \(GLOBAL\) — imports os\.system/);
    assert.ok(lines.some((l) => /exec\.pkl: byte \d+ \(STACK_GLOBAL\) — imports builtins\.exec/.test(l)));
    assert.match(lines[lines.length - 1], /2 files with high or critical findings$/);
  });

  it('exits 2 when an input cannot be read', async () => {
    const missing = await runCli(['scan', at('missing.pkl')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /^aegis: .*missing\.pkl: cannot read \(ENOENT\)\n$/);
    const cut = await runCli(['scan', at('cut.pt')]);
    assert.equal(cut.code, 2);
    assert.match(cut.stderr, /cut\.pt: truncated or not a zip archive/);
    // Inside a folder the other files are still reported, and the exit code is still 2.
    writeFileSync(at('folder/cut.pt'), readFileSync(at('cut.pt')));
    try {
      const folder = await runCli(['scan', '--json', at('folder')]);
      assert.equal(folder.code, 2);
      const json = JSON.parse(folder.stdout);
      assert.equal(json.files.length, 3);
      assert.equal(json.summary.unreadableFiles, 1);
    } finally {
      rmSync(at('folder/cut.pt'));
    }
  });

  it('--json prints {files: [{path, format, bytes, findings: [{severity, rule, message, location}]}], summary}', async () => {
    const run = await runCli(['scan', '--json', at('evil.pkl'), at('clean.pt')]);
    assert.equal(run.code, 1);
    const json = JSON.parse(run.stdout);
    assert.deepEqual(
      json.files.map((f: { path: string; format: string }) => [f.path, f.format]),
      [
        [at('evil.pkl'), 'pickle'],
        [at('clean.pt'), 'pytorch'],
      ],
    );
    for (const f of json.files[0].findings)
      assert.deepEqual(Object.keys(f), ['severity', 'rule', 'message', 'location']);
    assert.deepEqual(
      json.files[0].findings.map((f: { rule: string; severity: string }) => `${f.severity} ${f.rule}`),
      ['critical pickle/dangerous-global', 'critical pickle/dangerous-call'],
    );
    assert.deepEqual(json.files[1].findings, []);
  });

  it('--sarif prints a SARIF 2.1.0 log', async () => {
    const run = await runCli(['scan', '--sarif', at('evil.pkl')]);
    assert.equal(run.code, 1);
    const log = JSON.parse(run.stdout);
    assert.equal(log.version, '2.1.0');
    const result = log.runs[0].results[0];
    assert.equal(result.ruleId, 'pickle/dangerous-global');
    assert.equal(result.level, 'error');
    assert.equal(result.locations[0].physicalLocation.artifactLocation.uri, `file://${at('evil.pkl')}`);
    assert.deepEqual(result.locations[0].physicalLocation.region, { byteOffset: 0 });
  });

  it('--out writes the report and prints the summary', async () => {
    const out = at('reports/scan.sarif');
    const run = await runCli(['scan', '--sarif', '--out', out, at('clean.pt')]);
    assert.equal(run.code, 0);
    assert.match(run.stdout, /no high or critical findings\nreport written to .*scan\.sarif\n$/);
    assert.equal(JSON.parse(readFileSync(out, 'utf8')).runs[0].results.length, 0);
  });

  it('--allow accepts an unknown import (but never a denied one)', async () => {
    assert.equal((await runCli(['scan', at('custom.pkl')])).code, 1);
    assert.equal((await runCli(['scan', '--allow', 'acme.nets.Net', at('custom.pkl')])).code, 0);
    assert.equal((await runCli(['scan', '--allow', 'acme.*', at('custom.pkl')])).code, 0);
    assert.equal((await runCli(['scan', '--allow', 'os.system', at('evil.pkl')])).code, 1);
  });

  it('--max-entry-bytes limits what archives may inflate', async () => {
    const run = await runCli(['scan', '--json', '--max-entry-bytes', '16', at('clean.pt')]);
    assert.equal(run.code, 1);
    assert.equal(JSON.parse(run.stdout).files[0].findings[0].rule, 'zip/entry-too-large');
    assert.equal(parseByteSize('--max-entry-bytes', '512M'), 512 * 1024 * 1024);
    assert.equal(parseByteSize('--max-entry-bytes', '2GiB'), 2 * 1024 ** 3);
  });

  it('--max-ratio accepts sparse compressed archives a user vouches for', async () => {
    const zeros = new Uint8Array(2 * 1024 * 1024); // deflates about 1000:1, like np.savez_compressed of zeros
    writeFileSync(at('sparse.zip'), buildZip([{ name: 'weights.bin', data: zeros, method: 8 }]));
    const strict = await runCli(['scan', '--json', at('sparse.zip')]);
    assert.equal(strict.code, 1);
    assert.equal(JSON.parse(strict.stdout).files[0].findings[0].rule, 'zip/compression-ratio');
    assert.equal((await runCli(['scan', '--max-ratio', '5000', at('sparse.zip')])).code, 0);
    assert.equal((await runCli(['scan', '--max-ratio', '-1', at('sparse.zip')])).code, 2);
  });

  it('rejects bad flags with exit 2 and one message', async () => {
    const both = await runCli(['scan', '--json', '--sarif', at('clean.pt')]);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /--json and --sarif cannot be used together/);
    const size = await runCli(['scan', '--max-entry-bytes', 'lots', at('clean.pt')]);
    assert.equal(size.code, 2);
    assert.match(size.stderr, /--max-entry-bytes takes a positive size in bytes/);
    const allow = await runCli(['scan', '--allow', 'not a name', at('clean.pt')]);
    assert.equal(allow.code, 2);
    assert.match(allow.stderr, /--allow: 'not a name' is not an import name/);
  });
});
