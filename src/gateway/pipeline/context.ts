/** What every pipeline hook is built with: the config, the served models, the services and the metrics. */
import type { FastifyBaseLogger } from 'fastify';
import type { GatewayConfig } from '../config.js';
import type { GatewayMetrics } from '../metrics.js';
import type { ModelRegistry } from '../model-registry.js';
import type { GatewayServices } from './services.js';

export interface GatewayContext {
  readonly config: GatewayConfig;
  readonly registry: ModelRegistry;
  readonly services: GatewayServices;
  readonly metrics: GatewayMetrics;
  readonly log: FastifyBaseLogger;
}
