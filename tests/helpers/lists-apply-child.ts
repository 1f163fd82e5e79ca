/**
 * A gateway's list apply, run as a child process so that a test can SIGKILL it at any moment:
 * snapshot (chunk by chunk into a new data file, then the atomic switch), a delta in place, then a
 * CSV import in place. Prints one line per step on stdout. Usage:
 *   node --import tsx tests/helpers/lists-apply-child.ts CACHE_FILE WORK_DIR
 * WORK_DIR holds manifest.json, manifest.sha256, chunk-N.bin, delta.json and grants.csv.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { importListCsv, openListCache } from '../../src/cache/index.js';
import { systemClock } from '../../src/shared/clock.js';
import { silentLogger } from '../../src/shared/log.js';
import { applyDeltaToFile, SnapshotBuild } from '../../src/sync/lists-apply.js';
import { deltaSchema, manifestSchema } from '../../src/sync/lists-wire.js';

const [cacheFile, work] = process.argv.slice(2) as [string, string];
const say = (line: string): void => void process.stdout.write(`${line}\n`);

const cache = openListCache(cacheFile, { clock: systemClock, log: silentLogger, registry: new Registry() });
const manifest = manifestSchema.parse(JSON.parse(readFileSync(join(work, 'manifest.json'), 'utf8')));
const build = new SnapshotBuild(
  cache.newDataFile(manifest.version),
  manifest,
  readFileSync(join(work, 'manifest.sha256'), 'utf8'),
);
say('ready');
for (let i = 0; i < manifest.chunks.length; i++) {
  const r = build.addChunk(i, readFileSync(join(work, `chunk-${i}.bin`)));
  if ('reason' in r) throw new Error(r.detail);
  say(`chunk ${i}`);
}
const built = build.finish();
if ('reason' in built) throw new Error(built.detail);
say('built');
cache.activate(build.file, manifest.version);
say(`activated ${manifest.version}`);
const delta = deltaSchema.parse(JSON.parse(readFileSync(join(work, 'delta.json'), 'utf8')));
applyDeltaToFile(cache.info().file, delta);
cache.refresh();
cache.setRegionVersion(delta.version);
say(`delta ${delta.version}`);
const r = importListCsv(cache, readFileSync(join(work, 'grants.csv'), 'utf8'), { clock: systemClock });
if (r.problems.length > 0) throw new Error(JSON.stringify(r.problems));
say(`imported ${r.version}`);
cache.close();
say('done');
