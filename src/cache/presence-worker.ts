import Database from 'better-sqlite3';
import { getPriority, setPriority } from 'node:os';
import { PRESENCE_FILE_ENV, PresenceFilter, type PresenceBuildReply } from './presence.js';
import { SQL } from './store.js';

/**
 * Builds the presence filter of one data file in a child process (started by the list cache with an
 * IPC channel): its own read-only connection, one read transaction for the change counter and the
 * scan of the entries, so the filter holds exactly the keys of the version at that counter (changes
 * after it are caught up from presence_log). A process and not a worker thread: a thread that loads
 * SQLite leaves about 10 MB in the gateway's RSS after it ends; a process leaves nothing but the
 * filter it hands over.
 */
/** Head room for keys that deltas add after the build (a rebuild is cheaper than a bad filter). */
const HEADROOM = 1.0625;

export function buildPresence(file: string): PresenceBuildReply & { ok: true } {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    // A scan streams through pages once: no need for a page cache of its own.
    db.pragma('cache_size = -2048');
    db.exec('BEGIN');
    try {
      const meta = new Map(
        db
          .prepare("SELECT key, value FROM meta WHERE key IN ('presence_change', 'grants', 'vehicles')")
          .raw()
          .all() as [string, unknown][],
      );
      const num = (k: string): number => Number(meta.get(k) ?? 0);
      const change = num('presence_change');
      // Plates with grants mostly have vehicle facts too (or the zone has no vehicle data).
      const expected = Math.ceil(Math.max(num('grants'), num('vehicles')) * HEADROOM) + 1024;
      const filter = PresenceFilter.forKeys(expected);
      const it = db.prepare(SQL.selectKeys).raw().iterate() as IterableIterator<[string, string]>;
      for (const [plate, country] of it) filter.add(plate, country);
      return { ok: true, words: filter.words, change, added: filter.added };
    } finally {
      db.exec('COMMIT');
    }
  } finally {
    db.close();
  }
}

const file = process.env[PRESENCE_FILE_ENV];
if (file !== undefined && process.send !== undefined) {
  try {
    // Background work: decisions in the gateway come first.
    setPriority(Math.min(19, getPriority() + 10));
  } catch {
    // not allowed here: run at the same priority
  }
  let reply: PresenceBuildReply;
  try {
    reply = buildPresence(file);
  } catch (err) {
    reply = { ok: false, error: (err as Error).message };
  }
  try {
    process.send(reply, () => process.exit(0));
  } catch {
    process.exit(1);
  }
}
