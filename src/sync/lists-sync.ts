import type { MqttClient } from 'mqtt';
import type { KeyObject } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Registry } from 'prom-client';
import type { ListCache } from '../cache/list-cache.js';
import { removeDataFile } from '../cache/store.js';
import type { JournalWriter } from '../journal/types.js';
import type { Clock, TimerHandle } from '../shared/clock.js';
import type { Lifecycle } from '../shared/lifecycle.js';
import type { Logger } from '../shared/log.js';
import { counter, gauge } from '../shared/metrics.js';
import { verifyBody } from './lists-signing.js';
import {
  deltaSchema,
  headerSchema,
  listTopics,
  manifestSchema,
  sha256Hex,
  unframe,
  type ListDelta,
  type ResyncRequest,
  type SnapshotManifest,
} from './lists-wire.js';
import type { WorkerReply, WorkerRequest } from './lists-worker.js';

export interface ListSyncSettings {
  readonly gatewayId: string;
  readonly zone: string;
  readonly topicPrefix: string;
  /** The region's Ed25519 public keys by key id (lists.regionKeys). */
  readonly keys: ReadonlyMap<string, KeyObject>;
  /** A snapshot whose next chunk does not arrive within this is abandoned (and a resync asked). */
  readonly snapshotTimeoutMs: number;
  /** At most one resync request per this interval. */
  readonly resyncIntervalMs: number;
  /** policy.staleList.maxAgeHours, for the status. */
  readonly staleAfterMs: number;
  /**
   * Snapshot chunks waiting for the worker are held in memory up to this many bytes; beyond it they
   * are spooled to disk beside the data file being built (default 16 MiB).
   */
  readonly maxBufferedBytes?: number;
}

export interface ListSyncDeps {
  /** The gateway's one MQTT connection (src/sync/mqtt.ts). */
  readonly mqtt: MqttClient;
  readonly cache: ListCache;
  /** Applied and rejected updates and resync requests are journaled as `list` events. */
  readonly journal: JournalWriter;
  readonly clock: Clock;
  readonly log: Logger;
  readonly registry: Registry;
  readonly settings: ListSyncSettings;
}

export interface ListSyncStatus {
  readonly version: number;
  readonly source: string;
  readonly publishedAt?: number;
  readonly ageSeconds?: number;
  readonly stale: boolean;
  readonly regionVersion: number;
  readonly grants: number;
  readonly vehicles: number;
  /** A snapshot being built beside the active list. */
  readonly applying?: { readonly version: number; readonly chunksDone: number; readonly chunks: number };
  readonly lastRejection?: { readonly at: number; readonly reason: string; readonly detail: string };
}

export interface ListSync extends Lifecycle {
  /** Version, age and progress, for the retained status topic and the status page. */
  status(): ListSyncStatus;
  /** Asks the region for a snapshot (rate-limited); also sent on a skipped delta version. */
  requestResync(reason: string): void;
}

const DEFAULT_MAX_BUFFERED_BYTES = 16 << 20;

/** Deltas that arrive while a snapshot is being built wait for it; beyond this they are dropped. */
const MAX_QUEUED_DELTAS = 1_000;
const REJECTION_JOURNAL_INTERVAL_MS = 60_000;

