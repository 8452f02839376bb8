/**
 * After the reply (onResponse, then setImmediate): the heavy detectors see what was served —
 * extraction detection (PRADA) per client over the queries and returned labels, drift monitors
 * per model over inputs and probabilities (a share of the requests with monitoring.sampleRate). Off the latency path; a failure here is logged, never
 * surfaces to a caller.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { GatewayContext } from './context.js';

export function observeHook(ctx: GatewayContext) {
  const { extraction, monitors } = ctx.services;
  const sampleRate = ctx.config.monitoring.sampleRate ?? 1;
  // monitoring.sampleRate: a deterministic share of requests per model (credit accumulates by the rate).
  const credit = new Map<string, number>();
  const sampled = (model: string): boolean => {
    if (sampleRate >= 1) return true;
    const c = (credit.get(model) ?? 1 - sampleRate) + sampleRate;
    if (c >= 1) {
      credit.set(model, c - 1);
      return true;
    }
    credit.set(model, c);
    return false;
  };
  return function observe(request: FastifyRequest, reply: FastifyReply, done: () => void): void {
    done();
    const state = request.aegis;
    if (!state || reply.statusCode !== 200) return;
    const { principal, model, rows, scores, labels } = state;
    if (!principal || !model || !rows || !scores || !labels) return;
    const monitor = monitors.size > 0 && sampled(model.name) ? monitors.get(model.name) : undefined;
    if (!extraction && !monitor) return;
    setImmediate(() => {
      try {
        extraction?.observe(principal.id, model.name, rows, model.rowSize, labels);
      } catch (error) {
        ctx.log.error({ err: error, model: model.name }, 'extraction detection failed');
      }
      try {
        monitor?.observe(rows, model.rowSize, scores, model.info.numClasses);
      } catch (error) {
        ctx.log.error({ err: error, model: model.name }, 'drift monitor failed');
      }
    });
  };
}
