/** Shared by the audit tests: entries that look like the gateway's, and a store with N of them. */
import { join } from 'node:path';
import { AUDIT_MIGRATIONS, AuditLog } from '../../../src/gateway/audit/audit-log.js';
import type { AuditEntry } from '../../../src/gateway/types.js';
import { openStore, type StoreDatabase } from '../../../src/store/store.js';

export function sampleEntry(i: number): AuditEntry {
  const denied = i % 7 === 3;
  return {
    time: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
    requestId: `req-${i}`,
    keyId: denied ? null : `key-${i % 3}`,
    model: i % 2 === 0 ? 'cnn' : 'mlp',
    method: 'POST',
    route: '/v1/models/:name/predict',
    status: denied ? 401 : 200,
    inputDigest: 'ab'.repeat(32),
    outputSummary: denied ? { error: 'unauthorized' } : { rows: 1, labels: [i % 10] },
    decisions: denied
      ? [{ stage: 'auth', outcome: 'denied' }]
      : [
          { stage: 'auth', outcome: 'allowed' },
          { stage: 'limits', outcome: 'allowed', detail: `remaining ${1000 - i}` },
          { stage: 'output', outcome: 'top-k' },
        ],
    latencyMs: 0.25 + i / 1000,
  };
}

export function openAuditStore(dir: string, name = 'aegis.db'): { db: StoreDatabase; log: AuditLog; path: string } {
  const path = join(dir, name);
  const db = openStore(path, AUDIT_MIGRATIONS);
  return { db, log: new AuditLog(db), path };
}

/** A fresh store in `dir` with entries 1..n appended. */
export function filledStore(dir: string, name: string, n: number) {
  const store = openAuditStore(dir, name);
  for (let i = 1; i <= n; i++) store.log.append(sampleEntry(i));
  return store;
}
