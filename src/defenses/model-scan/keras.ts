/**
 * Keras model configs (config.json of a Keras 3 `.keras` zip, or the `model_config` /
 * `training_config` attributes of a legacy `.h5`): walks every serialized object (functional,
 * sequential, nested models, wrappers, compile config) and reports what makes loading run code
 * that is not Keras's own: Lambda layers (marshalled Python bytecode), custom objects (classes or
 * functions from other modules), modules such as os/subprocess/builtins named in a config (the
 * CVE-2025-1550 pattern), and layers that read external files or SavedModels.
 */
import type { Finding, FormatScanner, ScanContext, Severity } from './finding.js';
import { decodeUtf8, type GuardedJson, isPlainObject, parseGuardedJson } from './json-guard.js';
import {
  isDangerousModule,
  isKerasBuiltinClass,
  isKerasEcosystemModule,
  isKerasModule,
  KERAS_VALUE_PSEUDO_CLASSES,
} from './keras-builtins.js';
import { describeMarshalledCode, summarizeMarshalledCode } from './marshal-names.js';

/** Lambda findings beyond this many are summed up in one line (a config can hold thousands). */
const MAX_LAMBDA_FINDINGS = 100;

const SAFE_MODE_NOTE =
  'Keras 3 refuses it only under safe_mode=True, the default for .keras files; tf.keras 2.x and legacy .h5 loading run it';

interface CustomUse {
  severity: Severity;
  rule: string;
  message: string;
  first: string;
  count: number;
}

class ConfigWalk {
  readonly findings: Finding[] = [];
  private readonly handled = new WeakSet<object>();
  private readonly custom = new Map<string, CustomUse>();
  private lambdas = 0;

  constructor(private readonly prefix: string) {}

  private add(severity: Severity, rule: string, message: string, location: string): void {
    this.findings.push({ severity, rule, message, location: `${this.prefix}${location}` });
  }

  /** Custom objects are reported once per (rule, class, module) with a count. */
  private addCustom(severity: Severity, rule: string, key: string, message: string, location: string): void {
    const use = this.custom.get(`${rule}|${key}`);
    if (use) use.count++;
    else this.custom.set(`${rule}|${key}`, { severity, rule, message, first: location, count: 1 });
  }

  walk(value: unknown, path: string): void {
    if (Array.isArray(value)) {
      value.forEach((v, i) => {
        this.walk(v, `${path}[${i}]`);
      });
      return;
    }
    if (!isPlainObject(value)) return;
    if (typeof value.class_name === 'string' && !this.handled.has(value)) this.inspect(value, path);
    for (const [key, v] of Object.entries(value)) this.walk(v, `${path}.${key}`);
  }

  finish(): Finding[] {
    if (this.lambdas > MAX_LAMBDA_FINDINGS) {
      this.add(
        'critical',
        'keras/lambda',
        `${this.lambdas - MAX_LAMBDA_FINDINGS} more Lambda layers not listed one by one`,
        'config',
      );
    }
    for (const use of this.custom.values()) {
      const times = use.count > 1 ? ` (used ${use.count} times)` : '';
      this.add(use.severity, use.rule, `${use.message}${times}`, use.first);
    }
    return this.findings;
  }

  private inspect(obj: Record<string, unknown>, path: string): void {
    const cls = obj.class_name as string;
    const config = obj.config;
    const layerName = isPlainObject(config) && typeof config.name === 'string' ? config.name : undefined;
    const location = layerName ? `layer ${JSON.stringify(layerName)} (${cls}) at ${path}` : `${cls} at ${path}`;
    if (cls === '__lambda__') {
      this.lambdaCode(obj, location, 'serialized lambda function');
      return;
    }
    if (cls === 'Lambda' && isPlainObject(config)) this.lambdaLayer(config, location);
    if (isPlainObject(config)) this.fileAccess(cls, config, location);
    this.origin(obj, cls, location);
  }