/** The worker from the TypeScript sources (tests, tsx) or from dist. */
export function startListWorker(): Worker {
  const url = new URL(`./lists-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);
  if (url.pathname.endsWith('.ts')) {
    return new Worker(
      `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(url.href)}); })`,
      { eval: true },
    );
  }
  return new Worker(url);
}

interface Build {
  readonly id: number;
  readonly manifest: SnapshotManifest;
  readonly file: string;
  chunksDone: number;
  timer?: TimerHandle;
  /**
   * In-memory bytes of each chunk message posted to the worker and not yet answered, in order (a
   * spooled chunk counts 0): the worker answers every chunk, repeats included, in the order posted.
   */
  readonly posted: number[];
  bufferedBytes: number;
  /** Chunks go through the spool (in order) from the first that did not fit in memory until it drains. */
  spoolPending: number;
  spoolChain: Promise<void>;
}

/** Where the chunks of a snapshot being built into `file` are spooled. */
function spoolDir(file: string): string {
  return `${file}.chunks`;
}

/**
 * The list downlink: verifies and applies signed snapshots and deltas from the region (see
 * lists-wire.ts), off the main thread, with an atomic version switch. Forged, replayed, older and
 * wrong-zone updates are refused, counted and journaled, and the cache stays as it was; a delta that
 * skips a version makes it ask the region for a snapshot.
 */
export function createListSync(deps: ListSyncDeps): ListSync {
  return new ListSyncImpl(deps);
}

class ListSyncImpl implements ListSync {
  readonly name = 'list-sync';
  readonly #d: ListSyncDeps;
  readonly #log: Logger;
  readonly #topics;
  readonly #metrics;
  #worker: Worker | undefined;
  #nextId = 1;
  #build: Build | undefined;
  #deltas: { delta: ListDelta }[] = [];
  #deltaInFlight: { id: number; delta: ListDelta } | undefined;
  #lastResyncAt = -Infinity;
  #lastRejection: ListSyncStatus['lastRejection'];
  readonly #rejectionsSince = new Map<string, { count: number; firstAt: number }>();
  #running = false;

  constructor(deps: ListSyncDeps) {
    this.#d = deps;
    this.#log = deps.log.child({ module: 'list-sync' });
    const s = deps.settings;
    this.#topics = listTopics(s.topicPrefix, s.zone, s.gatewayId);
    const r = deps.registry;
    this.#metrics = {
      updates: counter(r, 'zonegate_list_updates_total', 'List updates from the region, by kind and result', [
        'kind',
        'result',
      ]),
      rejected: counter(r, 'zonegate_list_updates_rejected_total', 'List updates refused, by reason', ['reason']),
      resyncs: counter(r, 'zonegate_list_resync_requests_total', 'Snapshot requests sent to the region', ['reason']),
      applying: gauge(r, 'zonegate_list_snapshot_chunks_pending', 'Chunks of the snapshot being built still to come'),
      buffered: gauge(
        r,
        'zonegate_list_snapshot_buffered_bytes',
        'Bytes of snapshot chunks received and waiting in memory for the list worker',
      ),
      spooled: counter(
        r,
        'zonegate_list_snapshot_chunks_spooled_total',
        'Snapshot chunks written to disk because the list worker was behind',
      ),
    };
  }

  async start(): Promise<void> {
    if (this.#running) return;
    const worker = startListWorker();
    worker.on('message', (m: WorkerReply) => this.#onWorker(m));
    worker.on('error', (err) => {
      this.#log.error({ err }, 'list worker failed');
      this.#abortBuild('apply-failed', `worker: ${err.message}`);
    });
    this.#worker = worker;
    this.#d.mqtt.on('message', this.#onMessage);
    try {
      await this.#d.mqtt.subscribeAsync([this.#topics.snapshot, this.#topics.delta], { qos: 1 });
    } catch (err) {
      this.#d.mqtt.removeListener('message', this.#onMessage);
      await worker.terminate();
      this.#worker = undefined;
      throw err;
    }
    this.#running = true;
    // A gateway that never had a list from the region (new, or reinstalled) asks for one right away.
    if (this.#d.cache.regionVersion() === 0) this.requestResync('no-region-list');
    this.#log.info(
      { topics: [this.#topics.snapshot, this.#topics.delta], version: this.#d.cache.info().version },
      'list sync started',
    );
  }

  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    this.#d.mqtt.removeListener('message', this.#onMessage);
    try {
      if (this.#d.mqtt.connected) await this.#d.mqtt.unsubscribeAsync([this.#topics.snapshot, this.#topics.delta]);
    } catch {
      // The broker forgets the subscription with the session anyway.
    }
    if (this.#build) {
      const b = this.#build;
      this.#build = undefined;
      this.#endBuild(b);
      this.#post({ op: 'abort', id: b.id });
    }
    await this.#worker?.terminate();
    this.#worker = undefined;
  }

  status(): ListSyncStatus {
    const i = this.#d.cache.info();
    const b = this.#build;
    return {
      version: i.version,
      source: i.source,
      ...(i.publishedAt !== undefined ? { publishedAt: i.publishedAt } : {}),
      ...(i.ageSeconds !== undefined ? { ageSeconds: Math.round(i.ageSeconds) } : {}),
      stale: i.ageSeconds === undefined || i.ageSeconds * 1000 > this.#d.settings.staleAfterMs,
      regionVersion: this.#d.cache.regionVersion(),
      grants: i.grants,
      vehicles: i.vehicles,
      ...(b
        ? { applying: { version: b.manifest.version, chunksDone: b.chunksDone, chunks: b.manifest.chunks.length } }
        : {}),
      ...(this.#lastRejection ? { lastRejection: this.#lastRejection } : {}),
    };
  }

  requestResync(reason: string): void {
    // The rate limit runs on the steady clock: a wall-clock step back must not silence resyncs.
    const mono = this.#d.clock.monotonic();
    if (mono - this.#lastResyncAt < this.#d.settings.resyncIntervalMs) return;
    this.#lastResyncAt = mono;
    const now = this.#d.clock.now();
    const i = this.#d.cache.info();
    const body: ResyncRequest = {
      v: 1,
      gateway: this.#d.settings.gatewayId,
      zone: this.#d.settings.zone,
      haveVersion: i.version,
      regionVersion: this.#d.cache.regionVersion(),
      reason,
      at: now,
    };
    this.#metrics.resyncs.inc({ reason });
    this.#journal('resync-requested', { reason, haveVersion: i.version });
    this.#d.mqtt.publish(this.#topics.resync, JSON.stringify(body), { qos: 1 }, (err) => {
      if (err) this.#log.warn({ err }, 'resync request not sent');
    });
  }

  // --- messages --------------------------------------------------------------------------------

  readonly #onMessage = (topic: string, payload: Buffer): void => {
    if (topic !== this.#topics.snapshot && topic !== this.#topics.delta) return;
    try {
      this.#handle(topic, payload);
    } catch (err) {
      // A bug must not take the MQTT connection (and so the uplink) down with it.
      this.#log.error({ err, topic }, 'list update handling failed');
      this.#reject('unknown', 'apply-failed', (err as Error).message);
    }
  };

  #handle(topic: string, payload: Buffer): void {
    const kind = topic === this.#topics.delta ? 'delta' : 'snapshot';
    const f = unframe(payload);
    if ('error' in f) return this.#reject(kind, 'bad-frame', f.error);
    const h = headerSchema.safeParse(f.header);
    if (!h.success)
      return this.#reject(
        kind,
        'bad-header',
        h.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
      );
    const header = h.data;
    if (header.type === 'chunk') {
      if (kind !== 'snapshot') return this.#reject(kind, 'bad-header', 'a chunk on the delta topic');
      return this.#onChunk(header.snapshotId, header.index, f.body);
    }
    if (header.type !== kind) return this.#reject(kind, 'bad-header', `a ${header.type} on the ${kind} topic`);
    const verdict = verifyBody(header.type, f.body, header.keyId, header.sig, this.#d.settings.keys);
    if (verdict !== 'ok')
      return this.#reject(
        kind,
        verdict,
        verdict === 'unknown-key'
          ? `key ${header.keyId} is not a region key of this gateway`
          : 'signature does not verify',
      );
    let json: unknown;
    try {
      json = JSON.parse(f.body.toString('utf8'));
    } catch {
      return this.#reject(kind, 'bad-body', 'signed body is not JSON');
    }
    if (header.type === 'snapshot') {
      const m = manifestSchema.safeParse(json);
      if (!m.success) return this.#reject(kind, 'bad-body', m.error.issues[0]?.message ?? 'manifest');
      return this.#onManifest(m.data, sha256Hex(f.body));
    }
    const d = deltaSchema.safeParse(json);
    if (!d.success)
      return this.#reject(kind, 'bad-body', d.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    this.#onDelta(d.data);
  }

  /** Replayed, older or for another zone: the common checks of both kinds. */
  #refuseStale(kind: string, zone: string, version: number): boolean {
    const s = this.#d.settings;
    if (zone !== s.zone) {
      this.#reject(kind, 'wrong-zone', `update for zone "${zone}", this gateway is in "${s.zone}"`, version);
      return true;
    }
    const region = this.#d.cache.regionVersion();
    if (version <= region) {
      this.#reject(
        kind,
        version === region ? 'replayed' : 'older',
        `version ${version}, the gateway has region version ${region}`,
        version,
      );
      return true;
    }
    return false;
  }

  #onManifest(m: SnapshotManifest, manifestHash: string): void {
    if (this.#refuseStale('snapshot', m.zone, m.version)) return;
    if (this.#build) {
      if (this.#build.manifest.version >= m.version)
        return this.#reject(
          'snapshot',
          'older',
          `version ${m.version} while building version ${this.#build.manifest.version}`,
          m.version,
        );
      this.#abortBuild('superseded', `version ${m.version} arrived`, false);
    }
    const build: Build = {
      id: this.#nextId++,
      manifest: m,
      file: this.#d.cache.newDataFile(m.version),
      chunksDone: 0,
      posted: [],
      bufferedBytes: 0,
      spoolPending: 0,
      spoolChain: Promise.resolve(),
    };
    this.#build = build;
    this.#post({ op: 'begin', id: build.id, file: build.file, manifest: m, manifestHash });
    this.#metrics.applying.set(m.chunks.length);
    this.#log.info(
      { version: m.version, chunks: m.chunks.length, grants: m.grants, vehicles: m.vehicles },
      'snapshot announced',
    );
    if (m.chunks.length === 0) this.#post({ op: 'finish', id: build.id });
    else this.#armTimer(build);
  }

  #onChunk(snapshotId: string, index: number, body: Buffer): void {
    const b = this.#build;
    if (!b || b.manifest.snapshotId !== snapshotId) {
      // Chunks of a snapshot this gateway did not accept (older, refused, or its manifest was missed).
      this.#metrics.rejected.inc({ reason: 'unexpected-chunk' });
      return;
    }
    this.#armTimer(b);
    const max = this.#d.settings.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES;
    // The first chunk always goes to memory, so the worker is never idle for want of one.
    if (b.spoolPending === 0 && (b.bufferedBytes === 0 || b.bufferedBytes + body.byteLength <= max)) {
      this.#postInMemory(b, index, body);
      return;
    }
    // The broker delivers as fast as the network allows and the worker applies at disk speed: chunks
    // that would grow the process beyond `max` wait on disk instead (a 20M-plate snapshot is ~800 MB).
    this.#spool(b, index, Buffer.from(body));
  }

  #postInMemory(b: Build, index: number, body: Uint8Array): void {
    const copy = new Uint8Array(body.byteLength);
    copy.set(body);
    b.posted.push(copy.byteLength);
    b.bufferedBytes += copy.byteLength;
    this.#metrics.buffered.set(b.bufferedBytes);
    this.#post({ op: 'chunk', id: b.id, index, body: copy }, [copy.buffer]);
  }

  /** Writes the chunk to the spool and posts its path; one write at a time, so the order holds. */
  #spool(b: Build, index: number, body: Buffer): void {
    const dir = spoolDir(b.file);
    const file = join(dir, `${String(index).padStart(7, '0')}.chunk`);
    b.spoolPending++;
    this.#metrics.spooled.inc();
    b.spoolChain = b.spoolChain.then(async () => {
      try {
        if (this.#build !== b) return;
        await mkdir(dir, { recursive: true });
        await writeFile(file, body);
        if (this.#build === b) {
          b.posted.push(0);
          this.#post({ op: 'chunk-file', id: b.id, index, file });
        } else await rm(dir, { recursive: true, force: true });
      } catch (err) {
        if (this.#build === b) this.#abortBuild('apply-failed', `spooling chunk ${index}: ${(err as Error).message}`);
      } finally {
        b.spoolPending--;
      }
    });
  }

  /** The build is over (applied, failed or abandoned): its spooled chunks go. */
  #endBuild(b: Build): void {
    b.timer?.cancel();
    this.#metrics.applying.set(0);
    this.#metrics.buffered.set(0);
    // Not on this thread's time: an abandoned spool can hold hundreds of megabytes.
    rm(spoolDir(b.file), { recursive: true, force: true }).catch((err: unknown) =>
      this.#log.warn({ err, dir: spoolDir(b.file) }, 'removing the snapshot spool failed'),
    );
  }

  #armTimer(b: Build): void {
    b.timer?.cancel();
    b.timer = this.#d.clock.setTimer(this.#d.settings.snapshotTimeoutMs, () => {
      if (this.#build === b)
        this.#abortBuild(
          'snapshot-timeout',
          `no chunk for ${this.#d.settings.snapshotTimeoutMs} ms after chunk ${b.chunksDone}`,
        );
    });
  }

  #abortBuild(reason: string, detail: string, resync = true): void {
    const b = this.#build;
    if (!b) return;
    this.#build = undefined;
    this.#endBuild(b);
    this.#post({ op: 'abort', id: b.id });
    this.#reject('snapshot', reason, detail, b.manifest.version);
    if (resync) this.requestResync(reason);
    this.#pumpDeltas();
  }

  #onDelta(delta: ListDelta): void {
    if (this.#refuseStale('delta', delta.zone, delta.version)) return;
    if (this.#deltas.length >= MAX_QUEUED_DELTAS) {
      this.#reject('delta', 'queue-full', `${MAX_QUEUED_DELTAS} deltas waiting`, delta.version);
      this.requestResync('queue-full');
      return;
    }
    this.#deltas.push({ delta });
    this.#pumpDeltas();
  }

  /** One delta at a time, and none while a snapshot is being built: each is checked against the version it finds. */
  #pumpDeltas(): void {
    while (!this.#build && !this.#deltaInFlight && this.#deltas.length > 0) {
      const { delta } = this.#deltas.shift()!;
      const info = this.#d.cache.info();
      const region = this.#d.cache.regionVersion();
      if (delta.version <= region) {
        this.#reject(
          'delta',
          delta.version === region ? 'replayed' : 'older',
          `version ${delta.version}, the gateway has ${region}`,
          delta.version,
        );
        continue;
      }
      if (info.source !== 'region' || delta.fromVersion !== info.version) {
        this.#reject(
          'delta',
          'version-gap',
          `delta ${delta.fromVersion}→${delta.version}, the list is at ${info.version} (${info.source})`,
          delta.version,
        );
        this.requestResync('version-gap');
        continue;
      }
      const id = this.#nextId++;
      this.#deltaInFlight = { id, delta };
      this.#post({ op: 'delta', id, file: info.file, delta });
    }
  }

  #onWorker(m: WorkerReply): void {
    const b = this.#build;
    switch (m.op) {
      case 'chunk-done':
        if (!b || b.id !== m.id) return;
        b.chunksDone = Math.max(b.chunksDone, m.index + 1);
        b.bufferedBytes -= b.posted.shift() ?? 0;
        this.#metrics.buffered.set(b.bufferedBytes);
        this.#metrics.applying.set(b.manifest.chunks.length - b.chunksDone);
        if (b.chunksDone === b.manifest.chunks.length) {
          b.timer?.cancel();
          this.#post({ op: 'finish', id: b.id });
        } else {
          // The timeout is for a snapshot that stopped coming: while the worker works through chunks
          // that arrived long ago (a fast publisher, a slow SD card), the build is not stalled.
          this.#armTimer(b);
        }
        return;
      case 'built': {
        if (!b || b.id !== m.id) return;
        this.#build = undefined;
        this.#endBuild(b);
        // A delta that was being applied when the manifest came may have taken the list past this
        // snapshot (deltas may skip versions): switching to it would undo that delta.
        const region = this.#d.cache.regionVersion();
        if (b.manifest.version < region) {
          removeDataFile(b.file);
          this.#reject(
            'snapshot',
            'older',
            `version ${b.manifest.version}, the gateway has region version ${region}`,
            b.manifest.version,
          );
          this.#pumpDeltas();
          return;
        }
        try {
          this.#d.cache.activate(b.file, b.manifest.version);
        } catch (err) {
          this.#reject('snapshot', 'apply-failed', (err as Error).message, b.manifest.version);
          return;
        }
        // The new file is cold: read it once in the background so that lookups find it in the OS cache.
        this.#d.cache.prewarm().catch((err: unknown) => this.#log.warn({ err }, 'prewarming the list failed'));
        this.#metrics.updates.inc({ kind: 'snapshot', result: 'applied' });
        this.#journal('applied', {
          kind: 'snapshot',
          version: b.manifest.version,
          publishedAt: b.manifest.publishedAt,
          grants: m.grants,
          vehicles: m.vehicles,
        });
        this.#log.info({ version: b.manifest.version, grants: m.grants, vehicles: m.vehicles }, 'snapshot applied');
        this.#pumpDeltas();
        return;
      }
      case 'delta-done': {
        const f = this.#deltaInFlight;
        if (!f || f.id !== m.id) return;
        this.#deltaInFlight = undefined;
        this.#d.cache.refresh();
        this.#d.cache.setRegionVersion(f.delta.version);
        this.#metrics.updates.inc({ kind: 'delta', result: 'applied' });
        this.#journal('applied', {
          kind: 'delta',
          version: f.delta.version,
          fromVersion: f.delta.fromVersion,
          publishedAt: f.delta.publishedAt,
          changes:
            f.delta.upsertGrants.length +
            f.delta.deleteGrants.length +
            f.delta.upsertVehicles.length +
            f.delta.deleteVehicles.length,
        });
        this.#pumpDeltas();
        return;
      }
      case 'failed': {
        if (this.#deltaInFlight?.id === m.id) {
          const f = this.#deltaInFlight;
          this.#deltaInFlight = undefined;
          this.#reject('delta', m.reason, m.detail, f.delta.version);
          if (m.reason === 'version-gap') this.requestResync('version-gap');
          this.#pumpDeltas();
          return;
        }
        if (b && b.id === m.id) {
          this.#build = undefined;
          this.#endBuild(b);
          this.#reject('snapshot', m.reason, m.detail, b.manifest.version);
          this.requestResync(m.reason);
          this.#pumpDeltas();
        }
        return;
      }
    }
  }

  #post(m: WorkerRequest, transfer?: ArrayBuffer[]): void {
    this.#worker?.postMessage(m, transfer ?? []);
  }

  #reject(kind: string, reason: string, detail: string, version?: number): void {
    const at = this.#d.clock.now();
    this.#metrics.rejected.inc({ reason });
    this.#metrics.updates.inc({ kind, result: 'rejected' });
    this.#lastRejection = { at, reason, detail };
    this.#log.warn({ kind, reason, detail, version }, 'list update rejected');
    // Journaled once per reason per minute: a flood of forged messages must not fill the journal.
    const seen = this.#rejectionsSince.get(reason);
    if (seen && at - seen.firstAt < REJECTION_JOURNAL_INTERVAL_MS) {
      seen.count++;
      return;
    }
    this.#rejectionsSince.set(reason, { count: 0, firstAt: at });
    this.#journal('rejected', {
      kind,
      reason,
      detail,
      ...(version !== undefined ? { version } : {}),
      suppressedSinceLast: seen?.count ?? 0,
    });
  }

  #journal(event: string, payload: Record<string, unknown>): void {
    const i = this.#d.cache.info();
    try {
      this.#d.journal.append({
        type: 'list',
        at: this.#d.clock.now(),
        payload: {
          event,
          ...payload,
          listVersion: i.version,
          ...(i.ageSeconds !== undefined ? { listAgeSeconds: Math.round(i.ageSeconds) } : {}),
        },
      });
    } catch (err) {
      this.#log.error({ err }, 'journal append failed for a list event');
    }
  }
}
