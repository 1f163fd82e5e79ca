import { readFileSync, rmSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { applyDeltaToFile, SnapshotBuild } from './lists-apply.js';
import type { ListDelta, SnapshotManifest } from './lists-wire.js';

/**
 * The list sync's worker thread: builds snapshots and applies deltas with its own SQLite
 * connections, so the main thread keeps deciding while 20 million rows load.
 */
export type WorkerRequest =
  | { op: 'begin'; id: number; file: string; manifest: SnapshotManifest; manifestHash: string }
  | { op: 'chunk'; id: number; index: number; body: Uint8Array }
  /** A chunk the main thread spooled to disk because too many were waiting in memory (removed once read). */
  | { op: 'chunk-file'; id: number; index: number; file: string }
  | { op: 'finish'; id: number }
  | { op: 'abort'; id: number }
  | { op: 'delta'; id: number; file: string; delta: ListDelta };

export type WorkerReply =
  | { op: 'chunk-done'; id: number; index: number; rows: number }
  | { op: 'built'; id: number; grants: number; vehicles: number }
  | { op: 'delta-done'; id: number }
  | { op: 'failed'; id: number; reason: string; detail: string };

let build: { id: number; b: SnapshotBuild } | undefined;

function reply(r: WorkerReply): void {
  parentPort!.postMessage(r);
}

function handle(m: WorkerRequest): void {
  switch (m.op) {
    case 'begin':
      build?.b.abandon();
      build = { id: m.id, b: new SnapshotBuild(m.file, m.manifest, m.manifestHash) };
      return;
    case 'chunk':
    case 'chunk-file': {
      let body: Uint8Array;
      if (m.op === 'chunk-file') {
        try {
          body = readFileSync(m.file);
        } finally {
          rmSync(m.file, { force: true });
        }
      } else body = m.body;
      if (!build || build.id !== m.id) return;
      const r = build.b.addChunk(m.index, body);
      if ('reason' in r) {
        build.b.abandon();
        build = undefined;
        reply({ op: 'failed', id: m.id, reason: r.reason, detail: r.detail });
      } else reply({ op: 'chunk-done', id: m.id, index: m.index, rows: r.rows });
      return;
    }
    case 'finish': {
      if (!build || build.id !== m.id) return;
      const b = build.b;
      build = undefined;
      const r = b.finish();
      if ('reason' in r) {
        b.abandon();
        reply({ op: 'failed', id: m.id, reason: r.reason, detail: r.detail });
      } else reply({ op: 'built', id: m.id, ...r });
      return;
    }
    case 'abort':
      if (build && build.id === m.id) {
        build.b.abandon();
        build = undefined;
      }
      return;
    case 'delta':
      applyDeltaToFile(m.file, m.delta);
      reply({ op: 'delta-done', id: m.id });
      return;
  }
}

parentPort!.on('message', (m: WorkerRequest) => {
  try {
    handle(m);
  } catch (err) {
    if (m.op !== 'delta' && build?.id === m.id) {
      build.b.abandon();
      build = undefined;
    }
    const e = err as Error;
    reply({
      op: 'failed',
      id: m.id,
      reason: e.name === 'VersionMismatchError' ? 'version-gap' : 'apply-failed',
      detail: e.message,
    });
  }
});
