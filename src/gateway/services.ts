/**
 * The gateway's parts, built from the config around one open store: API keys and JWT
 * verification (auth/), rate limits and query budgets (limits/), extraction detection
 * (extraction/), a drift monitor per model (src/monitoring), the audit log (audit/). Each part
 * brings its own migrations; GATEWAY_MIGRATIONS is all of them, applied when the store opens.
 */

import { join } from 'node:path';
import { Redis } from 'ioredis';
import { loadDataSpec } from '../cli/data-spec.js';
import { AegisInputError } from '../core/errors.js';
import { tabularSchemaOf } from '../models/load-model.js';
import { createModelMonitor } from '../monitoring/model-monitor.js';
import { createWorkerMonitor } from '../monitoring/worker-monitor.js';
import type { Migration, StoreDatabase } from '../store/store.js';
import { ALERT_MIGRATIONS } from './alerts.js';
import { auditCommit } from './audit/audit-commit.js';
import { AuditJournal, JOURNAL_FILE, readJournal } from './audit/audit-journal.js';
import { AUDIT_MIGRATIONS, AuditLog } from './audit/audit-log.js';
import { JournaledAudit } from './audit/journaled-audit.js';
import { API_KEY_MIGRATIONS, ApiKeyStore } from './auth/api-keys.js';
import { authorize, createAuthenticator } from './auth/authenticate.js';
import { createJwtVerifier } from './auth/jwt.js';
import type { GatewayConfig } from './config.js';
import { ExtractionMonitor } from './extraction/extraction-monitor.js';
import { createLimits, LIMIT_MIGRATIONS, type Limits } from './limits/limits.js';
import type { ModelRegistry, ServedModel } from './model-registry.js';
import type { GatewayServices, MonitorService } from './pipeline/services.js';
import type { Alert } from './types.js';

export const GATEWAY_MIGRATIONS: readonly Migration[] = [
  ...ALERT_MIGRATIONS,
  ...API_KEY_MIGRATIONS,
  ...LIMIT_MIGRATIONS,
  ...AUDIT_MIGRATIONS,
];

/** Reference window for a model's drift monitor: the configured clean data and the model's probabilities on it. */
async function referenceOf(served: ServedModel, spec: string, path: string) {
  const data = await loadDataSpec(`models.${served.name}.reference`, spec, { schema: tabularSchemaOf(path) });
  const n = data.shape[0] ?? 0;
  const width = data.shape.slice(1).reduce((a, b) => a * b, 1);
  if (width !== served.rowSize) {
    throw new AegisInputError(
      `models.${served.name}.reference: its examples have shape [${data.shape.slice(1).join(', ')}], but model '${served.name}' takes [${served.info.inputShape.join(', ')}]`,
    );
  }
  const scores = new Float32Array(n * served.info.numClasses);
  const chunk = 256;
  for (let start = 0; start < n; start += chunk) {
    const count = Math.min(chunk, n - start);
    const rows = data.x.subarray(start * served.rowSize, (start + count) * served.rowSize);
    scores.set(await served.predict(rows, count), start * served.info.numClasses);
  }
  return { inputs: data.x, scores };
}

/** PING with a deadline, on a connection that never queues commands while it is down. */
function redisProbe(url: string): { ready(): Promise<boolean>; close(): Promise<void> } {
  const client = new Redis(url, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0 });
  client.on('error', () => {}); // readiness reports it; the log would repeat it every retry
  return {
    async ready() {
      try {
        if (client.status === 'wait' || client.status === 'end') await client.connect();
        const answer = await Promise.race([
          client.ping(),
          new Promise<null>((resolve) => setTimeout(resolve, 500, null).unref()),
        ]);
        return answer === 'PONG';
      } catch {
        return false;
      }
    },
    async close() {
      client.disconnect();
    },
  };
}

