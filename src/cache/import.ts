import type { Registry } from 'prom-client';
import type { Clock } from '../shared/clock.js';
import { counter } from '../shared/metrics.js';
import { parseListCsv, type CsvProblem, type ListCsvKind } from './csv.js';
import type { ListCache } from './list-cache.js';

export interface ImportOptions {
  /** Version number of the result; by default one more than the cache's. Must be higher. */
  readonly version?: number;
  /** Add to / replace rows of the current list instead of replacing the whole list of that kind. */
  readonly merge?: boolean;
  readonly clock: Clock;
  /** Rows refused are counted here (zonegate_list_import_problems_total{column}). */
  readonly registry?: Registry;
}

export interface ImportResult {
  readonly kind: ListCsvKind | undefined;
  /** Data rows in the file. */
  readonly rows: number;
  /** Grants or vehicles written (0 when there were problems). */
  readonly applied: number;
  readonly version: number;
  readonly problems: readonly CsvProblem[];
}

/**
 * Imports a grants CSV or an RDW vehicle-data CSV into the cache's active list. Every row is checked
 * first; when any row is wrong nothing is applied and every problem is returned with its line. The
 * rows are written in one transaction, so a crash or an error midway leaves the list as it was.
 */
export function importListCsv(cache: ListCache, text: string, options: ImportOptions): ImportResult {
  const parsed = parseListCsv(text);
  const current = cache.info().version;
  const version = options.version ?? current + 1;
  if (options.registry && parsed.problems.length > 0) {
    const c = counter(options.registry, 'zonegate_list_import_problems_total', 'List CSV problems, by column', [
      'column',
    ]);
    for (const p of parsed.problems) c.inc({ column: p.column ?? 'row' });
  }
  if (parsed.kind === undefined || parsed.problems.length > 0)
    return { kind: parsed.kind, rows: parsed.rows, applied: 0, version: current, problems: parsed.problems };
  if (!Number.isSafeInteger(version) || version <= current)
    return {
      kind: parsed.kind,
      rows: parsed.rows,
      applied: 0,
      version: current,
      problems: [{ line: 0, message: `version ${version} is not higher than the cache's version ${current}` }],
    };
  const now = options.clock.now();
  if (parsed.kind === 'grants') {
    cache.applyInPlace({
      version,
      publishedAt: now,
      source: 'import',
      replaceGrants: !options.merge,
      upsertGrants: parsed.grants,
    });
    return { kind: 'grants', rows: parsed.rows, applied: parsed.grants.length, version, problems: [] };
  }
  cache.applyInPlace({
    version,
    publishedAt: now,
    source: 'import',
    replaceVehicles: !options.merge,
    upsertVehicles: parsed.vehicles,
  });
  return { kind: 'vehicles', rows: parsed.rows, applied: parsed.vehicles.length, version, problems: [] };
}
