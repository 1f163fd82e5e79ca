import { readFileSync } from 'node:fs';
import { collectDefaultMetrics, type Registry } from 'prom-client';
import { gauge } from '../shared/metrics.js';

/** The package's own version, read from package.json next to src/ or dist/. */
export function zonegateVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version?: unknown;
    };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

/** Versions shown on the status page and in zonegate_build_info. Others (model, rules) are added by the caller. */
export function baseVersions(extra: Readonly<Record<string, string>> = {}): Record<string, string> {
  return { zonegate: zonegateVersion(), node: process.versions.node, ...extra };
}

/**
 * Metrics the region's monitoring expects from every gateway besides those the modules register:
 * build info (which version runs where) and the process's own CPU, memory, handles and event-loop
 * lag (prom-client's default collectors, under their standard names so stock dashboards work).
 * Safe to call twice on one registry.
 */
export function registerProcessMetrics(
  registry: Registry,
  info: { gateway: string; versions: Readonly<Record<string, string>> },
): void {
  if (!registry.getSingleMetric('process_cpu_user_seconds_total')) collectDefaultMetrics({ register: registry });
  const build = gauge(registry, 'zonegate_build_info', 'Always 1; labels say what runs here', [
    'gateway',
    'version',
    'node',
  ]);
  build.set(
    {
      gateway: info.gateway,
      version: info.versions['zonegate'] ?? 'unknown',
      node: info.versions['node'] ?? process.versions.node,
    },
    1,
  );
}
