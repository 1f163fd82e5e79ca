import Database from 'better-sqlite3';
import { entryFromRow, parseCounts, readMeta, type EventRow } from './rows.js';
import { EVENT_TYPES, zeroCounts, type CountsByType, type EventType, type JournalEntry } from './types.js';

export interface JournalSummary {
  readonly file: string;
  readonly gateway: string | undefined;
  readonly entries: number;
  readonly byType: CountsByType;
  readonly backlog: number;
  readonly firstSeq: number | undefined;
  readonly lastSeq: number | undefined;
  readonly ackedThrough: number | undefined;
  readonly dropped: CountsByType;
  readonly purged: CountsByType;
  readonly bytes: number;
  /** A gateway has it open now, or the last one did not close it (crash). */
  readonly openOrUnclean: boolean;
}

export interface JournalInspector {
  summary(): JournalSummary;
  /** Newest first. */
  latest(n: number, type?: EventType): JournalEntry[];
  /** Entries after seq, oldest first (for following). */
  after(seq: number, limit: number): JournalEntry[];
  close(): void;
}

/** The file opened is some other file (another database, not a database at all). */
export class NotAJournalError extends Error {
  override name = 'NotAJournalError';
}

/**
 * Read-only view of a journal file for technicians (`zonegate journal …`), safe while the gateway
 * runs: it never writes, so it cannot disturb numbering or acknowledgements.
 */
export function inspectJournal(file: string): JournalInspector {
  let db: Database.Database | undefined;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    if (!readMeta(db).has('gateway')) throw new Error('no gateway recorded');
    db.prepare('SELECT seq, id, type, at, lane, payload FROM events LIMIT 1').get();
  } catch (err) {
    db?.close();
    throw new NotAJournalError(`${file}: not a zonegate journal (${(err as Error).message})`);
  }
  const toEntries = (rows: unknown[]): JournalEntry[] => {
    const gateway = readMeta(db).get('gateway') ?? '';
    return (rows as EventRow[]).map((r) => entryFromRow(r, gateway));
  };
  return {
    summary() {
      const m = readMeta(db);
      const ackedThrough = m.has('acked_through') ? Number(m.get('acked_through')) : undefined;
      const byType = zeroCounts();
      let entries = 0;
      for (const r of db.prepare('SELECT type, count(*) AS n FROM events GROUP BY type').all() as {
        type: string;
        n: number;
      }[]) {
        if ((EVENT_TYPES as readonly string[]).includes(r.type)) byType[r.type as EventType] = r.n;
        entries += r.n;
      }
      const b = db.prepare('SELECT min(seq) AS lo, max(seq) AS hi FROM events').get() as {
        lo: number | null;
        hi: number | null;
      };
      const backlog = (
        db.prepare('SELECT count(*) AS n FROM events WHERE seq > ? AND acked = 0').get(ackedThrough ?? 0) as {
          n: number;
        }
      ).n;
      const [pages, free, size] = db
        .prepare('SELECT * FROM pragma_page_count(), pragma_freelist_count(), pragma_page_size()')
        .raw()
        .get() as [number, number, number];
      return {
        file,
        gateway: m.get('gateway'),
        entries,
        byType,
        backlog,
        firstSeq: b.lo ?? undefined,
        lastSeq: b.hi ?? undefined,
        ackedThrough,
        dropped: parseCounts(m.get('dropped')),
        purged: parseCounts(m.get('purged')),
        bytes: (pages - free) * size,
        openOrUnclean: m.get('open') === '1',
      };
    },
    latest(n, type) {
      const rows = type
        ? db
            .prepare('SELECT seq, id, type, at, lane, payload FROM events WHERE type = ? ORDER BY seq DESC LIMIT ?')
            .all(type, n)
        : db.prepare('SELECT seq, id, type, at, lane, payload FROM events ORDER BY seq DESC LIMIT ?').all(n);
      return toEntries(rows);
    },
    after(seq, limit) {
      return toEntries(
        db
          .prepare('SELECT seq, id, type, at, lane, payload FROM events WHERE seq > ? ORDER BY seq LIMIT ?')
          .all(seq, limit),
      );
    },
    close: () => db.close(),
  };
}
