import type Database from 'better-sqlite3';
import { EVENT_TYPES, zeroCounts, type CountsByType, type EventType, type JournalEntry } from './types.js';

// How the journal file's rows become entries and counts: shared by the journal itself and by the
// read-only inspector (`zonegate journal …`), so both read a file the same way.

/** One row of the events table as selected (seq, id, type, at, lane, payload). */
export interface EventRow {
  seq: number;
  id: string;
  type: string;
  at: number;
  lane: string | null;
  payload: string;
}

export function entryFromRow(row: EventRow, gateway: string): JournalEntry {
  return {
    seq: row.seq,
    id: row.id,
    gateway,
    type: row.type as EventType,
    at: row.at,
    ...(row.lane !== null ? { lane: row.lane } : {}),
    payload: JSON.parse(row.payload) as Record<string, unknown>,
  };
}

/** The meta table (schema, gateway, acked_through, counts …) as a map. */
export function readMeta(db: Database.Database): Map<string, string> {
  const rows = db.prepare('SELECT key, value FROM meta').all() as { key: string; value: string }[];
  return new Map(rows.map((r) => [r.key, r.value]));
}

/** Counts by event type stored as JSON in meta (dropped, purged). */
export function parseCounts(text: string | undefined): CountsByType {
  const counts = zeroCounts();
  if (!text) return counts;
  try {
    const parsed = JSON.parse(text) as Record<string, unknown>;
    for (const type of EVENT_TYPES) if (typeof parsed[type] === 'number') counts[type] = parsed[type] as number;
  } catch {
    // A damaged counter starts again from zero; the entries themselves are unaffected.
  }
  return counts;
}
