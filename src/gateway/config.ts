/**
 * The gateway's configuration (aegis.yaml), validated with zod. Every section has defaults, so
 * the smallest file is `models: {cnn: {path: cnn.onnx}}`; every bad value is named by its path
 * in one error listing all of them (`limits.rate.requests: expected a positive integer, got -1`).
 *
 *   server:      host, port, bodyLimitBytes, requestTimeoutMs, maxBatch, shutdownGraceMs
 *   dataDir:     where the store (aegis.db: keys, budgets, audit, alerts) lives
 *   models:      name → {path, detector?, reference?}
 *   auth:        apiKeys (on), jwt? {keys, issuer?, audience?, algorithms}, revocationCheckMs (1)
 *   tiers:       name → output mode (full | top-k | rounded | label)
 *   limits:      store (memory | sqlite | redis), rate per key and model, query budget
 *   redis:       url, keyPrefix (shared limits across replicas)
 *   extraction:  PRADA on/off, threshold, minQueries, action (log | throttle | block)
 *   monitoring:  drift windows and thresholds
 *   audit:       on/off, mode (journal | commit)
 */
import { readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { AegisInputError } from '../core/errors.js';
import { EXTRACTION_ACTIONS, OUTPUT_MODES } from './types.js';

/** Model names appear in URLs: letters, digits, dot, dash, underscore; no leading dot; ≤ 64 characters. */
export const MODEL_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

const positiveInt = z.number().int().positive();
/** Node timers fire at once (1 ms) past 2^31 - 1 ms: a longer grace or timeout would mean none. */
const durationMs = positiveInt.max(2_147_483_647);
const port = z.number().int().min(0).max(65535);

const serverSchema = z
  .object({
    host: z.string().min(1).default('127.0.0.1'),
    port: port.default(8080),
    /** Largest request body accepted (413 above). Default 4 MiB: a batch of 256 Fashion-MNIST images as JSON fits. */
    bodyLimitBytes: positiveInt.default(4 * 1024 * 1024),
    /** A request (headers and body) must arrive within this; slow clients get 408. */
    requestTimeoutMs: durationMs.default(10_000),
    /** Most examples in one predict request. */
    maxBatch: positiveInt.default(256),
    /** On SIGTERM/SIGINT: stop accepting, let in-flight requests finish for at most this long. */
    shutdownGraceMs: durationMs.default(10_000),
  })
  .strict();

const detectorSchema = z
  .object({
    /** An adversarial-input detector of src/defenses/detection. */
    kind: z.enum(['feature-squeezing', 'mahalanobis']),
    /** Clean calibration data (a data spec as the CLI takes it, e.g. bundled:test[0:500] or a .npz). */
    calibration: z.string().min(1),
    /** False-positive rate the threshold is calibrated to. */
    targetFalsePositiveRate: z.number().gt(0).lt(1).default(0.05),
    /** What a flagged input gets: 'reject' (422) or 'log' (served, flagged in the audit log). */
    action: z.enum(['reject', 'log']).default('reject'),
  })
  .strict();

const modelSchema = z
  .object({
    /** ONNX file or saved Aegis/tfjs model directory; relative to the config file. */
    path: z.string().min(1),
    detector: detectorSchema.optional(),
    /** Reference inputs for drift monitoring (data spec); default: the first window of live traffic. */
    reference: z.string().min(1).optional(),
  })
  .strict();

const jwtSchema = z
  .object({
    /** Public keys that may sign tokens: PEM (SPKI) or JWK files, relative to the config file. */
    keys: z.array(z.string().min(1)).min(1),
    issuer: z.string().min(1).optional(),
    audience: z.string().min(1).optional(),
    algorithms: z
      .array(z.enum(['EdDSA', 'ES256']))
      .min(1)
      .default(['EdDSA', 'ES256']),
    /** Tier for tokens without an `aegis_tier` claim. */
    defaultTier: z.string().min(1).default('default'),
  })
  .strict();

const authSchema = z
  .object({
    apiKeys: z.boolean().default(true),
    jwt: jwtSchema.optional(),
    /** A revocation committed by another process is seen by requests starting this long after it (0: every request re-reads). */
    revocationCheckMs: z.number().min(0).max(60_000).default(1),
  })
  .strict()
  .default({ apiKeys: true, revocationCheckMs: 1 });

const tierSchema = z
  .object({
    output: z.enum(OUTPUT_MODES),
    /** top-k: how many classes keep their score. */
    k: positiveInt.optional(),
    /** rounded: decimals kept. */
    decimals: z.number().int().min(0).max(8).optional(),
  })
  .strict()
  .superRefine((t, ctx) => {
    if (t.output === 'top-k' && t.k === undefined)
      ctx.addIssue({ code: 'custom', path: ['k'], message: 'top-k needs k' });
    if (t.output === 'rounded' && t.decimals === undefined) {
      ctx.addIssue({ code: 'custom', path: ['decimals'], message: 'rounded needs decimals' });
    }
  });

const rateSchema = z
  .object({
    /** Requests allowed per key and model in each window of `perSeconds`. */
    requests: positiveInt.default(100),
    perSeconds: positiveInt.default(1),
  })
  .strict();

const budgetSchema = z
  .object({
    /** Examples (not requests) a key may send to one model per period; persists across restarts. */
    queries: positiveInt.default(100_000),
    /** Period length; default 30 days. */
    perSeconds: positiveInt.default(30 * 24 * 3600),
  })
  .strict();

const limitsSchema = z
  .object({
    /** Where counters live: one process (memory), one host across restarts (sqlite), several replicas (redis). */
    store: z.enum(['memory', 'sqlite', 'redis']).optional(),
    rate: rateSchema.default({ requests: 100, perSeconds: 1 }),
    budget: budgetSchema.default({ queries: 100_000, perSeconds: 30 * 24 * 3600 }),
  })
  .strict()
  .default({ rate: { requests: 100, perSeconds: 1 }, budget: { queries: 100_000, perSeconds: 30 * 24 * 3600 } });

const redisSchema = z
  .object({
    url: z.string().regex(/^rediss?:\/\//, { error: 'must be a redis:// or rediss:// URL' }),
    keyPrefix: z.string().min(1).default('aegis'),
  })
  .strict();

const extractionSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** PRADA (Juuti et al. 2019): alarm when the Shapiro-Wilk W of a client's minimum distances falls below this. */
    threshold: z.number().gt(0).lt(1).default(0.9),
    /** Queries a client must have sent before the test is applied. */
    minQueries: positiveInt.default(100),
    action: z.enum(EXTRACTION_ACTIONS).default('throttle'),
    /** Rate applied to a throttled client. */
    throttle: rateSchema.default({ requests: 1, perSeconds: 10 }),
  })
  .strict()
  .default({
    enabled: true,
    threshold: 0.9,
    minQueries: 100,
    action: 'throttle',
    throttle: { requests: 1, perSeconds: 10 },
  });

const monitoringSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** Examples per window (at least 2); the reference is the first window unless models.*.reference is given. */
    windowSize: positiveInt.min(2).default(1000),
    /** Significance for KS and chi-square (Bonferroni-corrected over features). */
    alpha: z.number().gt(0).lt(1).default(0.01),
    /** Population stability index above this → drift. */
    psiThreshold: z.number().positive().default(0.2),
    /** Drop in mean top-class confidence (absolute) that raises an alert. */
    confidenceDrop: z.number().positive().max(1).default(0.1),
    /**
     * Fraction of served requests the gateway's drift monitors see (every 1/sampleRate-th, in
     * arrival order). Unset = 1: every request. Windows then take 1/sampleRate times as many
     * requests to fill (detection delay grows by that factor), and the window tests cost that much less.
     */
    sampleRate: z.number().gt(0).max(1).optional(),
    /**
     * Where the window tests run. Unset = 'worker': a worker thread (the event loop only copies the rows);
     * 'background': on the event loop in slices of ~4 ms between requests.
     */
    evaluation: z.enum(['worker', 'background']).optional(),
  })
  .strict()
  .default({ enabled: true, windowSize: 1000, alpha: 0.01, psiThreshold: 0.2, confidenceDrop: 0.1 });

export const AUDIT_MODES = ['journal', 'commit'] as const;

const auditSchema = z
  .object({
    enabled: z.boolean().default(true),
    /**
     * journal: each answer is journaled (one write) before it leaves and folded into the hash chain
     * within ~10 ms; commit: each answer waits for its SQLite commit. Both survive kill -9.
     */
    mode: z.enum(AUDIT_MODES).default('journal'),
  })
  .strict()
  .default({ enabled: true, mode: 'journal' });

