/**
 * The protected model gateway (fastify). Every API request walks the pipeline as fastify hooks:
 *
 *   onRequest     auth            (pipeline/auth-hook.ts)        401 / 400 / 403 / 404
 *   (body)        JSON parser     (pipeline/json-body.ts)        415 / 413 / 400, input digest
 *   preValidation limits          (pipeline/limits-hook.ts)      403 blocked / 429 + Retry-After
 *   preHandler    input schema    (pipeline/validation-hook.ts)  400 with issue paths
 *   preHandler    detector        (pipeline/detector-hook.ts)    422 or flagged
 *   handler       model + output  (pipeline/predict-handler.ts)  tier: full / top-k / rounded / label
 *   onSend        audit           (pipeline/audit-hook.ts)       appended before the response leaves
 *   onResponse    observers       (pipeline/observe-hook.ts)     extraction + drift, after the reply
 *
 * Routes: POST /v1/models/:name/predict, GET /v1/models, GET /v1/monitoring/:name (API, audited);
 * GET /healthz, /readyz, /metrics (operations: no auth, not audited).
 */
import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest, LogController } from 'fastify';
import { AegisInputError } from '../core/errors.js';
import { initRuntime } from '../core/runtime.js';
import { openStore, type StoreDatabase } from '../store/store.js';
import { listAlerts, recordAlert } from './alerts.js';
import type { GatewayConfig } from './config.js';
import { ensureDataDir } from './data-dir.js';
import { errorBody, GatewayError, rawClientErrorResponse, toGatewayError } from './errors.js';
import { createGatewayMetrics, type GatewayMetrics } from './metrics.js';
import { ModelRegistry } from './model-registry.js';
import { tierFor, tierSummary } from './output-tiers.js';
import { auditHook } from './pipeline/audit-hook.js';
import { authHook } from './pipeline/auth-hook.js';
import type { GatewayContext } from './pipeline/context.js';
import { detectorHook } from './pipeline/detector-hook.js';
import { jsonBodyParser } from './pipeline/json-body.js';
import { limitsHook } from './pipeline/limits-hook.js';
import { observeHook } from './pipeline/observe-hook.js';
import { predictHandler } from './pipeline/predict-handler.js';
import type { GatewayServices } from './pipeline/services.js';
import { RequestState } from './pipeline/state.js';
import { validationHook } from './pipeline/validation-hook.js';
import { createGatewayServices, GATEWAY_MIGRATIONS } from './services.js';
import type { Alert } from './types.js';

export interface GatewayOptions {
  /** JSON logs (pino) to stderr. Default false. */
  logger?: boolean;
  /** pino level when logging. Default 'info'. */
  logLevel?: string;
  /** Replaces some of the parts built from the config (tests: a failing audit log, a fake limiter). */
  services?: Partial<GatewayServices>;
}

export interface BuiltGateway {
  app: FastifyInstance;
  registry: ModelRegistry;
  services: GatewayServices;
  metrics: GatewayMetrics;
  /** Stops accepting, drains in-flight requests (at most server.shutdownGraceMs), then closes the store and Redis. */
  close(): Promise<void>;
}

export interface RunningGateway {
  app: FastifyInstance;
  /** http://host:port (the real port when the config asked for 0). */
  url: string;
  close(): Promise<void>;
}

/** Set when close() begins: requests that still arrive get 503. */
interface Lifecycle {
  draining: boolean;
}

/** Store file inside the data directory. */
export const STORE_FILE = 'aegis.db';

function routeLabel(request: FastifyRequest): string {
  return request.routeOptions.url ?? 'unmatched';
}

function openGatewayStore(config: GatewayConfig): StoreDatabase {
  ensureDataDir(config.dataDir);
  return openStore(join(config.dataDir, STORE_FILE), GATEWAY_MIGRATIONS);
}

