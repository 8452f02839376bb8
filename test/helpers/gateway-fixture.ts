/**
 * A gateway for tests: the Fashion-MNIST CNN (test/fixtures/fmnist_cnn.onnx) served as 'cnn' from
 * a fresh data directory, with API keys made before the server starts (one per tier and scope).
 *
 *   const gw = await gatewayFixture({ limits: { store: 'memory' } });
 *   const res = await gw.app.inject({ method: 'POST', url: '/v1/models/cnn/predict', headers: gw.auth('full'), payload });
 *   await gw.close();
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadNpzDataset } from '../../src/data/npz-dataset.js';
import { AuditLog } from '../../src/gateway/audit/audit-log.js';
import { ApiKeyStore } from '../../src/gateway/auth/api-keys.js';
import { type GatewayConfig, parseGatewayConfig } from '../../src/gateway/config.js';
import { type BuiltGateway, buildGateway, type GatewayOptions, STORE_FILE } from '../../src/gateway/server.js';
import { GATEWAY_MIGRATIONS } from '../../src/gateway/services.js';
import type { Scope } from '../../src/gateway/types.js';
import { openStore } from '../../src/store/store.js';

export const FIXTURES = new URL('../fixtures/', import.meta.url).pathname;
export const CNN_PATH = join(FIXTURES, 'fmnist_cnn.onnx');
export const TEST_NPZ = join(FIXTURES, 'fmnist_test200.npz');

export interface KeySpec {
  name: string;
  scopes: Scope[];
  tier?: string;
}

/** Keys every fixture has: one per tier with predict/list/monitor on every model, and narrower ones. */
export const DEFAULT_KEYS: KeySpec[] = [
  { name: 'full', scopes: [{ model: '*', actions: ['predict', 'list', 'monitor'] }] },
  { name: 'top', tier: 'top', scopes: [{ model: '*', actions: ['predict', 'list'] }] },
  { name: 'rounded', tier: 'round', scopes: [{ model: '*', actions: ['predict', 'list'] }] },
  { name: 'label', tier: 'label', scopes: [{ model: '*', actions: ['predict', 'list'] }] },
  { name: 'gold', tier: 'gold', scopes: [{ model: '*', actions: ['predict'] }] },
  { name: 'other-model', scopes: [{ model: 'other', actions: ['predict', 'list'] }] },
  { name: 'list-only', scopes: [{ model: 'cnn', actions: ['list'] }] },
];

export const TEST_TIERS = {
  default: { output: 'full' },
  top: { output: 'top-k', k: 3 },
  round: { output: 'rounded', decimals: 2 },
  label: { output: 'label' },
};

export interface GatewayFixture extends BuiltGateway {
  dir: string;
  config: GatewayConfig;
  /** Secret keys by name. */
  keys: Record<string, string>;
  keyIds: Record<string, string>;
  /** `{authorization: 'Bearer …'}` for a key name. */
  auth(name: string): Record<string, string>;
  /** Closes the gateway but keeps its data directory (remove `dir` yourself). */
  stop(): Promise<void>;
}

/** Writes keys into the store at `<dir>/aegis.db` (as `aegis keys create` would) and returns them. */
export function createKeys(
  dir: string,
  specs: KeySpec[],
): { keys: Record<string, string>; ids: Record<string, string> } {
  const db = openStore(join(dir, STORE_FILE), GATEWAY_MIGRATIONS);
  try {
    const store = new ApiKeyStore(db, { scrypt: { N: 1024, r: 8, p: 1 } });
    const keys: Record<string, string> = {};
    const ids: Record<string, string> = {};
    for (const spec of specs) {
      const made = store.create(spec);
      keys[spec.name] = made.key;
      ids[spec.name] = made.id;
    }
    return { keys, ids };
  } finally {
    db.close();
  }
}

/** A built (not listening) gateway; `config` is merged over the defaults (a raw aegis.yaml object). */
export async function gatewayFixture(
  config: Record<string, unknown> = {},
  options: GatewayOptions & { keys?: KeySpec[] } = {},
): Promise<GatewayFixture> {
  const dir = mkdtempSync(join(tmpdir(), 'aegis-gateway-'));
  const parsed = parseGatewayConfig({
    models: { cnn: { path: CNN_PATH } },
    tiers: TEST_TIERS,
    limits: { store: 'memory', rate: { requests: 10_000, perSeconds: 1 } },
    ...config,
    dataDir: dir,
  });
  const { keys, ids } = createKeys(dir, options.keys ?? DEFAULT_KEYS);
  let built: BuiltGateway;
  try {
    built = await buildGateway(parsed, options);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    ...built,
    dir,
    config: parsed,
    keys,
    keyIds: ids,
    auth: (name) => ({ authorization: `Bearer ${keys[name]}` }),
    stop: built.close,
    close: async () => {
      await built.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The first `n` bundled test images as nested [n, 28, 28, 1] arrays, their flat rows and labels. */
export async function testImages(n: number): Promise<{ nested: number[][][][]; flat: number[][]; labels: number[] }> {
  const data = await loadNpzDataset(TEST_NPZ);
  const per = 28 * 28;
  const flat: number[][] = [];
  const nested: number[][][][] = [];
  for (let i = 0; i < n; i++) {
    const row = Array.from(data.x.subarray(i * per, (i + 1) * per));
    flat.push(row);
    nested.push(
      Array.from({ length: 28 }, (_, h) => Array.from({ length: 28 }, (_, w) => [row[h * 28 + w] as number])),
    );
  }
  return { nested, flat, labels: Array.from(data.y.subarray(0, n)) };
}

/** The running gateway's audit log, with what its journal holds folded in first (audit.mode journal folds within ~10 ms). */
export function auditLogOf(gw: Pick<BuiltGateway, 'services'>): AuditLog {
  gw.services.auditJournal?.fold();
  return new AuditLog(gw.services.db);
}
