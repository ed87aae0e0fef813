export { healthRouter } from './health.ts';
export type { ConsumerHealth, DependencyStatus, HealthCheck, HealthOptions } from './health.ts';
export { metricsRouter } from './metrics.ts';
export type { MetricsRouterOptions, MetricsSource } from './metrics.ts';
