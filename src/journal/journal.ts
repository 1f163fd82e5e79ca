import { closeSync, fsync, fsyncSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Registry } from 'prom-client';
import type { Clock, TimerHandle } from '../shared/clock.js';
import type { Logger } from '../shared/log.js';
import { counter, gauge, histogram } from '../shared/metrics.js';
import { uuidv7 } from './ids.js';
import { entryFromRow, parseCounts, readMeta, type EventRow } from './rows.js';
import {
  EVENT_TYPES,
  zeroCounts,
  type CountsByType,
  type EventType,
  type Journal,
  type JournalBudget,
  type JournalEntry,
  type JournalEntryInput,
  type JournalStats,
  type PurgeResult,
  type RawJournalEntry,
  type ReadOptions,
  type RetentionPolicy,
} from './types.js';

export interface JournalOptions {
  /** The SQLite file, normally `{dataDir}/journal.sqlite`; created with its directory. */
  readonly file: string;
  readonly gatewayId: string;
  readonly clock: Clock;
  readonly registry: Registry;
  readonly log: Logger;
  /**
   * Longest time an appended entry may stay in the page cache before it is fsynced (default 500).
   * This is the most a power cut can lose; nothing that was not yet fsynced has left the gateway.
   */
  readonly syncIntervalMs?: number;
  readonly budget?: JournalBudget;
  /**
   * Applied to every entry before it is stored, e.g. replacing the plate of an allowed passage by
   * its keyed hash, so the plain text never reaches the disk.
   */
  readonly seal?: (entry: JournalEntryInput) => JournalEntryInput;
}

/** Entries kept in memory while the disk refuses writes (full, I/O error); beyond it they are dropped. */
const MAX_SPILL = 10_000;
/** Every this many appends the journal measures its real size against the budget. */
const MEASURE_EVERY = 1_000;
/** Eviction frees space down to this fraction of the budget, so it runs seldom … */
const LOW_WATER = 0.9;
/**
 * … but at most this much at a time: it runs inside an append, on the event loop, and 10 % of a
 * large budget (51 MiB of 512) held the next read up for a second or more.
 */
const EVICT_MAX_BYTES = 2 * 1024 * 1024;
/** SQLite row and index overhead beyond the payload, for eviction estimates. */
const ROW_OVERHEAD = 96;
const SCHEMA_VERSION = 1;
const TYPE_SET = new Set<string>(EVENT_TYPES);

/**
 * Opens (or creates) the journal.
 *
 * Durability (fsync policy): WAL with synchronous=NORMAL, so an append is one write() into the
 * WAL and never waits for the disk; a timer (and the uplink before it sends) fsyncs the WAL file
 * from libuv's thread pool, off the event loop. Safe because:
 * - WAL + NORMAL never corrupts the database on power loss; it can only lose the commits after
 *   the last fsync, at most `syncIntervalMs` of events;
 * - the uplink sends only entries at or below the durable seq, so a lost tail was never seen by
 *   the region and its seq numbers are reused without a conflict;
 * - the pipeline appends after the GPIO write, so a slow SD card never delays a bollard, and a
 *   power cut stops the bollard controller as well (it falls back to its own fail mode).
 * A process crash or SIGKILL loses nothing: the writes are in the kernel's page cache.
 */
export function openJournal(options: JournalOptions): Journal {
  return new SqliteJournal(options);
}

class SqliteJournal implements Journal {
  readonly file: string;
  readonly gatewayId: string;
  readonly #db: Database.Database;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #budget: JournalBudget | undefined;
  readonly #seal: ((entry: JournalEntryInput) => JournalEntryInput) | undefined;
  readonly #syncIntervalMs: number;
  readonly #listeners = new Set<(entry: JournalEntry) => void>();
  readonly #stmt;
  readonly #metrics;

