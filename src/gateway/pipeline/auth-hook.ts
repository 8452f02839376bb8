/**
 * Stage 1, onRequest: who is calling (API key or JWT bearer token) and may they do this?
 *
 *   no, malformed, forged or revoked credentials   → 401, one message for all
 *   a model name that is not a model name          → 400 (never looked up, never a path)
 *   scopes do not cover the model and action       → 403, whether or not the model exists
 *   covered, but no such model is served           → 404
 *
 * Runs before the body is read, so an unauthenticated caller cannot make the server parse a body.
 * A callback hook: a key verified before is answered synchronously, so the common case costs no
 * promise (the first use of a key, or a JWT, waits for its check).
 */
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { MODEL_NAME_PATTERN } from '../config.js';
import { FORBIDDEN_MESSAGE, GatewayError, UNAUTHORIZED_MESSAGE } from '../errors.js';
import type { GatewayAction, Principal } from '../types.js';
import type { GatewayContext } from './context.js';
import type { RequestState } from './state.js';

/**
 * Two Authorization headers: Node keeps the first and drops the others, but a proxy in front may
 * have checked another one. Ambiguous credentials are no credentials (401).
 */
function authorizationRepeated(raw: readonly string[]): boolean {
  let seen = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.length === 13 && name.toLowerCase() === 'authorization' && ++seen > 1) return true;
  }
  return false;
}

/** The hook for routes whose URL names a model (`:name`), or none (`perModel: false`, e.g. the model list). */
export function authHook(ctx: GatewayContext, action: GatewayAction, perModel: boolean) {
  /** Decides on the principal; throws the refusal. */
  const admit = (request: FastifyRequest, state: RequestState, principal: Principal | null): void => {
    if (!principal) {
      state.decide('auth', 'denied', 'unauthenticated');
      throw new GatewayError('unauthorized', UNAUTHORIZED_MESSAGE, { stage: 'auth' });
    }
    state.principal = principal;
    if (!perModel) {
      state.decide('auth', 'allowed');
      return;
    }
    const name = (request.params as { name?: string }).name ?? '';
    if (!MODEL_NAME_PATTERN.test(name)) {
      state.decide('auth', 'denied', 'invalid model name');
      throw new GatewayError('bad_request', 'not a valid model name', { stage: 'auth' });
    }
    if (!ctx.services.authorize(principal, name, action)) {
      state.decide('auth', 'denied', `no '${action}' scope`);
      throw new GatewayError('forbidden', FORBIDDEN_MESSAGE, { stage: 'auth' });
    }
    const served = ctx.registry.get(name);
    if (!served) {
      state.decide('auth', 'allowed', 'no such model');
      throw new GatewayError('not_found', 'no such model', { stage: 'auth' });
    }
    state.model = served;
    state.decide('auth', 'allowed');
  };

  return function authenticate(request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction): void {
    const state = request.aegis;
    if (!state) {
      done();
      return;
    }
    const settle = (principal: Principal | null) => {
      try {
        admit(request, state, principal);
      } catch (error) {
        done(error as Error);
        return;
      }
      done();
    };
    if (request.headers.authorization !== undefined && authorizationRepeated(request.raw.rawHeaders)) {
      settle(null);
      return;
    }
    let result: ReturnType<typeof ctx.services.authenticate>;
    try {
      result = ctx.services.authenticate(request.headers);
    } catch (error) {
      done(error as Error);
      return;
    }
    if (result instanceof Promise) result.then(settle, (error: Error) => done(error));
    else settle(result);
  };
}