/** Builds the gateway without listening (for tests with `app.inject`, or to listen yourself). */
export async function buildGateway(config: GatewayConfig, options: GatewayOptions = {}): Promise<BuiltGateway> {
  await initRuntime();
  const db = openGatewayStore(config);
  let registry: ModelRegistry | undefined;
  let services: GatewayServices | undefined;
  try {
    registry = await ModelRegistry.load(config);
    const frameworkErrors: FrameworkErrorSlot = { handle: answerFrameworkError };
    const app = createApp(config, options, frameworkErrors);
    const metrics = createGatewayMetrics({ models: registry.names() });
    const onAlert = (alert: Alert) => {
      try {
        recordAlert(db, alert);
      } catch (error) {
        app.log.error({ err: error }, 'cannot record an alert');
      }
      metrics.alert(alert.source, alert.severity);
      app.log.warn({ alert: { source: alert.source, model: alert.model, severity: alert.severity } }, alert.message);
    };
    const created = await createGatewayServices(config, db, registry, onAlert, app.log);
    services = { ...created, ...options.services };
    // A replaced audit log (tests) runs in commit mode: the journal would fold into the original one.
    if (options.services?.audit !== undefined && options.services.auditJournal === undefined && created.auditJournal) {
      created.auditJournal.close();
      services.auditJournal = undefined;
    }
    const ctx: GatewayContext = { config, registry, services, metrics, log: app.log };
    const lifecycle: Lifecycle = { draining: false };
    registerRoutes(app, ctx, lifecycle, options.logger === true);
    frameworkErrors.handle = auditedFrameworkError(ctx);
    await app.ready();
    const close = closer(app, ctx, db, lifecycle);
    return { app, registry, services, metrics, close };
  } catch (error) {
    await services?.close?.().catch(() => {});
    await registry?.dispose();
    db.close();
    throw error;
  }
}

/** Listen failures that are the address's fault: in use, not allowed, not on this machine, a host name that does not resolve. */
const LISTEN_ERRORS = new Set(['EADDRINUSE', 'EACCES', 'EADDRNOTAVAIL', 'ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL']);

/** Builds the gateway and listens on server.host:server.port (port 0: any free port, see `url`). */
export async function startGateway(config: GatewayConfig, options: GatewayOptions = {}): Promise<RunningGateway> {
  const built = await buildGateway(config, options);
  try {
    await built.app.listen({ host: config.server.host, port: config.server.port });
  } catch (error) {
    await built.close();
    const code = (error as { code?: string }).code;
    if (code !== undefined && LISTEN_ERRORS.has(code)) {
      throw new AegisInputError(`cannot listen on ${config.server.host}:${config.server.port}: ${code}`);
    }
    throw error;
  }
  const address = built.app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.server.port;
  const host = config.server.host.includes(':') ? `[${config.server.host}]` : config.server.host;
  return { app: built.app, url: `http://${host}:${port}`, close: built.close };
}

/** Sockets the server timed out (408 already written by the client error handler). */
const timedOut = new WeakSet<Socket>();

/**
 * A body that stopped arriving: the socket is gone, so nobody reads this answer, but the audit log
 * and metrics record it — 408 when the server's deadline cut it, 499 when the client hung up.
 */
function abortedRequestError(error: unknown, request: FastifyRequest): GatewayError | undefined {
  if ((error as { code?: string }).code !== 'ECONNRESET') return undefined;
  return timedOut.has(request.raw.socket)
    ? new GatewayError('request_timeout', 'the request did not arrive in time', { stage: 'server' })
    : new GatewayError('client_closed', 'the client closed the connection', { stage: 'server' });
}

type FrameworkErrorHandler = (error: unknown, request: FastifyRequest, reply: FastifyReply) => void;

/** Where fastify's errors before routing go (set once the pipeline exists, to audit them). */
interface FrameworkErrorSlot {
  handle: FrameworkErrorHandler;
}

/** A malformed URL or an over-long parameter, caught before routing: the gateway's error shape and request id. */
function frameworkErrorAnswer(e: GatewayError, request: FastifyRequest, reply: FastifyReply): string {
  reply.code(e.status).header('x-request-id', request.id).header('content-type', 'application/json; charset=utf-8');
  return JSON.stringify(errorBody(e, request.id));
}

function answerFrameworkError(error: unknown, request: FastifyRequest, reply: FastifyReply): void {
  reply.send(frameworkErrorAnswer(toGatewayError(error), request, reply));
}

/**
 * Such a request under /v1/ is an API request all the same (often a probe: `/v1/models/%E0%A4%A/predict`):
 * it goes into the audit log like every other refused API request. Fastify runs no route hooks
 * for it, so the audit hook is called here.
 */