  #nextSeq: number;
  #ackedThrough: number;
  #durableSeq: number;
  #lastSeq: number | undefined;
  #firstSeq: number | undefined;
  #entries = 0;
  #backlog = 0;
  #byType: CountsByType;
  #dropped: CountsByType;
  #purged: CountsByType;
  #openedAfterCrash: boolean;
  #walFd: number | undefined;
  #syncTimer: TimerHandle | undefined;
  #syncing: Promise<number> | undefined;
  #appendsSinceMeasure = 0;
  #estimatedBytes = 0;
  #spill: JournalEntry[] = [];
  #spillDropped: CountsByType = zeroCounts();
  #evicting = false;
  #overBudget = false;
  #closed = false;

  constructor(options: JournalOptions) {
    this.file = options.file;
    this.gatewayId = options.gatewayId;
    this.#clock = options.clock;
    this.#log = options.log.child({ module: 'journal' });
    this.#budget = options.budget;
    this.#seal = options.seal;
    this.#syncIntervalMs = options.syncIntervalMs ?? 500;
    const r = options.registry;
    this.#metrics = {
      appends: counter(r, 'zonegate_journal_appends_total', 'Entries appended to the journal, by type', ['type']),
      dropped: counter(
        r,
        'zonegate_journal_dropped_total',
        'Undelivered entries dropped (disk budget, disk refusing writes), by type and reason',
        ['type', 'reason'],
      ),
      purged: counter(r, 'zonegate_journal_purged_total', 'Acknowledged entries removed by retention, by type', [
        'type',
      ]),
      writeErrors: counter(r, 'zonegate_journal_write_errors_total', 'Appends the disk refused, by SQLite code', [
        'code',
      ]),
      backlog: gauge(r, 'zonegate_journal_backlog', 'Entries not yet acknowledged by the region'),
      bytes: gauge(r, 'zonegate_journal_bytes', 'Bytes of journal pages in use'),
      fsync: histogram(
        r,
        'zonegate_journal_fsync_seconds',
        'Duration of a journal fsync',
        [0.001, 0.005, 0.02, 0.1, 0.5, 2],
      ),
    };