/** Where the services report what no request sees (a failing audit fold, a recovered journal). */
export interface ServicesLog {
  error(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/**
 * audit.mode journal: the journal in the data directory, after folding what a previous process
 * left in it (kill -9) into the log.
 */
async function openJournaledAudit(
  config: GatewayConfig,
  db: StoreDatabase,
  audit: AuditLog,
  limits: Limits,
  log: ServicesLog,
): Promise<JournaledAudit> {
  const path = join(config.dataDir, JOURNAL_FILE);
  const left = readJournal(path);
  const journaled = new JournaledAudit({
    journal: AuditJournal.open(path),
    commit: auditCommit(db, audit, limits.deferWrites?.()),
    logged: (ids) => audit.loggedRequestIds(ids),
    recharge: (charges) => limits.recharge?.(charges),
    onError: (error, waiting) =>
      log.error(
        { err: error, waiting },
        'cannot fold the audit journal into the log; retrying (entries are safe in the journal)',
      ),
  });
  try {
    const recovered = await journaled.recover(left);
    if (recovered.recovered > 0 || recovered.torn)
      log.warn({ ...recovered }, 'audit journal recovered: entries of answered requests folded into the log');
  } catch (error) {
    journaled.close();
    throw error;
  }
  return journaled;
}

export async function createGatewayServices(
  config: GatewayConfig,
  db: StoreDatabase,
  registry: ModelRegistry,
  onAlert: (alert: Alert) => void,
  log: ServicesLog = { error: () => {}, warn: () => {} },
): Promise<GatewayServices> {
  const apiKeys = config.auth.apiKeys
    ? new ApiKeyStore(db, { revocationCheckMs: config.auth.revocationCheckMs })
    : undefined;
  const jwt = config.auth.jwt ? await createJwtVerifier(config.auth.jwt) : undefined;
  const authenticate = createAuthenticator({ apiKeys, jwt });
  const limits = await createLimits(config, { db, onAlert });
  const extraction = config.extraction.enabled ? new ExtractionMonitor(config.extraction, onAlert) : undefined;
  const monitors = new Map<string, MonitorService>();
  // monitoring.evaluation: window tests in a worker thread per model (default), or in slices on the event loop.
  const closeMonitors: (() => Promise<void>)[] = [];
  try {
    if (config.monitoring.enabled) {
      for (const served of registry.all()) {
        const modelConfig = config.models[served.name];
        const reference = modelConfig?.reference
          ? await referenceOf(served, modelConfig.reference, modelConfig.path)
          : undefined;
        const opts = {
          model: served.name,
          inputShape: served.info.inputShape,
          numClasses: served.info.numClasses,
          reference,
          onAlert,
        };
        if (config.monitoring.evaluation === 'background') {
          monitors.set(served.name, createModelMonitor(config.monitoring, opts));
        } else {
          const monitor = createWorkerMonitor(config.monitoring, opts);
          closeMonitors.push(() => monitor.close());
          monitors.set(served.name, monitor);
        }
      }
    }
  } catch (error) {
    // A bad reference must not leave a Redis connection or a monitor worker holding the process open.
    await limits.close();
    await Promise.all(closeMonitors.map((close) => close()));
    throw error;
  }
  const audit = config.audit.enabled ? new AuditLog(db, { synchronous: 'normal' }) : undefined;
  let auditJournal: JournaledAudit | undefined;
  try {
    if (audit && config.audit.mode === 'journal')
      auditJournal = await openJournaledAudit(config, db, audit, limits, log);
  } catch (error) {
    await limits.close();
    await Promise.all(closeMonitors.map((close) => close()));
    throw error;
  }
  const redis = config.redis ? redisProbe(config.redis.url) : undefined;
  return {
    db,
    authenticate,
    authorize,
    limits,
    extraction,
    monitors,
    audit,
    auditJournal,
    redisReady: redis?.ready,
    async close() {
      // The last fold writes the pending budget changes too, so it goes before the limits close.
      auditJournal?.close();
      await limits.close();
      await redis?.close();
      await Promise.all(closeMonitors.map((close) => close()));
    },
  };
}