  /** Where the object's code comes from: Keras itself, a keras-team package, or anywhere else. */
  private origin(obj: Record<string, unknown>, cls: string, location: string): void {
    if (KERAS_VALUE_PSEUDO_CLASSES.has(cls)) return;
    const module = typeof obj.module === 'string' ? obj.module : undefined;
    const registered = typeof obj.registered_name === 'string' ? obj.registered_name : undefined;
    const what =
      cls === 'function'
        ? `function ${JSON.stringify(`${module ?? '?'}.${String(obj.config)}`)}`
        : `class ${JSON.stringify(cls)}`;
    const origin = `${module ? ` from module ${JSON.stringify(module)}` : ''}${registered && registered !== cls ? ` (registered as ${JSON.stringify(registered)})` : ''}`;
    if (module !== undefined && isDangerousModule(module)) {
      this.addCustom(
        'critical',
        'keras/dangerous-module',
        `${module}|${what}`,
        `${what}${origin}: the config makes Keras import and call into ${JSON.stringify(module)}, which reaches the shell, files or the interpreter (CVE-2025-1550 pattern)`,
        location,
      );
      return;
    }
    if (module !== undefined && isKerasEcosystemModule(module)) {
      this.addCustom(
        'low',
        'keras/ecosystem-object',
        `${module}|${what}`,
        `${what}${origin}: loading needs the keras-team package ${JSON.stringify(module.split('.')[0])} installed`,
        location,
      );
      return;
    }
    const customRegistration = registered !== undefined && registered !== cls && cls !== 'function';
    const builtin =
      module !== undefined
        ? isKerasModule(module) && !customRegistration
        : !customRegistration && isKerasBuiltinClass(cls);
    if (builtin) return;
    const why = module !== undefined ? '' : ' is not a Keras built-in and';
    this.addCustom(
      'high',
      'keras/custom-object',
      `${module ?? ''}|${what}|${registered ?? ''}`,
      `custom object: ${what}${origin}${why} needs its author's Python code to load (custom_objects or an import), which then runs`,
      location,
    );
  }

  private lambdaLayer(config: Record<string, unknown>, location: string): void {
    const fn = config.function;
    const module = typeof config.module === 'string' ? config.module : undefined;
    if (isPlainObject(fn) && fn.class_name === '__lambda__') {
      this.handled.add(fn);
      this.lambdaCode(fn, location, 'Lambda layer');
    } else if (Array.isArray(fn) && typeof fn[0] === 'string') {
      this.lambdaFinding(location, 'Lambda layer', fn[0]);
    } else if (typeof fn === 'string' && config.function_type !== 'function') {
      this.lambdaFinding(location, 'Lambda layer', fn);
    } else if (typeof fn === 'string' || (isPlainObject(fn) && fn.class_name === 'function')) {
      const name = typeof fn === 'string' ? fn : String(fn.config);
      const from = typeof fn === 'string' ? module : typeof fn.module === 'string' ? fn.module : undefined;
      if (isPlainObject(fn)) this.handled.add(fn);
      const dangerous = from !== undefined && isDangerousModule(from);
      this.add(
        dangerous ? 'critical' : 'high',
        dangerous ? 'keras/dangerous-module' : 'keras/lambda-reference',
        `Lambda layer calls the named function ${JSON.stringify(`${from ?? '?'}.${name}`)}: loading imports it and every call runs it`,
        location,
      );
    } else {
      this.lambdaFinding(location, 'Lambda layer', undefined);
    }
    const shape = config.output_shape;
    if (isPlainObject(shape) && shape.class_name === '__lambda__') {
      this.handled.add(shape);
      this.lambdaCode(shape, `${location} output_shape`, 'Lambda output_shape function');
    } else if (config.output_shape_type === 'lambda' && Array.isArray(shape) && typeof shape[0] === 'string') {
      this.lambdaFinding(`${location} output_shape`, 'Lambda output_shape function', shape[0]);
    }
  }

  /** Keras 3: {class_name: '__lambda__', config: {code | value}}; `value` is func_dump's [code, defaults, closure]. */
  private lambdaCode(obj: Record<string, unknown>, location: string, what: string): void {
    const c = obj.config;
    let code: string | undefined;
    if (isPlainObject(c)) {
      if (typeof c.code === 'string') code = c.code;
      else if (typeof c.value === 'string') code = c.value;
      else if (Array.isArray(c.value) && typeof c.value[0] === 'string') code = c.value[0];
    }
    this.lambdaFinding(location, what, code);
  }

  private lambdaFinding(location: string, what: string, code: string | undefined): void {
    this.lambdas++;
    if (this.lambdas > MAX_LAMBDA_FINDINGS) return;
    const detail =
      code === undefined ? 'code that could not be read' : describeMarshalledCode(summarizeMarshalledCode(code));
    this.add(
      'critical',
      'keras/lambda',
      `${what} holds ${detail}: arbitrary Python runs when the model is loaded (${SAFE_MODE_NOTE})`,
      location,
    );
  }

