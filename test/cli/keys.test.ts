/** `aegis keys create|list|revoke` end to end against a temporary data dir. */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { API_KEY_MIGRATIONS, ApiKeyStore } from '../../src/gateway/auth/api-keys.js';
import type { Principal } from '../../src/gateway/types.js';
import { openStore } from '../../src/store/store.js';
import { runCli } from '../helpers/run-cli.js';

let dir: string;
let dataDir: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'aegis-keys-cli-'));
  dataDir = join(dir, 'data');
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** Verifies a key the way a gateway process would: its own connection to the store. */
function verify(key: string): Principal | null {
  const db = openStore(join(dataDir, 'aegis.db'), API_KEY_MIGRATIONS);
  try {
    return new ApiKeyStore(db).verify(key);
  } finally {
    db.close();
  }
}

test('create prints a key once, with the warning; the key verifies with the scopes asked for', async () => {
  const run = await runCli(['keys', 'create', '--data-dir', dataDir, '--name', 'team-a', '--models', 'cnn,mlp']);
  assert.equal(run.code, 0, run.stderr);
  const keys = run.stdout.match(/aegis_[0-9a-f]{12}_[A-Za-z0-9_-]{43}/g) ?? [];
  assert.equal(keys.length, 1, run.stdout);
  assert.match(run.stdout, /cannot be shown again/);
  const principal = verify(keys[0]);
  assert.equal(principal?.name, 'team-a');
  assert.equal(principal?.tier, 'default');
  assert.deepEqual(principal?.scopes, [
    { model: 'cnn', actions: ['predict', 'list'] },
    { model: 'mlp', actions: ['predict', 'list'] },
  ]);
});

test('create --json with actions and tier; list shows it without the secret; revoke makes it fail', async () => {
  const run = await runCli([
    'keys',
    'create',
    '--data-dir',
    dataDir,
    '--name',
    'monitor-bot',
    '--models',
    '*',
    '--actions',
    'monitor,list',
    '--tier',
    'label-only',
    '--json',
  ]);
  assert.equal(run.code, 0, run.stderr);
  const created = JSON.parse(run.stdout) as { id: string; key: string; warning: string };
  assert.match(created.warning, /cannot be shown again/);
  const principal = verify(created.key);
  assert.equal(principal?.id, created.id);
  assert.equal(principal?.tier, 'label-only');
  assert.deepEqual(principal?.scopes, [{ model: '*', actions: ['list', 'monitor'] }]);

  const list = await runCli(['keys', 'list', '--data-dir', dataDir]);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, new RegExp(`${created.id}\\s+monitor-bot\\s+tier label-only\\s+active`));
  assert.match(list.stdout, /team-a/);
  assert.ok(!list.stdout.includes(created.key.slice(-43)), 'list printed the secret');
  const listJson = JSON.parse((await runCli(['keys', 'list', '--data-dir', dataDir, '--json'])).stdout) as {
    id: string;
    revokedAt: string | null;
  }[];
  assert.deepEqual(
    listJson.map((r) => Object.keys(r).sort()),
    listJson.map(() => ['createdAt', 'id', 'name', 'revokedAt', 'scopes', 'tier']),
  );

  const revoke = await runCli(['keys', 'revoke', 'monitor-bot', '--data-dir', dataDir]);
  assert.equal(revoke.code, 0, revoke.stderr);
  assert.match(revoke.stdout, new RegExp(`revoked key 'monitor-bot' \\(id ${created.id}\\)`));
  assert.equal(verify(created.key), null);
  const after = JSON.parse((await runCli(['keys', 'list', '--data-dir', dataDir, '--json'])).stdout) as {
    id: string;
    revokedAt: string | null;
  }[];
  assert.ok(after.find((r) => r.id === created.id)?.revokedAt, 'revoked key still listed, with its time');
  const again = await runCli(['keys', 'revoke', created.id, '--data-dir', dataDir]);
  assert.equal(again.code, 2);
  assert.match(again.stderr, /no active key with id or name/);
});

test('bad flags and bad values exit 2 with a message naming the problem', async () => {
  const base = ['keys', 'create', '--data-dir', dataDir];
  const cases: [string[], RegExp][] = [
    [[...base, '--models', 'cnn'], /--name/],
    [[...base, '--name', 'x'], /--models/],
    [[...base, '--name', 'x', '--models', 'cnn', '--actions', 'predict,delete'], /unknown action 'delete'/],
    [[...base, '--name', 'x', '--models', '../etc/passwd'], /--models: '\.\.\/etc\/passwd'/],
    [[...base, '--name', 'x', '--models', ','], /--models takes a comma-separated list/],
    [[...base, '--name', 'bad name', '--models', 'cnn'], /key name 'bad name'/],
    [[...base, '--name', 'x', '--models', 'cnn', '--tier', 'a/b'], /tier 'a\/b'/],
    [[...base, '--name', 'team-a', '--models', 'cnn'], /key named 'team-a' is already active/],
    [[...base, '--name', 'x', '--models', 'cnn', '--bogus'], /unknown option '--bogus'/],
    [['keys', 'frobnicate'], /unknown command|too many arguments/],
    [['keys', 'revoke', '--data-dir', dataDir], /missing required argument/],
    [['keys', 'revoke', 'nobody', '--data-dir', dataDir], /no active key with id or name 'nobody'/],
    [['keys', 'list', '--data-dir', join(dir, 'nowhere')], /no store at/],
  ];
  for (const [args, message] of cases) {
    const run = await runCli(args);
    assert.equal(run.code, 2, `${args.join(' ')} → ${run.code}`);
    assert.match(run.stderr, message, args.join(' '));
    assert.ok(!/aegis_[0-9a-f]{12}_/.test(run.stdout), 'no key printed on failure');
  }
  assert.ok(!existsSync(join(dir, 'nowhere')), 'list did not create a data dir');
});
