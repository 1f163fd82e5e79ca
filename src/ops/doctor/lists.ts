import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { openListCache } from '../../cache/list-cache.js';
import type { PolicyConfig } from '../../config/schema.js';
import type { Clock } from '../../shared/clock.js';
import { silentLogger } from '../../shared/log.js';
import { result, type CheckResult } from './types.js';

function age(seconds: number): string {
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172_800) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86_400).toFixed(1)} days`;
}

/**
 * The list cache through its own public API (read-only use: no cleanup of its files, which
 * belong to the running gateway): a list is loaded, and it is younger than the site's limit.
 */
export function checkListAge(input: {
  dataDir: string;
  staleList: PolicyConfig['staleList'];
  clock: Clock;
}): CheckResult {
  const file = join(input.dataDir, 'lists.sqlite');
  const title = 'list age';
  const load =
    'connect the gateway to the region (mqtt section; it requests a snapshot on start), ' +
    'or load a list by hand: `zonegate cache import LIST.csv --config SITE.yaml`';
  if (!existsSync(file)) return result('lists', title, 'fail', `no list cache yet (${file})`, load);
  let info;
  try {
    const cache = openListCache(
      file,
      { clock: input.clock, log: silentLogger, registry: new Registry() },
      { cleanup: false },
    );
    try {
      info = cache.info();
    } finally {
      cache.close();
    }
  } catch (err) {
    return result(
      'lists',
      title,
      'fail',
      `cannot open ${file}: ${(err as Error).message}`,
      'run the database check; see docs/operations.md',
    );
  }
  const limitS = input.staleList.maxAgeHours * 3600;
  if (info.version === 0 || info.grants + info.vehicles === 0)
    return result('lists', title, 'fail', `the list is empty (version ${info.version})`, load);
  if (info.ageSeconds === undefined)
    return result(
      'lists',
      title,
      'warn',
      `version ${info.version} (${info.source}), ${info.grants} grants, without a publication time: its age is unknown`,
      'lists from the region carry their publication time; a CSV import does not',
    );
  const found = `version ${info.version} (${info.source}), ${info.grants} grants, published ${age(info.ageSeconds)} ago`;
  if (info.ageSeconds > limitS) {
    const consequence =
      input.staleList.action === 'keep-deciding'
        ? 'the gateway keeps deciding on it'
        : input.staleList.action === 'emergency-only'
          ? 'only emergency vehicles are let through'
          : 'every vehicle goes to manual handling';
    return result(
      'lists',
      title,
      input.staleList.action === 'keep-deciding' ? 'warn' : 'fail',
      `${found}: older than policy.staleList.maxAgeHours ${input.staleList.maxAgeHours}; ${consequence}`,
      'restore the uplink to the region (see the broker check) so the gateway receives the current list',
    );
  }
  return result('lists', title, 'pass', found);
}