function auditedFrameworkError(ctx: GatewayContext): FrameworkErrorHandler {
  const audit = auditHook(ctx, () => 'unmatched');
  return (error, request, reply) => {
    const e = toGatewayError(error);
    const body = frameworkErrorAnswer(e, request, reply);
    ctx.metrics.rejection('server', e.code);
    if (!request.url.startsWith('/v1/')) {
      reply.send(body);
      return;
    }
    const state = new RequestState();
    state.outputSummary = { error: e.code };
    request.aegis = state;
    audit(request, reply, body, (_err, payload) => {
      reply.send(payload);
    });
  };
}

function createApp(
  config: GatewayConfig,
  options: GatewayOptions,
  frameworkErrorSlot: FrameworkErrorSlot,
): FastifyInstance {
  const { requestTimeoutMs, bodyLimitBytes } = config.server;
  const app = Fastify({
    logger: options.logger ? { level: options.logLevel ?? 'info', stream: process.stderr } : false,
    // One line per API request from our own onResponse hook instead of fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: () => randomUUID(),
    bodyLimit: bodyLimitBytes,
    requestTimeout: requestTimeoutMs,
    // Node checks request deadlines on an interval (default 30 s): check often enough for the timeout to mean something.
    http: {
      requestTimeout: requestTimeoutMs,
      headersTimeout: requestTimeoutMs,
      connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(requestTimeoutMs / 4))),
    },
    // Long names must reach the name check (400), not the router's own 414 with the path echoed.
    routerOptions: { maxParamLength: 2000 },
    // Our own 503 while draining (registerRoutes), in the gateway's error shape.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    clientErrorHandler(this: FastifyInstance, error: Error & { code?: string }, socket: Socket) {
      if (error.code === 'ECONNRESET' || socket.destroyed) return;
      this.log.info({ code: error.code }, 'client error');
      if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') timedOut.add(socket);
      if (socket.writable) socket.write(rawClientErrorResponse(error.code));
      socket.destroy();
    },
    frameworkErrors(error, request, reply) {
      frameworkErrorSlot.handle(error, request, reply as FastifyReply);
    },
  });
  app.decorateRequest('aegis', null);
  app.removeAllContentTypeParsers();
  // The body's SHA-256 is for the audit log only.
  const digest = config.audit.enabled || options.services?.audit !== undefined;
  app.addContentTypeParser(
    'application/json',
    { parseAs: 'buffer', bodyLimit: bodyLimitBytes },
    jsonBodyParser(digest),
  );
  return app;
}

function registerRoutes(app: FastifyInstance, ctx: GatewayContext, lifecycle: Lifecycle, logRequests: boolean): void {
  const { metrics } = ctx;
  app.addHook('onRequest', (_request, reply, done) => {
    if (!lifecycle.draining) {
      done();
      return;
    }
    // A request on a kept-alive connection after shutdown began: refuse it and close the connection.
    reply.header('connection', 'close');
    done(new GatewayError('unavailable', 'the server is shutting down', { stage: 'server', retryAfterSeconds: 1 }));
  });
  app.setErrorHandler((error, request, reply) => {
    const e = abortedRequestError(error, request) ?? toGatewayError(error);
    if (e.code === 'internal') request.log.error({ err: error }, 'internal error');
    const state = request.aegis;
    if (state) state.outputSummary = { error: e.code };
    metrics.rejection(e.extra.stage ?? 'server', e.code);
    if (e.extra.retryAfterSeconds !== undefined) reply.header('retry-after', String(e.extra.retryAfterSeconds));
    reply.code(e.status).send(errorBody(e, request.id));
  });
  app.setNotFoundHandler((request, reply) => {
    const e = new GatewayError('not_found', 'no such route');
    reply.code(404).send(errorBody(e, request.id));
  });
  app.addHook('onResponse', (request, reply, done) => {
    metrics.request(routeLabel(request), request.method, reply.statusCode, reply.elapsedTime / 1000);
    done();
  });

  registerOperations(app, ctx);
  app.register(
    async (api) => {
      api.addHook('onRequest', (request, reply, done) => {
        request.aegis = new RequestState();
        reply.header('x-request-id', request.id);
        done();
      });
      api.addHook('onSend', auditHook(ctx, routeLabel));
      api.addHook('onResponse', observeHook(ctx));
      // One log line per API request (only when logging: the hook would build the line for nothing).
      if (logRequests)
        api.addHook('onResponse', (request, reply, done) => {
          const state = request.aegis;
          request.log.info(
            {
              route: routeLabel(request),
              status: reply.statusCode,
              ms: Math.round(reply.elapsedTime * 100) / 100,
              keyId: state?.principal?.id,
              model: state?.model?.name,
            },
            'request',
          );
          done();
        });
      api.setNotFoundHandler((request, reply) => {
        const e = new GatewayError('not_found', 'no such route');
        if (request.aegis) request.aegis.outputSummary = { error: e.code };
        reply.code(404).send(errorBody(e, request.id));
      });
      registerApi(api, ctx);
    },
    { prefix: '/v1' },
  );
}

