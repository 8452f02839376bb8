/**
 * `aegis keys create|list|revoke --data-dir DIR`: the gateway's API keys in `<DIR>/aegis.db`.
 * `create` prints the new key exactly once — only its salted scrypt hash is kept — and a running
 * gateway sharing the store sees new and revoked keys on the next request.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { AegisInputError } from '../core/errors.js';
import { API_KEY_MIGRATIONS, type ApiKeyRecord, ApiKeyStore } from '../gateway/auth/api-keys.js';
import { formatScopes, isGatewayAction, isScopeModel } from '../gateway/auth/scopes.js';
import { ensureDataDir } from '../gateway/data-dir.js';
import { GATEWAY_ACTIONS, type GatewayAction, type Scope } from '../gateway/types.js';
import { openStore, type StoreDatabase } from '../store/store.js';
import { cliOutput } from './io.js';

export const DEFAULT_KEY_ACTIONS: readonly GatewayAction[] = ['predict', 'list'];
const WARNING = 'Store this key now: it cannot be shown again (Aegis keeps only a salted hash of it).';

interface DataDirFlags {
  dataDir: string;
  json?: boolean;
}

interface CreateFlags extends DataDirFlags {
  name: string;
  models: string;
  actions?: string;
  tier?: string;
}

function splitList(flag: string, text: string): string[] {
  const items = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (items.length === 0) throw new AegisInputError(`${flag} takes a comma-separated list, got '${text}'`);
  return [...new Set(items)];
}

/** --models a,b and --actions predict,list → one scope per model. */
export function parseKeyScopes(models: string, actions: string | undefined): Scope[] {
  const modelList = splitList('--models', models);
  for (const model of modelList) {
    if (!isScopeModel(model)) {
      throw new AegisInputError(
        `--models: '${model}' is neither '*' nor a model name (letters, digits, . _ -; ≤ 64, not starting with . _ -)`,
      );
    }
  }
  const actionList = actions === undefined ? [...DEFAULT_KEY_ACTIONS] : splitList('--actions', actions);
  for (const action of actionList) {
    if (!isGatewayAction(action)) {
      throw new AegisInputError(`--actions: unknown action '${action}' (known: ${GATEWAY_ACTIONS.join(', ')})`);
    }
  }
  return modelList.map((model) => ({ model, actions: actionList as GatewayAction[] }));
}

function storePath(dataDir: string): string {
  return join(dataDir, 'aegis.db');
}

/** Opens the key store; list and revoke refuse a data dir that has none rather than create one. */
function withStore<T>(dataDir: string, mustExist: boolean, run: (store: ApiKeyStore) => T): T {
  const path = storePath(dataDir);
  if (mustExist && !existsSync(path)) {
    throw new AegisInputError(
      `no store at '${path}' (create a key first with aegis keys create --data-dir ${dataDir})`,
    );
  }
  if (!mustExist) ensureDataDir(dataDir);
  let db: StoreDatabase | undefined;
  try {
    db = openStore(path, API_KEY_MIGRATIONS);
    return run(new ApiKeyStore(db));
  } finally {
    db?.close();
  }
}

function line(record: ApiKeyRecord): string {
  const state = record.revokedAt ? `revoked ${record.revokedAt}` : 'active';
  return `${record.id}  ${record.name}  tier ${record.tier}  ${state}  created ${record.createdAt}\n    scopes: ${formatScopes(record.scopes)}`;
}

export function registerKeysCommand(program: Command): void {
  const keys = program
    .command('keys')
    .description("manage the gateway's API keys (stored as salted scrypt hashes in <data-dir>/aegis.db)");

  keys
    .command('create')
    .description('create an API key and print it once')
    .requiredOption('--name <name>', 'unique name among active keys (letters, digits, . _ @ -)')
    .requiredOption('--models <list>', "comma-separated model names the key may use, or '*' for all")
    .option(
      '--actions <list>',
      `comma-separated actions among ${GATEWAY_ACTIONS.join(', ')}`,
      DEFAULT_KEY_ACTIONS.join(','),
    )
    .option('--tier <tier>', 'output tier (a key of tiers: in aegis.yaml)', 'default')
    .option('--data-dir <dir>', 'gateway data directory', '.aegis')
    .option('--json', 'print {id, name, key, tier, scopes, warning} as JSON')
    .action((flags: CreateFlags) => {
      const scopes = parseKeyScopes(flags.models, flags.actions);
      const created = withStore(flags.dataDir, false, (store) =>
        store.create({ name: flags.name, scopes, tier: flags.tier }),
      );
      const out = cliOutput();
      if (flags.json) {
        const summary = { id: created.id, name: flags.name, key: created.key, tier: flags.tier, scopes };
        out.out(`${JSON.stringify({ ...summary, warning: WARNING }, null, 2)}\n`);
        return;
      }
      out.out(
        `created key '${flags.name}' (id ${created.id}, tier ${flags.tier})\n` +
          `  scopes: ${formatScopes(scopes)}\n\n` +
          `  ${created.key}\n\n` +
          `${WARNING}\n` +
          `Send it as 'x-api-key: <key>' or 'Authorization: Bearer <key>'.\n`,
      );
    });

  keys
    .command('list')
    .description('list keys (id, name, tier, scopes, created, revoked); never secrets or hashes')
    .option('--data-dir <dir>', 'gateway data directory', '.aegis')
    .option('--json', 'print the records as JSON')
    .action((flags: DataDirFlags) => {
      const records = withStore(flags.dataDir, true, (store) => store.list());
      const out = cliOutput();
      if (flags.json) out.out(`${JSON.stringify(records, null, 2)}\n`);
      else if (records.length === 0) out.out('no keys\n');
      else out.out(`${records.map(line).join('\n')}\n`);
    });

  keys
    .command('revoke')
    .description('revoke the active key with this id or name; running gateways refuse it on the next request')
    .argument('<id-or-name>', 'key id (12 hex digits) or name')
    .option('--data-dir <dir>', 'gateway data directory', '.aegis')
    .option('--json', 'print {revoked: id} as JSON')
    .action((idOrName: string, flags: DataDirFlags) => {
      const revoked = withStore(flags.dataDir, true, (store) => {
        const target = store.list().find((r) => r.revokedAt === null && (r.id === idOrName || r.name === idOrName));
        if (target === undefined || !store.revoke(target.id)) {
          throw new AegisInputError(`no active key with id or name '${idOrName}' in ${storePath(flags.dataDir)}`);
        }
        return target;
      });
      if (flags.json) cliOutput().out(`${JSON.stringify({ revoked: revoked.id, name: revoked.name })}\n`);
      else cliOutput().out(`revoked key '${revoked.name}' (id ${revoked.id})\n`);
    });
}
