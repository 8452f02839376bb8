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
 * of 5000 distances, and at most `maxClients` detectors live at once (the least recently seen
 * one that has not alarmed is dropped first; its client starts over). Alarmed clients keep their
 * status (a small map entry) and their detector is freed. Statuses live in memory: a restart
 * clears them, which is why the alert is also recorded in the store.
 */
import type { ExtractionConfig } from '../config.js';
import type { Alert, ExtractionAction } from '../types.js';
import { PRADA_DEFAULTS, PradaDetector, type PradaSnapshot } from './prada.js';

export type ExtractionStatus = 'ok' | 'throttled' | 'blocked';

export interface ExtractionMonitorOptions {
  /** Most rows kept per class in a client's growing set. Default 256. */
  maxGrowingSetPerClass?: number;
  /** Distances tested per client (≤ 5000). Default 5000. */
  window?: number;
  /** Most (client, model) detectors kept at once. Default 1000. */
  maxClients?: number;
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
  private readonly now: () => Date;

  constructor(
    private readonly config: ExtractionConfig,
    private readonly onAlert: (a: Alert) => void,
    private readonly options: ExtractionMonitorOptions = {},
  ) {
    this.maxClients = options.maxClients ?? 1000;
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
    if (detector === undefined || detector.dims !== rowSize) {
      detector = new PradaDetector(rowSize, {
        threshold: this.config.threshold,
        minQueries: this.config.minQueries,
        maxGrowingSetPerClass: this.options.maxGrowingSetPerClass ?? PRADA_DEFAULTS.maxGrowingSetPerClass,
        window: this.options.window ?? PRADA_DEFAULTS.window,
      });
    } else {
      // Re-insert so the map's order is least recently seen first.
      this.detectors.delete(key);
    }
    this.detectors.set(key, detector);
    this.evict();
    if (detector.observeBatch(rows, labels)) this.alarm(key, principalId, model, detector);
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

  private evict(): void {
    while (this.detectors.size > this.maxClients) {
      const oldest = this.detectors.keys().next().value as string;
      this.detectors.delete(oldest);
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
    this.alarms.set(key, { status: STATUS_OF[action], alert });
    // The status is decided; the detector is no longer needed.
    this.detectors.delete(key);
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
