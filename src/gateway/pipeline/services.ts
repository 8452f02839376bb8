/**
 * What the request pipeline needs from the gateway's parts, as the small interfaces the hooks
 * call. The real parts (auth/, limits/, extraction/, audit/, src/monitoring) implement them;
 * tests may replace any of them (e.g. an audit log whose disk is full).
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { StoreDatabase } from '../../store/store.js';
import type { JournaledAudit } from '../audit/journaled-audit.js';
import type { Limits } from '../limits/limits.js';
import type { AuditEntry, GatewayAction, Principal } from '../types.js';

/** The part of Limits the hooks call (deferWrites: the audit hook batches the sqlite budget's writes). */
export type LimitsService = Pick<Limits, 'consume' | 'close'> & Partial<Pick<Limits, 'deferWrites'>>;
export type { LimitVerdict } from '../limits/limits.js';

export interface ExtractionService {
  observe(principalId: string, model: string, rows: Float32Array, rowSize: number, labels: Int32Array): void;
  status(principalId: string, model: string): 'ok' | 'throttled' | 'blocked';
}

export interface MonitorService {
  observe(rows: Float32Array, rowSize: number, scores: Float32Array, numClasses: number): void;
  report(): unknown;
}

export interface AuditService {
  append(entry: AuditEntry): { seq: number; hash: string };
  /** Several entries in one transaction; inside a caller's IMMEDIATE transaction, in that one (AuditLog). */
  appendMany?(entries: readonly AuditEntry[]): { seq: number; hash: string }[];
}

export interface GatewayServices {
  db: StoreDatabase;
  /** A promise only when the answer needs work (a first scrypt, a JWT): cached keys answer synchronously. */
  authenticate(headers: IncomingHttpHeaders): Principal | null | Promise<Principal | null>;
  authorize(principal: Principal, model: string | null, action: GatewayAction): boolean;
  limits?: LimitsService;
  extraction?: ExtractionService;
  /** Drift monitor per model name. */
  monitors: Map<string, MonitorService>;
  audit?: AuditService;
  /** Journal mode (audit.mode: journal): answers are journaled, then folded into `audit` off the request path. */
  auditJournal?: JournaledAudit;
  /** Redis reachable (readiness); absent when no Redis is configured. */
  redisReady?: () => Promise<boolean>;
  /** Releases connections (Redis) the services hold; the server closes the store itself. */
  close(): Promise<void>;
}
