/**
 * Prometheus metrics of one gateway (prom-client, a registry per gateway so several can live in
 * one process). Labels have bounded cardinality: route templates, status codes, stage names,
 * configured model names and alert sources — never key ids, request ids or raw URLs.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export interface GatewayMetrics {
  readonly registry: Registry;
  /** One finished request (route template or 'unmatched'). */
  request(route: string, method: string, status: number, seconds: number): void;
  /** A pipeline stage refused a request. */
  rejection(stage: string, code: string): void;
  /** Examples a model answered. */
  examples(model: string, n: number): void;
  /** A detector raised an alert. */
  alert(source: string, severity: string): void;
}

/** Latency buckets (seconds): the pipeline is sub-millisecond, the tail can reach the request timeout. */
const LATENCY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10];

export function createGatewayMetrics(options: { models: string[]; defaultMetrics?: boolean }): GatewayMetrics {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'aegis_' });
  const requests = new Counter({
    name: 'aegis_gateway_requests_total',
    help: 'Requests answered, by route template, method and status code',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'aegis_gateway_request_duration_seconds',
    help: 'Time from request arrival to the response, by route template',
    labelNames: ['route'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const rejections = new Counter({
    name: 'aegis_gateway_rejections_total',
    help: 'Requests refused, by pipeline stage and error code',
    labelNames: ['stage', 'code'] as const,
    registers: [registry],
  });
  const examples = new Counter({
    name: 'aegis_gateway_examples_total',
    help: 'Examples answered, by model',
    labelNames: ['model'] as const,
    registers: [registry],
  });
  const alerts = new Counter({
    name: 'aegis_gateway_alerts_total',
    help: 'Alerts raised by extraction detection, query budgets and drift monitors, by source and severity',
    labelNames: ['source', 'severity'] as const,
    registers: [registry],
  });
  const models = new Gauge({ name: 'aegis_gateway_models', help: 'Models served', registers: [registry] });
  models.set(options.models.length);
  const known = new Set(options.models);
  // Pre-create the common series so a scrape shows them at zero before the first request.
  for (const m of known) examples.inc({ model: m }, 0);

  // Child handles per label set, so a request does not re-hash its labels (the label sets are bounded, see above).
  const requestChildren = new Map<string, { count: { inc(): void }; time: { observe(v: number): void } }>();
  const examplesChildren = new Map([...known].map((m) => [m, examples.labels(m)]));

  return {
    registry,
    request(route, method, status, seconds) {
      const key = `${status} ${method} ${route}`;
      let child = requestChildren.get(key);
      if (child === undefined) {
        child = { count: requests.labels(route, method, String(status)), time: latency.labels(route) };
        requestChildren.set(key, child);
      }
      child.count.inc();
      child.time.observe(seconds);
    },
    rejection(stage, code) {
      rejections.inc({ stage, code });
    },
    examples(model, n) {
      examplesChildren.get(model)?.inc(n);
    },
    alert(source, severity) {
      alerts.inc({ source, severity });
    },
  };
}
