/**
 * `aegis serve`: the protected model gateway.
 *
 *   aegis serve --config aegis.yaml
 *   aegis serve --model cnn=model.onnx [--model …] --port 8080 --data-dir .aegis [--host 127.0.0.1]
 *
 * On listen it prints one line to stdout, `aegis gateway listening on http://HOST:PORT` (the real
 * port with --port 0), so scripts and tests can find it; JSON logs go to stderr. SIGTERM/SIGINT
 * stop accepting, drain in-flight requests (at most server.shutdownGraceMs), close the store and
 * Redis, and the command returns 0.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { AegisInputError } from '../core/errors.js';
import {
  type GatewayConfig,
  loadGatewayConfig,
  MODEL_NAME_PATTERN,
  parseGatewayConfig,
  resolveConfigPaths,
} from '../gateway/config.js';
import { type RunningGateway, startGateway } from '../gateway/server.js';
import { cliOutput } from './io.js';

interface ServeFlags {
  config?: string;
  model: string[];
  port?: string;
  host?: string;
  dataDir?: string;
  logLevel: string;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** `name=path` → [name, path]. */
export function parseModelFlag(text: string): [string, string] {
  const at = text.indexOf('=');
  const name = at > 0 ? text.slice(0, at) : '';
  const path = at > 0 ? text.slice(at + 1) : '';
  if (!name || !path) throw new AegisInputError(`--model takes name=path (e.g. cnn=model.onnx), got '${text}'`);
  if (!MODEL_NAME_PATTERN.test(name)) {
    throw new AegisInputError(
      `--model: '${name}' is not a valid model name (letters, digits, dot, dash, underscore; ≤ 64; not starting with a dot)`,
    );
  }
  return [name, path];
}

function parsePort(text: string): number {
  // Digits only: Number() would take '' (an unset $PORT) as 0, any free port, and '0x50' as 80.
  const port = /^\d{1,5}$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new AegisInputError(`--port takes a whole number in [0, 65535], got '${text}'`);
  }
  return port;
}

/** The gateway config the flags describe: the file with flag overrides, or the quick form. */
export function serveConfig(flags: Omit<ServeFlags, 'logLevel'>): GatewayConfig {
  if (flags.dataDir === '') throw new AegisInputError('--data-dir takes a directory, got an empty string');
  const server: Record<string, unknown> = {};
  if (flags.port !== undefined) server.port = parsePort(flags.port);
  if (flags.host !== undefined) server.host = flags.host;
  if (flags.config) {
    if (flags.model.length > 0)
      throw new AegisInputError('--model and --config cannot be combined; list models in the config');
    const config = loadGatewayConfig(flags.config);
    return {
      ...config,
      server: { ...config.server, ...server },
      dataDir: flags.dataDir ? resolve(flags.dataDir) : config.dataDir,
    };
  }
  if (flags.model.length === 0)
    throw new AegisInputError('give --config aegis.yaml, or at least one --model name=path');
  const models: Record<string, { path: string }> = {};
  for (const text of flags.model) {
    const [name, path] = parseModelFlag(text);
    if (name in models) throw new AegisInputError(`--model: '${name}' is given twice`);
    models[name] = { path };
  }
  const config = parseGatewayConfig({ server, dataDir: flags.dataDir ?? '.aegis', models }, 'command line');
  return resolveConfigPaths(config, process.cwd());
}

/** `signal` resolves on the next SIGTERM or SIGINT; `cancel` removes the listeners without waiting. */
function stopSignal(): { signal: Promise<NodeJS.Signals>; cancel(): void } {
  let onSignal: (signal: NodeJS.Signals) => void = () => {};
  const cancel = () => {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  };
  const signal = new Promise<NodeJS.Signals>((resolveSignal) => {
    onSignal = (received) => {
      cancel();
      resolveSignal(received);
    };
  });
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return { signal, cancel };
}

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('serve models behind the protected gateway (auth, limits, validation, detection, audit)')
    .option('--config <file>', 'gateway configuration (aegis.yaml; see docs/gateway.md)')
    .option(
      '--model <name=path>',
      'serve an .onnx file or saved model directory under a name (repeatable; quick form without --config)',
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .option('--port <n>', 'port to listen on (0: any free port; overrides the config)')
    .option('--host <host>', 'address to listen on (default 127.0.0.1; overrides the config)')
    .option(
      '--data-dir <dir>',
      'store directory: keys, budgets, audit log, alerts (default .aegis; overrides the config)',
    )
    .option('--log-level <level>', `log level on stderr (${LOG_LEVELS.join(', ')})`, 'info')
    .action(async (flags: ServeFlags) => {
      if (!LOG_LEVELS.includes(flags.logLevel)) {
        throw new AegisInputError(`--log-level must be one of ${LOG_LEVELS.join(', ')}, got '${flags.logLevel}'`);
      }
      const config = serveConfig(flags);
      // Listen for signals before startup, so a SIGTERM during model loading is not the default kill.
      const stop = stopSignal();
      let gateway: RunningGateway;
      try {
        gateway = await startGateway(config, { logger: flags.logLevel !== 'silent', logLevel: flags.logLevel });
      } catch (error) {
        stop.cancel();
        const code = (error as { code?: string }).code;
        if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
          throw new AegisInputError(`cannot listen on ${config.server.host}:${config.server.port}: ${code}`);
        }
        throw error;
      }
      cliOutput().out(`aegis gateway listening on ${gateway.url}\n`);
      const signal = await stop.signal;
      gateway.app.log.info({ signal }, 'shutting down: draining in-flight requests');
      await gateway.close();
    });
}
