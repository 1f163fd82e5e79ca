import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { cpSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SQL, openListCache } from '../../src/cache/index.js';
import { diffLists, entryRows } from '../../src/region/lists/publish.js';
import { chunkBodies } from '../../src/region/lists/publish.js';
import { syntheticList } from '../../src/region/lists/synthetic.js';
import { seededRandom } from '../../src/shared/random.js';
import { systemClock } from '../../src/shared/clock.js';
import { silentLogger } from '../../src/shared/log.js';
import { SnapshotBuild } from '../../src/sync/lists-apply.js';
import { sha256Hex, type ListDelta, type SnapshotManifest } from '../../src/sync/lists-wire.js';
import { repoRoot } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

const LONG = process.env['ZONEGATE_SOAK'] === 'long';
const KILLS = LONG ? 60 : 6;
/** The child's progress lines (chunk 0–4 of the snapshot, then the switch, the delta, the import). */
const STEPS = ['ready', 'chunk 2', 'chunk 4', 'built', 'activated 4', 'delta 5'];
const deps = { clock: systemClock, log: silentLogger, registry: new Registry() };

/** Expected (grants, vehicles) per version the cache may be at after a kill. */
const states = new Map<number, { grants: number; vehicles: number }>();

function snapshotFiles(dir: string, version: number, plates: number, seed: number, chunkRows: number) {
  const bodies = [...chunkBodies(entryRows(syntheticList({ plates, seed })), chunkRows)];
  const manifest: SnapshotManifest = {
    zone: 'demo-centrum',
    version,
    publishedAt: Date.now(),
    snapshotId: 'aaaaaaaaaaaaaaaa',
    chunks: bodies.map((b) => sha256Hex(b.body)),
    grants: bodies.reduce((n, b) => n + b.grants, 0),
    vehicles: bodies.reduce((n, b) => n + b.vehicles, 0),
  };
  const text = JSON.stringify(manifest);
  writeFileSync(join(dir, 'manifest.json'), text);
  writeFileSync(join(dir, 'manifest.sha256'), sha256Hex(Buffer.from(text)));
  bodies.forEach((b, i) => writeFileSync(join(dir, `chunk-${i}.bin`), b.body));
  return { manifest, bodies };
}

function runChild(
  cacheFile: string,
  work: string,
  kill?: { readonly after: string; readonly delayMs: number },
): Promise<{ lines: string[]; killed: boolean; applyMs: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'tests/helpers/lists-apply-child.ts', cacheFile, work], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: string[] = [];
    let stderr = '';
    let buf = '';
    let killed = false;
    let readyAt = 0;
    let doneAt = 0;
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        lines.push(line);
        if (line === 'ready') readyAt = Date.now();
        if (line === 'done') doneAt = Date.now();
        if (kill && line === kill.after)
          setTimeout(() => {
            killed = child.kill('SIGKILL');
          }, kill.delayMs);
      }
    });
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (signal === 'SIGKILL' || code === 0)
        resolve({ lines, killed: signal === 'SIGKILL' && killed, applyMs: doneAt - readyAt });
      else reject(new Error(`child exited ${code}: ${stderr}`));
    });
  });
}

function integrity(file: string): string {
  const db = new Database(file, { readonly: true });
  try {
    return db.pragma('integrity_check', { simple: true }) as string;
  } finally {
    db.close();
  }
}

