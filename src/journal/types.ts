/**
 * The journal is the gateway's durable memory and its outbox to the region. Every entry gets a
 * per-gateway monotonic sequence number and a globally unique id at append time.
 */
export const EVENT_TYPES = [
  'passage', // a passage and its decision
  'violation', // camera-only: a vehicle entered without admission (evidence for enforcement)
  'bollard', // bollard transition
  'fault', // any fault: serial, bollard, list, clock
  'list', // list update applied or rejected
  'gap', // events dropped under the disk budget, reported upstream
  'system', // start, stop, config
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export interface JournalEntryInput {
  readonly type: EventType;
  /** ms epoch of what happened (gateway clock). */
  readonly at: number;
  readonly lane?: string;
  readonly payload: Readonly<Record<string, unknown>>;
}

export interface JournalEntry extends JournalEntryInput {
  /**
   * Per gateway, strictly increasing, never reused once the entry may have left the gateway (a
   * power cut can take the last entries before their fsync; those were never sent, and their
   * numbers are handed out again). A new journal file starts at the creation time in ms × 1000, so
   * a gateway whose journal was lost (SD card replaced) keeps counting upwards and the region,
   * idempotent on (gateway, seq), never mistakes a new event for a duplicate.
   */
  readonly seq: number;
  /** UUIDv7: unique across gateways and journals, time-ordered. */
  readonly id: string;
  readonly gateway: string;
}

export interface JournalWriter {
  /** Appends synchronously and durably per the journal's fsync policy; returns the stored entry. */
  append(entry: JournalEntryInput): JournalEntry;
}

/** Disk budget of the outbox: what goes first when it would overflow. */
export interface JournalBudget {
  /** Bytes the journal's database may use (pages in use, indexes included). */
  readonly maxBytes: number;
  /**
   * Event types in the order they are dropped when undelivered entries must go, first dropped
   * first. Types not listed are never dropped (gap always; the config keeps violation and fault
   * last).
   */
  readonly dropOrder: readonly EventType[];
}

/** Local retention per event type in ms; types left out are kept until the disk budget needs room. */
export type RetentionPolicy = Partial<Record<EventType, number>>;

export type CountsByType = Record<EventType, number>;

export interface JournalStats {
  readonly gateway: string;
  readonly file: string;
  /** Entries stored. */
  readonly entries: number;
  readonly byType: CountsByType;
  /** Entries not yet acknowledged by the region. */
  readonly backlog: number;
  readonly firstSeq: number | undefined;
  readonly lastSeq: number | undefined;
  /** Every entry up to this seq is acknowledged (or gone). */
  readonly ackedThrough: number;
  /** Every entry up to this seq has reached the disk (fsync). */
  readonly durableSeq: number;
  /** Pages in use by the database, in bytes. */
  readonly bytes: number;
  readonly budgetBytes: number | undefined;
  /** Undelivered entries dropped under the disk budget since the journal was created, by type. */
  readonly dropped: CountsByType;
  /** Acknowledged entries removed by the retention purge since the journal was created, by type. */
  readonly purged: CountsByType;
  /** The previous run ended without close(): power cut, SIGKILL, crash. */
  readonly openedAfterCrash: boolean;
}

export interface ReadOptions {
  /** At most this many entries (default 1000). */
  readonly limit?: number;
  /** Stop once the entries' payloads add up to about this many bytes (at least one entry). */
  readonly maxBytes?: number;
  /** Skip entries already acknowledged. */
  readonly unackedOnly?: boolean;
  /** Only entries that have reached the disk: what may leave the gateway. */
  readonly durableOnly?: boolean;
}

/** An entry as stored: the payload still as its JSON text (the uplink sends it without re-encoding). */
export interface RawJournalEntry {
  readonly seq: number;
  readonly id: string;
  readonly type: EventType;
  readonly at: number;
  readonly lane: string | null;
  readonly payloadJson: string;
}

/** What the uplink, the status page and the CLI read. */
export interface JournalReader {
  readonly gatewayId: string;
  /** Highest seq stored (cheap; stats() measures the file too). */
  readonly lastSeq: number | undefined;
  /** Every entry up to this seq has reached the disk. */
  readonly durableSeq: number;
  /** Entries not yet acknowledged (cheap). */
  readonly backlog: number;
  /** Entries with seq >= from, in seq order. */
  readFrom(from: number, options?: ReadOptions): JournalEntry[];
  /** As readFrom, with payloads left as stored JSON text. */
  readRawFrom(from: number, options?: ReadOptions): RawJournalEntry[];
  /** The newest entries, newest first. */
  latest(n: number, filter?: { readonly type?: EventType }): JournalEntry[];
  /** Lowest seq not acknowledged, if any. */
  firstUnacked(): number | undefined;
  stats(): JournalStats;
  /** Called after every append (synchronously, inside append). Returns an unsubscribe function. */
  onAppend(listener: (entry: JournalEntry) => void): () => void;
}

export interface PurgeResult {
  readonly deleted: CountsByType;
  /** True when the purge stopped at its row limit and should be called again. */
  readonly more: boolean;
}

export interface Journal extends JournalWriter, JournalReader {
  readonly file: string;
  /** Marks seq first..last acknowledged by the region; returns how many entries were newly acknowledged. */
  ack(first: number, last: number): number;
  /** fsyncs what was appended so far without blocking the event loop; resolves with the durable seq. */
  flush(): Promise<number>;
  /**
   * Deletes entries older than their type's retention, at most maxRows per call: acknowledged ones
   * only, or with `undelivered: 'expire'` unacknowledged ones too (a gateway without an uplink,
   * where nothing is ever acknowledged).
   */
  purge(retention: RetentionPolicy, now: number, maxRows?: number, undelivered?: 'keep' | 'expire'): PurgeResult;
  /** Flushes and closes the database; a later append throws. */
  close(): void;
}

export function zeroCounts(): CountsByType {
  return { passage: 0, violation: 0, bollard: 0, fault: 0, list: 0, gap: 0, system: 0 };
}
