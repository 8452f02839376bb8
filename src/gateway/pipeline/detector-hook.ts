/**
 * Stage 4, preHandler (models with a detector only): the adversarial-input detector of
 * src/defenses/detection, calibrated at startup. Flagged inputs are refused (422, the flagged
 * rows named, no scores: a score would guide an adaptive attacker) or served and flagged in the
 * audit log, as the model's `detector.action` says.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { tf } from '../../core/runtime.js';
import { GatewayError } from '../errors.js';
import type { GatewayContext } from './context.js';

/** At most this many flagged rows are named in an answer or an audit entry. */
const LISTED_ROWS = 10;

export function detectorHook(_ctx: GatewayContext) {
  return async function detect(request: FastifyRequest, _reply: FastifyReply): Promise<void> {
    const state = request.aegis;
    const served = state?.model;
    if (!state || !served?.detector || !state.rows) return;
    const x = tf.tensor(state.rows, [state.n, ...served.info.inputShape], 'float32');
    let flagged: Uint8Array;
    try {
      flagged = (await served.detector.detector.detect(x)).flagged;
    } finally {
      x.dispose();
    }
    const rows: number[] = [];
    for (let i = 0; i < flagged.length; i++) if (flagged[i]) rows.push(i);
    if (rows.length === 0) {
      state.decide('detector', 'passed', served.detector.kind);
      return;
    }
    const detail = `${served.detector.kind}: rows ${rows.slice(0, LISTED_ROWS).join(',')}${rows.length > LISTED_ROWS ? ',…' : ''}`;
    if (served.detector.action === 'log') {
      state.decide('detector', 'flagged', detail);
      return;
    }
    state.decide('detector', 'rejected', detail);
    throw new GatewayError('adversarial_input', 'the input was flagged as adversarial', {
      issues: rows.slice(0, LISTED_ROWS).map((i) => ({ path: `inputs[${i}]`, message: 'flagged as adversarial' })),
      omitted: Math.max(0, rows.length - LISTED_ROWS),
      stage: 'detector',
    });
  };
}