describe('a kill -9 during a list apply leaves the old or the new list, intact', () => {
  const tmp = tempDir();
  const base = join(tmp.path, 'base');
  const work = join(tmp.path, 'work');
  let applyMs = 0;

  beforeAll(async () => {
    // Version 3: a small region snapshot. The child then applies snapshot 4, delta 5 and a CSV import (6).
    rmSync(base, { recursive: true, force: true });
    for (const d of [base, work]) cpSync(join(repoRoot, 'firmware-config/demo'), d, { recursive: true });
    const cache = openListCache(join(base, 'lists.sqlite'), deps);
    const small = [...chunkBodies(entryRows(syntheticList({ plates: 500, seed: 1 })), 400)];
    const m3: SnapshotManifest = {
      zone: 'demo-centrum',
      version: 3,
      publishedAt: Date.now(),
      snapshotId: 'bbbbbbbbbbbbbbbb',
      chunks: small.map((b) => sha256Hex(b.body)),
      grants: 500,
      vehicles: 500,
    };
    const b3 = new SnapshotBuild(cache.newDataFile(3), m3, 'base');
    small.forEach((c, i) => expect(b3.addChunk(i, c.body)).not.toHaveProperty('reason'));
    expect(b3.finish()).toEqual({ grants: 500, vehicles: 500 });
    cache.activate(b3.file, 3);
    cache.close();
    states.set(3, { grants: 500, vehicles: 500 });

    const { manifest } = snapshotFiles(work, 4, 15_000, 2, 3_000);
    states.set(4, { grants: manifest.grants, vehicles: manifest.vehicles });
    const v4 = [...syntheticList({ plates: 15_000, seed: 2 })];
    const to = { grants: v4.flatMap((e) => e.grants).slice(100), vehicles: v4.map((e) => e.vehicle!).slice(0, 14_000) };
    const delta: ListDelta = {
      zone: 'demo-centrum',
      fromVersion: 4,
      version: 5,
      publishedAt: Date.now(),
      ...diffLists({ grants: v4.flatMap((e) => e.grants), vehicles: v4.map((e) => e.vehicle!) }, to),
    };
    writeFileSync(join(work, 'delta.json'), JSON.stringify(delta));
    states.set(5, { grants: to.grants.length, vehicles: to.vehicles.length });
    states.set(6, { grants: 8, vehicles: to.vehicles.length });

    // One uninterrupted run: the apply's duration, and the end state.
    const copy = join(tmp.path, 'calibrate');
    cpSync(base, copy, { recursive: true });
    const run = await runChild(join(copy, 'lists.sqlite'), work);
    applyMs = run.applyMs;
    expect(run.lines.at(-1)).toBe('done');
    const c = openListCache(join(copy, 'lists.sqlite'), deps);
    expect(c.info()).toMatchObject({ version: 6, ...states.get(6) });
    c.close();
  });
  afterAll(() => tmp.remove());

  it(`${KILLS} kills at random moments: each leaves one whole version that passes integrity_check`, async () => {
    const rnd = seededRandom(Number(process.env['ZONEGATE_CRASH_SEED'] ?? Date.now() % 1_000_000));
    const seenVersions = new Set<number>();
    for (let k = 0; k < KILLS; k++) {
      const dir = join(tmp.path, `kill-${k}`);
      cpSync(base, dir, { recursive: true });
      // Every phase gets kills: the step after which the kill comes, then a random delay into the next.
      const after = STEPS[LONG ? Math.floor(rnd() * STEPS.length) : k % STEPS.length]!;
      const delayMs = Math.floor(rnd() * Math.min(60, applyMs / 4));
      const run = await runChild(join(dir, 'lists.sqlite'), work, { after, delayMs });
      const cache = openListCache(join(dir, 'lists.sqlite'), deps);
      try {
        const info = cache.info();
        const expected = states.get(info.version);
        const where = `kill ${k} ${delayMs} ms after "${after}", last step "${run.lines.at(-1)}"`;
        expect(expected, where).toBeDefined();
        expect({ grants: info.grants, vehicles: info.vehicles }, where).toEqual(expected);
        expect(integrity(cache.file), where).toBe('ok');
        expect(integrity(info.file), where).toBe('ok');
        const db = new Database(info.file, { readonly: true });
        const counted = {
          grants: db.prepare(SQL.countGrants).pluck().get(),
          vehicles: db.prepare(SQL.countVehicles).pluck().get(),
        };
        db.close();
        expect(counted, where).toEqual(expected);
        // Whatever a killed apply left beside the active file was removed when the cache opened.
        expect(
          readdirSync(cache.dataDir).filter((f) => f.endsWith('.sqlite')),
          where,
        ).toEqual([info.file.split('/').pop()]);
        seenVersions.add(info.version);
      } finally {
        cache.close();
        rmSync(dir, { recursive: true, force: true });
      }
    }
    console.log(
      `list apply of ${applyMs} ms killed ${KILLS} times; versions found: ${[...seenVersions].sort().join(', ')}`,
    );
    expect(seenVersions.size).toBeGreaterThan(0);
  });
});