export const gatewayConfigSchema = z
  .object({
    server: serverSchema.default({
      host: '127.0.0.1',
      port: 8080,
      bodyLimitBytes: 4 * 1024 * 1024,
      requestTimeoutMs: 10_000,
      maxBatch: 256,
      shutdownGraceMs: 10_000,
    }),
    dataDir: z.string().min(1).default('.aegis'),
    models: z.record(z.string(), modelSchema).refine((m) => Object.keys(m).length > 0, {
      error: 'serve at least one model',
    }),
    auth: authSchema,
    tiers: z.record(z.string().min(1), tierSchema).default({ default: { output: 'full' } }),
    limits: limitsSchema,
    redis: redisSchema.optional(),
    extraction: extractionSchema,
    monitoring: monitoringSchema,
    audit: auditSchema,
  })
  .strict()
  .superRefine((c, ctx) => {
    for (const name of Object.keys(c.models)) {
      if (!MODEL_NAME_PATTERN.test(name)) {
        ctx.addIssue({
          code: 'custom',
          path: ['models', name],
          message: 'model names may hold letters, digits, dot, dash and underscore (≤ 64, not starting with a dot)',
        });
      }
    }
    if (!('default' in c.tiers)) ctx.addIssue({ code: 'custom', path: ['tiers'], message: "needs a 'default' tier" });
    if (c.limits.store === 'redis' && !c.redis) {
      ctx.addIssue({ code: 'custom', path: ['limits', 'store'], message: "'redis' needs a redis: {url} section" });
    }
  });

export type GatewayConfig = z.infer<typeof gatewayConfigSchema>;
export type ModelConfig = GatewayConfig['models'][string];
export type TierConfig = GatewayConfig['tiers'][string];
export type LimitsConfig = GatewayConfig['limits'];
export type ExtractionConfig = GatewayConfig['extraction'];
export type MonitoringConfig = GatewayConfig['monitoring'];
export type JwtConfig = NonNullable<GatewayConfig['auth']['jwt']>;

/** Where counters live when the config does not say: Redis when configured, else SQLite. */
export function limitsStore(config: GatewayConfig): 'memory' | 'sqlite' | 'redis' {
  return config.limits.store ?? (config.redis ? 'redis' : 'sqlite');
}

/** Validates a parsed config object; `source` names the file in the error. Paths stay as written. */
export function parseGatewayConfig(value: unknown, source = 'config'): GatewayConfig {
  const parsed = gatewayConfigSchema.safeParse(value ?? {});
  if (parsed.success) return parsed.data;
  const lines = parsed.error.issues.map((issue) => `  ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  throw new AegisInputError(`${source}: invalid gateway configuration:\n${lines.join('\n')}`);
}

/** Reads and validates aegis.yaml (YAML or JSON); model, key and data paths become absolute, relative to the file. */
export function loadGatewayConfig(path: string): GatewayConfig {
  let text: string;
  try {
    // A FIFO or a device would block the read forever.
    if (!statSync(path).isFile()) throw new Error('not a regular file');
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new AegisInputError(`cannot read the gateway config '${path}': ${(error as Error).message}`);
  }
  let value: unknown;
  try {
    value = parseYaml(text, { prettyErrors: true });
  } catch (error) {
    throw new AegisInputError(`${path}: not valid YAML: ${(error as Error).message}`);
  }
  return resolveConfigPaths(parseGatewayConfig(value, path), dirname(resolve(path)));
}

/** The config with every relative file path resolved against `baseDir`. Data specs like bundled:… stay as they are. */
export function resolveConfigPaths(config: GatewayConfig, baseDir: string): GatewayConfig {
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(baseDir, p));
  const spec = (s: string) => (/^[a-z-]+:/.test(s) ? s : abs(s));
  const models = Object.fromEntries(
    Object.entries(config.models).map(([name, m]) => [
      name,
      {
        ...m,
        path: abs(m.path),
        reference: m.reference === undefined ? undefined : spec(m.reference),
        detector: m.detector === undefined ? undefined : { ...m.detector, calibration: spec(m.detector.calibration) },
      },
    ]),
  );
  const jwt = config.auth.jwt ? { ...config.auth.jwt, keys: config.auth.jwt.keys.map(abs) } : undefined;
  return { ...config, dataDir: abs(config.dataDir), models, auth: { ...config.auth, jwt } };
}
