/**
 * Scopes: which actions a caller may take on which models. Validation for keys being created
 * (strict: a typo is an error), and parsing of a JWT `scope` claim (lenient: entries that are not
 * `<action>:<model>` for this gateway are ignored, since tokens often carry other services' scopes).
 */
import { AegisInputError } from '../../core/errors.js';
import { MODEL_NAME_PATTERN } from '../config.js';
import { GATEWAY_ACTIONS, type GatewayAction, type Scope } from '../types.js';

export function isGatewayAction(value: unknown): value is GatewayAction {
  return typeof value === 'string' && (GATEWAY_ACTIONS as readonly string[]).includes(value);
}

/** '*' (every model) or a valid model name. */
export function isScopeModel(value: unknown): value is string {
  return typeof value === 'string' && (value === '*' || MODEL_NAME_PATTERN.test(value));
}

/** Merges entries for the same model and sorts actions, so equal permissions print and compare equally. */
export function normalizeScopes(scopes: readonly Scope[]): Scope[] {
  const byModel = new Map<string, Set<GatewayAction>>();
  for (const scope of scopes) {
    const actions = byModel.get(scope.model) ?? new Set<GatewayAction>();
    for (const action of scope.actions) actions.add(action);
    byModel.set(scope.model, actions);
  }
  return [...byModel].map(([model, actions]) => ({
    model,
    actions: GATEWAY_ACTIONS.filter((a) => actions.has(a)),
  }));
}

/** Checks scopes given for a new key; throws AegisInputError naming the first bad entry. */
export function validateScopes(scopes: unknown): Scope[] {
  if (!Array.isArray(scopes)) throw new AegisInputError('scopes must be a list of {model, actions}');
  scopes.forEach((scope, i) => {
    const s = scope as Partial<Scope> | null;
    if (s === null || typeof s !== 'object') throw new AegisInputError(`scopes[${i}] is not {model, actions}`);
    if (!isScopeModel(s.model)) {
      throw new AegisInputError(
        `scopes[${i}].model: '${String(s.model)}' is neither '*' nor a model name (letters, digits, . _ -; ≤ 64)`,
      );
    }
    if (!Array.isArray(s.actions) || s.actions.length === 0) {
      throw new AegisInputError(`scopes[${i}].actions: give at least one of ${GATEWAY_ACTIONS.join(', ')}`);
    }
    for (const action of s.actions) {
      if (!isGatewayAction(action)) {
        throw new AegisInputError(
          `scopes[${i}].actions: unknown action '${String(action)}' (known: ${GATEWAY_ACTIONS.join(', ')})`,
        );
      }
    }
  });
  return normalizeScopes(scopes as Scope[]);
}

/**
 * A JWT `scope` claim — space-separated `<action>:<model>` entries such as "predict:cnn list:*"
 * (or an array of such strings) — as scopes. Unknown or malformed entries grant nothing.
 */
export function parseScopeClaim(claim: unknown): Scope[] {
  const entries =
    typeof claim === 'string'
      ? claim.split(/\s+/)
      : Array.isArray(claim)
        ? claim.filter((e): e is string => typeof e === 'string')
        : [];
  const scopes: Scope[] = [];
  for (const entry of entries) {
    const colon = entry.indexOf(':');
    if (colon <= 0) continue;
    const action = entry.slice(0, colon);
    const model = entry.slice(colon + 1);
    if (isGatewayAction(action) && isScopeModel(model)) scopes.push({ model, actions: [action] });
  }
  return normalizeScopes(scopes);
}

/** "cnn: predict, list; *: monitor" — for the CLI and logs. */
export function formatScopes(scopes: readonly Scope[]): string {
  if (scopes.length === 0) return '(none: this key can do nothing)';
  return scopes.map((s) => `${s.model}: ${s.actions.join(', ')}`).join('; ');
}

/** A frozen deep copy, so a cached Principal cannot be altered by whoever receives it. */
export function freezeScopes(scopes: readonly Scope[]): Scope[] {
  const copy = scopes.map((s) => Object.freeze({ model: s.model, actions: Object.freeze([...s.actions]) }));
  return Object.freeze(copy) as unknown as Scope[];
}
