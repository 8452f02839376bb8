// Juuti, Szyller, Marchal & Asokan 2019, "PRADA: Protecting against DNN Model Stealing Attacks", IEEE EuroS&P — applied per client and model.
/**
 * The gateway's extraction detection: one PRADA detector per (client, model). The server calls
 * observe() after the reply is sent (off the latency path) with the rows it served and the
 * labels the model predicted, and status() before serving the next request. On the first alarm
 * for a client and model this raises one critical 'prada' alert and applies
 * config.extraction.action: 'log' → alert only (status stays 'ok'), 'throttle' → 'throttled'
 * (the limits stage applies config.extraction.throttle), 'block' → 'blocked' (403 'blocked').
 *
 * Memory is bounded: a detector holds at most classes · maxGrowingSetPerClass rows plus a window
 * of 5000 distances (80 KB), and the detectors together stay within `maxMemoryBytes` and
 * `maxClients` (the least recently seen client that has not alarmed is dropped first; it starts
 * over). Alarmed clients keep their status (a small map entry) and their detector is freed. Statuses live in memory: a restart
 * clears them, which is why the alert is also recorded in the store.
 */
import type { ExtractionConfig } from '../config.js';
import type { Alert, ExtractionAction } from '../types.js';
import { PRADA_DEFAULTS, PradaDetector, type PradaSnapshot } from './prada.js';

export type ExtractionStatus = 'ok' | 'throttled' | 'blocked';

export interface ExtractionMonitorOptions {
  /** Most rows kept per class in a client's growing set. Default 64. */
  maxGrowingSetPerClass?: number;
  /** Distances tested per client (≤ 5000). Default 5000. */
  window?: number;
  /** Most (client, model) detectors kept at once. Default 10 000. */
  maxClients?: number;
  /** Most bytes held by all detectors together. Default 256 MiB. */
  maxMemoryBytes?: number;
  /** Clock for alert times (tests). */
  now?: () => Date;
}

const STATUS_OF: Record<ExtractionAction, ExtractionStatus> = { log: 'ok', throttle: 'throttled', block: 'blocked' };

/** What the monitor knows about one client and model. */
export interface ExtractionClientState {
  status: ExtractionStatus;
  /** Live detector figures; null once the detector was freed after an alarm, or before any query. */
  detector: PradaSnapshot | null;
  /** The alert raised for this client and model, if any. */
  alert: Alert | null;
}

export class ExtractionMonitor {
  private readonly detectors = new Map<string, PradaDetector>();
  private readonly alarms = new Map<string, { status: ExtractionStatus; alert: Alert }>();
  private readonly maxClients: number;
  private readonly maxMemoryBytes: number;
  private readonly now: () => Date;
  /** Bytes held by the detectors in `detectors`. */
  private bytes = 0;

  constructor(
    private readonly config: ExtractionConfig,
    private readonly onAlert: (a: Alert) => void,
    private readonly options: ExtractionMonitorOptions = {},
  ) {
    this.maxClients = options.maxClients ?? 10_000;
    this.maxMemoryBytes = options.maxMemoryBytes ?? 256 * 1024 * 1024;
    this.now = options.now ?? (() => new Date());
  }

  /**
   * The rows a client sent to a model (rows.length = labels.length · rowSize, any layout, as
   * served) and the labels the model answered. Synchronous; a no-op when extraction detection is
   * off or the client has already alarmed for this model.
   */
  observe(principalId: string, model: string, rows: Float32Array, rowSize: number, labels: Int32Array): void {
    if (!this.config.enabled || labels.length === 0) return;
    const key = keyOf(principalId, model);
    if (this.alarms.has(key)) return;
    let detector = this.detectors.get(key);
    if (detector !== undefined) {
      // Re-inserted below, so the map's order is least recently seen first.
      this.drop(key, detector);
      if (detector.dims !== rowSize) detector = undefined;
    }
    if (detector === undefined) {
      detector = new PradaDetector(rowSize, {
        threshold: this.config.threshold,
        minQueries: this.config.minQueries,
        maxGrowingSetPerClass: this.options.maxGrowingSetPerClass ?? PRADA_DEFAULTS.maxGrowingSetPerClass,
        window: this.options.window ?? PRADA_DEFAULTS.window,
      });
    }
    const alarmed = detector.observeBatch(rows, labels);
    if (alarmed) {
      this.alarm(key, principalId, model, detector);
      return;
    }
    this.detectors.set(key, detector);
    this.bytes += detector.memoryBytes();
    this.evict(key);
  }

  status(principalId: string, model: string): ExtractionStatus {
    return this.alarms.get(keyOf(principalId, model))?.status ?? 'ok';
  }

  /** Detector figures and alarm for one client and model (for monitoring endpoints and tests). */
  inspect(principalId: string, model: string): ExtractionClientState {
    const key = keyOf(principalId, model);
    const alarm = this.alarms.get(key);
    return {
      status: alarm?.status ?? 'ok',
      detector: this.detectors.get(key)?.snapshot() ?? null,
      alert: alarm?.alert ?? null,
    };
  }

  /** Detectors currently held. */
  get trackedClients(): number {
    return this.detectors.size;
  }

  /** Bytes the detectors hold together. */
  get memoryBytes(): number {
    return this.bytes;
  }

  private drop(key: string, detector: PradaDetector): void {
    this.detectors.delete(key);
    this.bytes -= detector.memoryBytes();
  }

  /** Drops least recently seen detectors (never `keep`, the one just fed) until within both limits. */
  private evict(keep: string): void {
    for (const [key, detector] of this.detectors) {
      if (this.detectors.size <= this.maxClients && this.bytes <= this.maxMemoryBytes) break;
      if (key !== keep) this.drop(key, detector);
    }
  }

  private alarm(key: string, principalId: string, model: string, detector: PradaDetector): void {
    const snap = detector.snapshot();
    const action = this.config.action;
    const w = snap.alarmW ?? snap.w;
    const alert: Alert = {
      time: this.now().toISOString(),
      source: 'prada',
      model,
      keyId: principalId,
      severity: 'critical',
      message:
        `possible model extraction by ${principalId} on model '${model}': PRADA's Shapiro-Wilk W ` +
        `${w?.toFixed(4)} < δ ${this.config.threshold} after ${snap.alarmAtQuery} queries; action ${action}`,
      detail: {
        w,
        threshold: this.config.threshold,
        queries: snap.alarmAtQuery,
        queriesObserved: snap.queries,
        distances: snap.distances,
        tested: snap.tested,
        minQueries: this.config.minQueries,
        action,
      },
    };
    // The status is decided; the detector (already out of the map) is no longer needed.
    this.alarms.set(key, { status: STATUS_OF[action], alert });
    try {
      this.onAlert(alert);
    } catch (error) {
      // observe() runs after the reply: a failing alert sink must not take the server down.
      process.emitWarning(`aegis: could not record the PRADA alert: ${(error as Error).message}`);
    }
  }
}

function keyOf(principalId: string, model: string): string {
  return `${principalId}\u0000${model}`;
}