function registerApi(api: FastifyInstance, ctx: GatewayContext): void {
  const { registry, services, config } = ctx;
  api.post('/models/:name/predict', {
    onRequest: authHook(ctx, 'predict', true),
    preValidation: limitsHook(ctx),
    // The detector stage only where a served model has a detector (one async hook less per request otherwise).
    preHandler: registry.all().some((m) => m.detector) ? [validationHook(ctx), detectorHook(ctx)] : validationHook(ctx),
    handler: predictHandler(ctx),
  });

  api.get('/models', {
    onRequest: authHook(ctx, 'list', false),
    handler: async (request: FastifyRequest) => {
      const principal = request.aegis?.principal;
      if (!principal) throw new GatewayError('internal', 'internal error');
      const { tier } = tierFor(config.tiers, principal.tier);
      const models = registry
        .all()
        .filter((m) => services.authorize(principal, m.name, 'list'))
        .map((m) => ({
          name: m.name,
          inputShape: m.info.inputShape,
          inputRange: m.info.inputRange,
          numClasses: m.info.numClasses,
          ...(m.info.classNames ? { classNames: m.info.classNames } : {}),
          inputs: m.records ? ['tensor', 'records'] : ['tensor'],
          output: tierSummary(tier),
        }));
      if (request.aegis) request.aegis.outputSummary = { models: models.length };
      return { models };
    },
  });

  api.get('/monitoring/:name', {
    onRequest: authHook(ctx, 'monitor', true),
    handler: async (request: FastifyRequest) => {
      const served = request.aegis?.model;
      if (!served) throw new GatewayError('internal', 'internal error');
      const monitor = services.monitors.get(served.name);
      const alerts = listAlerts(services.db, { model: served.name, limit: 50 });
      if (request.aegis) request.aegis.outputSummary = { alerts: alerts.length };
      return { model: served.name, monitoring: monitor ? monitor.report() : null, alerts };
    },
  });
}

function registerOperations(app: FastifyInstance, ctx: GatewayContext): void {
  const { registry, services, metrics } = ctx;
  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_request: FastifyRequest, reply: FastifyReply) => {
    const checks: Record<string, 'ok' | 'not-ready'> = {
      models: registry.size > 0 ? 'ok' : 'not-ready',
      store: storeReady(services.db) ? 'ok' : 'not-ready',
    };
    if (services.redisReady) checks.redis = (await services.redisReady()) ? 'ok' : 'not-ready';
    const ready = Object.values(checks).every((c) => c === 'ok');
    reply.code(ready ? 200 : 503);
    return { status: ready ? 'ok' : 'not-ready', checks };
  });

  app.get('/metrics', async (_request: FastifyRequest, reply: FastifyReply) => {
    reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });
}

function storeReady(db: StoreDatabase): boolean {
  try {
    return db.open && db.prepare('SELECT 1').pluck().get() === 1;
  } catch {
    return false;
  }
}

/** close(): drain (bounded by shutdownGraceMs), then release services, models and the store. Idempotent. */
function closer(
  app: FastifyInstance,
  ctx: GatewayContext,
  db: StoreDatabase,
  lifecycle: Lifecycle,
): () => Promise<void> {
  let closing: Promise<void> | undefined;
  return () => {
    closing ??= (async () => {
      lifecycle.draining = true;
      const grace = ctx.config.server.shutdownGraceMs;
      let timer: NodeJS.Timeout | undefined;
      const drained = app.close().then(() => true);
      const late = new Promise<boolean>((resolve) => {
        timer = setTimeout(resolve, grace, false);
      });
      const inTime = await Promise.race([drained, late]);
      clearTimeout(timer);
      if (!inTime) {
        ctx.log.warn({ graceMs: grace }, 'shutdown grace period over; closing remaining connections');
        app.server.closeAllConnections();
        await drained;
      }
      await ctx.services.close();
      await ctx.registry.dispose();
      db.close();
    })();
    return closing;
  };
}