    mkdirSync(dirname(this.file), { recursive: true });
    const db = new Database(this.file);
    this.#db = db;
    let created = false;
    try {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      // Deleted rows are overwritten with zeros: a purged violation's plate must not stay readable
      // on the card in free pages (retention is erasure, not only invisibility).
      db.pragma('secure_delete = ON');
      // After a checkpoint the WAL is cut back so it does not keep a burst's size on the card.
      db.pragma('journal_size_limit = 4194304');
      db.exec(`
        CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS events (
          seq INTEGER PRIMARY KEY,
          id TEXT NOT NULL,
          type TEXT NOT NULL,
          at INTEGER NOT NULL,
          lane TEXT,
          payload TEXT NOT NULL,
          acked INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX IF NOT EXISTS events_type_at ON events(type, at);
      `);
      const meta = readMeta(this.#db);
      const version = Number(meta.get('schema') ?? SCHEMA_VERSION);
      if (version > SCHEMA_VERSION)
        throw new Error(`${this.file}: journal schema ${version} is newer than this zonegate understands`);
      const storedGateway = meta.get('gateway');
      if (storedGateway !== undefined && storedGateway !== this.gatewayId)
        throw new Error(
          `${this.file}: journal belongs to gateway "${storedGateway}", not "${this.gatewayId}"; ` +
            'move it away to start a new journal',
        );
      created = storedGateway === undefined;
      const startSeq = Math.max(1, Math.floor(this.#clock.now()) * 1000);
      const seqFloor = Number(meta.get('seq_floor') ?? (created ? startSeq - 1 : 0));
      const bounds = db.prepare('SELECT min(seq) AS lo, max(seq) AS hi, count(*) AS n FROM events').get() as {
        lo: number | null;
        hi: number | null;
        n: number;
      };
      this.#nextSeq = Math.max(seqFloor, bounds.hi ?? 0) + 1;
      this.#lastSeq = bounds.hi ?? undefined;
      this.#firstSeq = bounds.lo ?? undefined;
      this.#entries = bounds.n;
      this.#ackedThrough = Number(meta.get('acked_through') ?? this.#nextSeq - 1);
      this.#durableSeq = this.#nextSeq - 1;
      this.#openedAfterCrash = meta.get('open') === '1';
      this.#dropped = parseCounts(meta.get('dropped'));
      this.#purged = parseCounts(meta.get('purged'));
      this.#byType = zeroCounts();
      for (const row of db.prepare('SELECT type, count(*) AS n FROM events GROUP BY type').all() as {
        type: string;
        n: number;
      }[]) {
        if (TYPE_SET.has(row.type)) this.#byType[row.type as EventType] = row.n;
      }
      this.#backlog = (
        db.prepare('SELECT count(*) AS n FROM events WHERE seq > ? AND acked = 0').get(this.#ackedThrough) as {
          n: number;
        }
      ).n;
      const setMeta = db.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)');
      db.transaction(() => {
        setMeta.run('schema', String(SCHEMA_VERSION));
        setMeta.run('gateway', this.gatewayId);
        setMeta.run('open', '1');
        if (created) {
          setMeta.run('seq_floor', String(seqFloor));
          setMeta.run('acked_through', String(this.#ackedThrough));
          setMeta.run('created_at', String(this.#clock.now()));
        }
      })();
      this.#stmt = {
        insert: db.prepare('INSERT INTO events (seq, id, type, at, lane, payload) VALUES (?, ?, ?, ?, ?, ?)'),
        setMeta,
        readFrom: db.prepare('SELECT seq, id, type, at, lane, payload FROM events WHERE seq >= ? ORDER BY seq LIMIT ?'),
        readFromUnacked: db.prepare(
          'SELECT seq, id, type, at, lane, payload FROM events WHERE seq >= ? AND acked = 0 ORDER BY seq LIMIT ?',
        ),
        latest: db.prepare('SELECT seq, id, type, at, lane, payload FROM events ORDER BY seq DESC LIMIT ?'),
        latestOfType: db.prepare(
          'SELECT seq, id, type, at, lane, payload FROM events WHERE type = ? ORDER BY seq DESC LIMIT ?',
        ),
        firstUnacked: db.prepare('SELECT min(seq) AS seq FROM events WHERE seq > ? AND acked = 0'),
        ack: db.prepare('UPDATE events SET acked = 1 WHERE seq BETWEEN ? AND ? AND acked = 0'),
        bounds: db.prepare('SELECT min(seq) AS lo, max(seq) AS hi FROM events'),
        oldestAcked: db.prepare(
          'SELECT seq, type, length(payload) AS size FROM events WHERE seq <= ? ORDER BY seq LIMIT ?',
        ),
        deleteThrough: db.prepare('DELETE FROM events WHERE seq <= ?'),
        oldestUnackedOfType: db.prepare(
          'SELECT seq, type, length(payload) AS size FROM events WHERE type = ? AND acked = 0 ORDER BY at, seq LIMIT ?',
        ),
        deleteOne: db.prepare('DELETE FROM events WHERE seq = ?'),
        expired: db.prepare(
          'SELECT seq, acked FROM events WHERE type = ? AND at < ? AND acked = 1 ORDER BY at LIMIT ?',
        ),
        expiredAny: db.prepare('SELECT seq, acked FROM events WHERE type = ? AND at < ? ORDER BY at LIMIT ?'),
        pages: db.prepare('SELECT * FROM pragma_page_count(), pragma_freelist_count(), pragma_page_size()').raw(),
      };
    } catch (err) {
      db.close();
      throw err;
    }
    this.#estimatedBytes = this.#measureBytes();
    this.#openWal();
    if (created) {
      this.append({
        type: 'system',
        at: this.#clock.now(),
        payload: { event: 'journal-created', firstSeq: this.#nextSeq },
      });
    } else if (this.#openedAfterCrash) {
      this.#log.warn({ lastSeq: this.#lastSeq }, 'journal was not closed cleanly (power cut, kill or crash)');
      this.append({
        type: 'fault',
        at: this.#clock.now(),
        payload: { fault: 'unclean-shutdown', lastSeq: this.#lastSeq ?? null },
      });
    }
    this.#metrics.backlog.set(this.#backlog);
    this.#scheduleSync();
  }

  get lastSeq(): number | undefined {
    return this.#lastSeq;
  }

  get durableSeq(): number {
    return this.#durableSeq;
  }

  get backlog(): number {
    return this.#backlog + this.#spill.length;
  }

  append(input: JournalEntryInput): JournalEntry {
    if (this.#closed) throw new Error('journal is closed');
    const sealed = this.#seal ? this.#seal(input) : input;
    const seq = this.#nextSeq++;
    const entry: JournalEntry = {
      seq,
      id: uuidv7(this.#clock.now()),
      gateway: this.gatewayId,
      type: sealed.type,
      // Whole ms: the uplink contract (and the region's schema) take integers.
      at: Math.floor(sealed.at),
      ...(sealed.lane !== undefined ? { lane: sealed.lane } : {}),
      payload: sealed.payload,
    };
    const json = JSON.stringify(entry.payload);
    if (this.#spill.length === 0 && this.#insert(entry, json)) {
      this.#stored(entry, json.length);
    } else {
      this.#spillEntry(entry);
    }
    for (const listener of this.#listeners) listener(entry);
    if (this.#overBudget) {
      this.#overBudget = false;
      this.#enforceBudget();
    }
    return entry;
  }

  #insert(entry: JournalEntry, json: string): boolean {
    try {
      this.#stmt.insert.run(entry.seq, entry.id, entry.type, entry.at, entry.lane ?? null, json);
      return true;
    } catch (err) {
      const code = (err as { code?: string }).code ?? 'unknown';
      this.#metrics.writeErrors.inc({ code });
      this.#log.error({ err, seq: entry.seq }, 'journal write refused; keeping the entry in memory');
      return false;
    }
  }

  #stored(entry: JournalEntry, payloadBytes: number): void {
    this.#entries++;
    this.#backlog++;
    this.#byType[entry.type]++;
    this.#lastSeq = entry.seq;
    this.#firstSeq ??= entry.seq;
    this.#metrics.appends.inc({ type: entry.type });
    this.#estimatedBytes += payloadBytes + ROW_OVERHEAD;
    if (this.#budget && !this.#evicting) {
      if (++this.#appendsSinceMeasure >= MEASURE_EVERY) {
        this.#appendsSinceMeasure = 0;
        this.#estimatedBytes = this.#measureBytes();
      }
      if (this.#estimatedBytes > this.#budget.maxBytes) this.#overBudget = true;
    }
  }

  #spillEntry(entry: JournalEntry): void {
    this.#spill.push(entry);
    if (this.#spill.length > MAX_SPILL) {
      const lost = this.#spill.shift()!;
      this.#spillDropped[lost.type]++;
      this.#dropped[lost.type]++;
      this.#metrics.dropped.inc({ type: lost.type, reason: 'disk-refused' });
    }
  }

  /** Writes entries held in memory while the disk refused them, in seq order. */
  #drainSpill(): void {
    while (this.#spill.length > 0) {
      const entry = this.#spill[0]!;
      const json = JSON.stringify(entry.payload);
      if (!this.#insert(entry, json)) return;
      this.#spill.shift();
      this.#stored(entry, json.length);
    }
    const lost = this.#spillDropped;
    if (Object.values(lost).some((n) => n > 0)) {
      this.#spillDropped = zeroCounts();
      this.#persistCounts();
      this.append({ type: 'gap', at: this.#clock.now(), payload: { reason: 'disk-refused', dropped: lost } });
    }
  }

  readFrom(from: number, options: ReadOptions = {}): JournalEntry[] {
    return this.#read(from, options).map((r) => entryFromRow(r, this.gatewayId));
  }

  readRawFrom(from: number, options: ReadOptions = {}): RawJournalEntry[] {
    return this.#read(from, options).map((r) => ({
      seq: r.seq,
      id: r.id,
      type: r.type as EventType,
      at: r.at,
      lane: r.lane,
      payloadJson: r.payload,
    }));
  }

  #read(from: number, options: ReadOptions): EventRow[] {
    const limit = options.limit ?? 1000;
    const rows = (options.unackedOnly ? this.#stmt.readFromUnacked : this.#stmt.readFrom).all(
      from,
      limit,
    ) as EventRow[];
    const out: EventRow[] = [];
    let bytes = 0;
    for (const row of rows) {
      if (options.durableOnly && row.seq > this.#durableSeq) break;
      bytes += row.payload.length + 120;
      if (options.maxBytes !== undefined && out.length > 0 && bytes > options.maxBytes) break;
      out.push(row);
    }
    return out;
  }

  latest(n: number, filter: { readonly type?: EventType } = {}): JournalEntry[] {
    const rows = (filter.type ? this.#stmt.latestOfType.all(filter.type, n) : this.#stmt.latest.all(n)) as EventRow[];
    return rows.map((r) => entryFromRow(r, this.gatewayId));
  }

  firstUnacked(): number | undefined {
    const row = this.#stmt.firstUnacked.get(this.#ackedThrough) as { seq: number | null };
    return row.seq ?? undefined;
  }

  ack(first: number, last: number): number {
    if (this.#closed || !(first <= last)) return 0;
    const changed = this.#stmt.ack.run(first, last).changes;
    if (changed === 0) return 0;
    this.#backlog -= changed;
    const through = this.#computeAckedThrough();
    if (through > this.#ackedThrough) {
      this.#ackedThrough = through;
      this.#stmt.setMeta.run('acked_through', String(through));
    }
    this.#metrics.backlog.set(this.#backlog);
    return changed;
  }

  onAppend(listener: (entry: JournalEntry) => void): () => void {
    this.#listeners.add(listener);
    return () => void this.#listeners.delete(listener);
  }

  stats(): JournalStats {
    return {
      gateway: this.gatewayId,
      file: this.file,
      entries: this.#entries,
      byType: { ...this.#byType },
      backlog: this.#backlog + this.#spill.length,
      firstSeq: this.#firstSeq,
      lastSeq: this.#lastSeq,
      ackedThrough: this.#ackedThrough,
      durableSeq: this.#durableSeq,
      bytes: this.#closed ? this.#estimatedBytes : this.#measureBytes(),
      budgetBytes: this.#budget?.maxBytes,
      dropped: { ...this.#dropped },
      purged: { ...this.#purged },
      openedAfterCrash: this.#openedAfterCrash,
    };
  }

  flush(): Promise<number> {
    if (this.#closed) return Promise.resolve(this.#durableSeq);
    if (this.#spill.length > 0) this.#drainSpill();
    const target = this.#lastSeq ?? this.#durableSeq;
    if (target <= this.#durableSeq) return Promise.resolve(this.#durableSeq);
    // One fsync at a time; a flush asked for during one waits for it and then syncs again.
    const previous = this.#syncing ?? Promise.resolve(this.#durableSeq);
    const run = previous.then(() => this.#fsyncWal(target));
    this.#syncing = run;
    void run.finally(() => {
      if (this.#syncing === run) this.#syncing = undefined;
    });
    return run;
  }

  #fsyncWal(target: number): Promise<number> {
    if (target <= this.#durableSeq) return Promise.resolve(this.#durableSeq);
    const fd = this.#walFd;
    const t0 = process.hrtime.bigint();
    return new Promise((resolve) => {
      const done = (err: NodeJS.ErrnoException | null): void => {
        this.#metrics.fsync.observe(Number(process.hrtime.bigint() - t0) / 1e9);
        if (err) {
          this.#log.error({ err }, 'journal fsync failed; entries stay unsent until a later fsync succeeds');
        } else if (target > this.#durableSeq) {
          this.#durableSeq = target;
        }
        resolve(this.#durableSeq);
      };
      if (fd === undefined) {
        // No WAL handle (closed meanwhile): the database's own checkpoint on close syncs.
        done(null);
      } else {
        fsync(fd, done);
      }
    });
  }

  purge(
    retention: RetentionPolicy,
    now: number,
    maxRows = 10_000,
    undelivered: 'keep' | 'expire' = 'keep',
  ): PurgeResult {
    const deleted = zeroCounts();
    if (this.#closed) return { deleted, more: false };
    const expired = undelivered === 'keep' ? this.#stmt.expired : this.#stmt.expiredAny;
    let budget = maxRows;
    let more = false;
    let unacked = 0;
    this.#db.transaction(() => {
      for (const type of EVENT_TYPES) {
        const keepMs = retention[type];
        if (keepMs === undefined || budget <= 0) {
          if (keepMs !== undefined) more = true;
          continue;
        }
        const rows = expired.all(type, now - keepMs, budget + 1) as { seq: number; acked: number }[];
        if (rows.length > budget) more = true;
        for (const row of rows.slice(0, budget)) {
          this.#stmt.deleteOne.run(row.seq);
          if (row.acked === 0) unacked++;
        }
        const n = Math.min(rows.length, budget);
        budget -= n;
        deleted[type] = n;
      }
      this.#afterDelete(deleted, 'purged', unacked);
    })();
    for (const type of EVENT_TYPES) {
      if (deleted[type] > 0) this.#metrics.purged.inc({ type }, deleted[type]);
    }
    return { deleted, more };
  }

  close(): void {
    if (this.#closed) return;
    if (this.#spill.length > 0) this.#drainSpill();
    this.#syncTimer?.cancel();
    this.#syncTimer = undefined;
    if (this.#walFd !== undefined) {
      try {
        fsyncSync(this.#walFd);
        closeSync(this.#walFd);
      } catch {
        // The checkpoint in db.close() syncs the data in any case.
      }
      this.#walFd = undefined;
    }
    if (this.#spill.length > 0) {
      this.#log.error({ entries: this.#spill.length }, 'journal closed with entries the disk refused; they are lost');
    }
    try {
      this.#stmt.setMeta.run('open', '0');
    } catch {
      // A refused write here only means the next start reports an unclean shutdown.
    }
    this.#closed = true;
    this.#durableSeq = this.#lastSeq ?? this.#durableSeq;
    this.#db.close();
    this.#listeners.clear();
  }

  /** Frees space when the budget is exceeded: delivered entries first, then by the drop order. */
  #enforceBudget(): void {
    const budget = this.#budget!;
    const used = this.#measureBytes();
    this.#estimatedBytes = used;
    if (used <= budget.maxBytes) return;
    this.#evicting = true;
    try {
      let toFree = Math.min(used - budget.maxBytes * LOW_WATER, EVICT_MAX_BYTES);
      const deleted = zeroCounts();
      let total = 0;
      const droppedRanges: [number, number][] = [];
      this.#db.transaction(() => {
        // Delivered entries go first: the region has them; only local retention is cut short.
        // Read lazily: only as many rows as it takes to free the space, not the whole limit.
        const acked = this.#stmt.oldestAcked.iterate(this.#ackedThrough, 100_000) as IterableIterator<{
          seq: number;
          type: EventType;
          size: number;
        }>;
        let through: number | undefined;
        const ackedDeleted = zeroCounts();
        for (const row of acked) {
          if (toFree <= 0) break;
          toFree -= row.size + ROW_OVERHEAD;
          through = row.seq;
          ackedDeleted[row.type]++;
        }
        if (through !== undefined) {
          this.#stmt.deleteThrough.run(through);
          this.#afterDelete(ackedDeleted, 'purged', 0);
          for (const type of EVENT_TYPES)
            if (ackedDeleted[type] > 0) this.#metrics.purged.inc({ type }, ackedDeleted[type]);
        }
        for (const type of budget.dropOrder) {
          if (type === 'gap') continue;
          while (toFree > 0) {
            const rows = this.#stmt.oldestUnackedOfType.all(type, 1000) as { seq: number; size: number }[];
            if (rows.length === 0) break;
            for (const row of rows) {
              if (toFree <= 0) break;
              this.#stmt.deleteOne.run(row.seq);
              toFree -= row.size + ROW_OVERHEAD;
              deleted[type]++;
              total++;
              const last = droppedRanges[droppedRanges.length - 1];
              if (last && last[1] === row.seq - 1) last[1] = row.seq;
              else droppedRanges.push([row.seq, row.seq]);
            }
          }
          if (toFree <= 0) break;
        }
        this.#afterDelete(deleted, 'dropped', total);
      })();
      for (const type of EVENT_TYPES) {
        if (deleted[type] > 0) this.#metrics.dropped.inc({ type, reason: 'disk-budget' }, deleted[type]);
      }
      this.#estimatedBytes = this.#measureBytes();
      if (total > 0) {
        this.#log.warn(
          { dropped: deleted, budgetBytes: budget.maxBytes },
          'journal over its disk budget: dropped undelivered entries',
        );
        droppedRanges.sort((a, b) => a[0] - b[0]);
        this.append({
          type: 'gap',
          at: this.#clock.now(),
          payload: {
            reason: 'disk-budget',
            dropped: deleted,
            total,
            // Enough for the region to see which seq numbers will never come; capped in size.
            ranges: droppedRanges.slice(0, 200),
            rangesTruncated: droppedRanges.length > 200,
            budgetBytes: budget.maxBytes,
          },
        });
      }
    } finally {
      this.#evicting = false;
    }
  }

  /** Bookkeeping after rows were deleted (inside the deleting transaction); `unacked` of them were undelivered. */
  #afterDelete(deleted: CountsByType, kind: 'dropped' | 'purged', unacked: number): void {
    let total = 0;
    for (const type of EVENT_TYPES) {
      const n = deleted[type];
      if (n === 0) continue;
      total += n;
      this.#byType[type] -= n;
      (kind === 'dropped' ? this.#dropped : this.#purged)[type] += n;
    }
    if (total === 0) return;
    this.#entries -= total;
    const b = this.#stmt.bounds.get() as { lo: number | null; hi: number | null };
    this.#firstSeq = b.lo ?? undefined;
    this.#lastSeq = b.hi ?? undefined;
    // The highest seq ever used survives the deletion, so numbering never goes back.
    this.#stmt.setMeta.run('seq_floor', String(this.#nextSeq - 1));
    this.#persistCounts();
    if (unacked > 0) {
      this.#backlog -= unacked;
      this.#metrics.backlog.set(this.#backlog);
      // Undelivered entries that are gone count as done for the watermark (a gap event reports dropped ones).
      const through = this.#computeAckedThrough();
      if (through > this.#ackedThrough) {
        this.#ackedThrough = through;
        this.#stmt.setMeta.run('acked_through', String(through));
      }
    }
  }

  /** Highest seq below which everything is acknowledged or gone. */
  #computeAckedThrough(): number {
    const next = this.firstUnacked();
    if (next !== undefined) return next - 1;
    return this.#spill.length > 0 ? this.#spill[0]!.seq - 1 : this.#nextSeq - 1;
  }

  #persistCounts(): void {
    this.#stmt.setMeta.run('dropped', JSON.stringify(this.#dropped));
    this.#stmt.setMeta.run('purged', JSON.stringify(this.#purged));
  }

  #measureBytes(): number {
    const p = this.#stmt.pages.get() as [number, number, number];
    const bytes = (p[0] - p[1]) * p[2];
    this.#metrics.bytes.set(bytes);
    return bytes;
  }

  #openWal(): void {
    try {
      this.#walFd = openSync(`${this.file}-wal`, 'r');
      // What an earlier run left in the page cache is made durable before any of it is sent.
      fsyncSync(this.#walFd);
      // The WAL's directory entry must survive a power cut too.
      const dirFd = openSync(dirname(this.file), 'r');
      try {
        fsyncSync(dirFd);
      } finally {
        closeSync(dirFd);
      }
    } catch (err) {
      this.#log.warn({ err }, 'cannot open the journal WAL for fsync; relying on checkpoints');
      this.#walFd = undefined;
    }
  }

  #scheduleSync(): void {
    if (this.#closed) return;
    this.#syncTimer = this.#clock.setTimer(this.#syncIntervalMs, () => {
      void this.flush().finally(() => this.#scheduleSync());
    });
  }
}