  /** Built-in layers that read files or whole SavedModels named in their config. */
  private fileAccess(cls: string, config: Record<string, unknown>, location: string): void {
    if (cls === 'TFSMLayer') {
      this.add(
        'high',
        'keras/external-model',
        `TFSMLayer loads the TensorFlow SavedModel at ${JSON.stringify(config.filepath ?? '?')}, whose graph is not in this file and is not checked`,
        location,
      );
    }
    if (['StringLookup', 'IntegerLookup', 'TextVectorization'].includes(cls) && typeof config.vocabulary === 'string') {
      this.add(
        'medium',
        'keras/external-file',
        `${cls} reads its vocabulary from the path ${JSON.stringify(config.vocabulary)} when loaded (files or URLs outside the model)`,
        location,
      );
    }
    if ((cls === 'TFOpLambda' || cls === 'SlicingOpLambda') && typeof config.function === 'string') {
      const fn = config.function;
      if (/(^|\.)(io|gfile|debugging)\.|py_function|numpy_function|py_func|write_file|read_file/.test(fn)) {
        this.add(
          'high',
          'keras/tf-op-io',
          `${cls} calls the TensorFlow function tf.${fn}, which reads or writes files or runs Python`,
          location,
        );
      }
    }
  }
}

/** Findings for an already parsed Keras config (`source` prefixes every location, e.g. 'attribute "model_config": '). */
export function scanKerasConfigValue(value: unknown, source = ''): Finding[] {
  if (!isPlainObject(value) || typeof value.class_name !== 'string') {
    return [
      {
        severity: 'medium',
        rule: 'keras/malformed-config',
        message: 'not a Keras model config (no top-level object with a class_name); its layers could not be checked',
        location: `${source}config`,
      },
    ];
  }
  const walk = new ConfigWalk(source);
  walk.walk(value, 'config');
  return walk.finish();
}

function unparsed(parsed: Exclude<GuardedJson, { ok: true }>, what: string, source: string): Finding[] {
  if (parsed.reason === 'too-deep') {
    return [
      {
        severity: 'high',
        rule: 'keras/config-too-deep',
        message: `the ${what} ${parsed.message}; a loader recursing through it may exhaust its stack, and it was not checked`,
        location: `${source}config`,
      },
    ];
  }
  return [
    {
      severity: 'medium',
      rule: 'keras/malformed-config',
      message: `the ${what} is ${parsed.message}; Keras cannot load it and it was not checked`,
      location: `${source}config`,
    },
  ];
}

/** Findings for Keras config JSON text; depth beyond `limits.maxDepth` and invalid JSON are findings too. */
export function scanKerasConfigText(text: string, context: ScanContext, source = ''): Finding[] {
  const parsed = parseGuardedJson(text, context.limits.maxDepth);
  return parsed.ok ? scanKerasConfigValue(parsed.value, source) : unparsed(parsed, 'model config', source);
}

/**
 * A legacy .h5's `training_config` ({loss, metrics, optimizer_config, …}): no model at the top,
 * but custom losses, metrics or optimizers are deserialized (and their code needed) on compile.
 */
export function scanKerasTrainingConfigText(text: string, context: ScanContext, source = ''): Finding[] {
  const parsed = parseGuardedJson(text, context.limits.maxDepth);
  if (!parsed.ok) return unparsed(parsed, 'training config', source);
  const walk = new ConfigWalk(source);
  walk.walk(parsed.value, 'config');
  return walk.finish();
}

/** The config.json of a Keras 3 `.keras` archive (also any Keras model config JSON). */
export function scanKerasConfig(configJson: Uint8Array, context: ScanContext): Finding[] {
  return scanKerasConfigText(decodeUtf8(configJson), context);
}

/** A standalone Keras config.json (a `.keras` archive's entries go through scanKerasConfig directly). */
export const kerasScanner: FormatScanner = {
  format: 'keras',
  matches(head, name) {
    if (!/(^|[/\\])config\.json$/i.test(name)) return false;
    const text = decodeUtf8(head).trimStart();
    return text.startsWith('{') && /"(class_name|module)"/.test(text);
  },
  scan(source, context) {
    if (source.size > context.limits.maxEntryBytes) {
      return [
        {
          severity: 'high',
          rule: 'keras/config-too-large',
          message: `config.json is ${source.size} bytes, over the limit of ${context.limits.maxEntryBytes}; refused unread`,
          location: 'config',
        },
      ];
    }
    return scanKerasConfig(source.read(0, source.size), context);
  },
};
