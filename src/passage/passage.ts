import { randomUUID } from 'node:crypto';
import { confusionClassKey } from '../plate/confusions.js';
import type { PlateRead } from '../sources/plate-read.js';

/** One vehicle passing one lane, possibly seen in many reads. */
export interface Passage {
  readonly id: string;
  readonly lane: string;
  /** Winning text: most reads, then highest confidence. */
  readonly text: string;
  readonly country: string;
  /** Best confidence among the reads of the winning text (0–1000). */
  readonly confidence: number;
  readonly charConfidences?: readonly number[];
  readonly reads: number;
  /** Reads that agree with the winning text. */
  readonly consistentReads: number;
  /** Other texts seen in this passage, with how often. */
  readonly alternatives: readonly { readonly text: string; readonly count: number }[];
  readonly firstSeenAt: number;
  readonly lastSeenAt: number;
  /** Why the grouper released it: enough consistent reads, or the read window closed. */
  readonly trigger: 'consistent-reads' | 'window-closed';
  readonly direction?: 'in' | 'out';
  readonly imageRef?: string;
  readonly cameraTime?: number;
  /** Arrival of the read that completed the passage (for latency measurement). */
  readonly arrivedHr?: bigint;
}

export interface PassageSettings {
  readonly windowMs: number;
  readonly minReads: number;
  readonly holdOffMs: number;
}

interface Group {
  readonly id: string;
  readonly lane: string;
  readonly classKey: string;
  readonly country: string;
  readonly texts: Map<string, { count: number; best: PlateRead }>;
  reads: number;
  firstSeenAt: number;
  lastSeenAt: number;
  /** Set once released for decision; later reads of the vehicle are absorbed, not decided again. */
  releasedAt?: number;
}

/**
 * Groups the reads of one lane into passages. Pure apart from ids: time comes in with each call.
 * Reads whose texts differ only by OCR confusions (0/O, 8/B …) belong to the same vehicle.
 */
export class PassageGrouper {
  readonly #groups = new Map<string, Group>();

  constructor(
    private readonly settings: PassageSettings,
    private readonly newId: () => string = randomUUID,
  ) {}

  /**
   * Adds a read. Returns the passages released by it: groups whose window closed before this read
   * arrived, then this read's own group when it now has N consistent reads.
   */
  push(read: PlateRead): Passage[] {
    const released = this.expire(read.receivedAt);
    const classKey = `${read.lane}|${read.country}|${confusionClassKey(read.text)}`;
    let g = this.#groups.get(classKey);
    if (!g) {
      g = {
        id: this.newId(),
        lane: read.lane,
        classKey,
        country: read.country,
        texts: new Map(),
        reads: 0,
        firstSeenAt: read.receivedAt,
        lastSeenAt: read.receivedAt,
      };
      this.#groups.set(classKey, g);
    }
    g.reads++;
    g.lastSeenAt = read.receivedAt;
    const t = g.texts.get(read.text);
    if (!t) g.texts.set(read.text, { count: 1, best: read });
    else {
      t.count++;
      if (read.confidence > t.best.confidence) t.best = read;
    }
    if (g.releasedAt === undefined && (g.texts.get(read.text)?.count ?? 0) >= this.settings.minReads) {
      g.releasedAt = read.receivedAt;
      released.push(toPassage(g, 'consistent-reads', read.arrivedHr));
    }
    return released;
  }

  /**
   * Closes groups whose read window has passed: a group never released is released now with what
   * it has; a released group is forgotten once its hold-off has passed too.
   */
  expire(now: number): Passage[] {
    const out: Passage[] = [];
    for (const [k, g] of this.#groups) {
      const quiet = now - g.lastSeenAt;
      if (g.releasedAt === undefined) {
        if (quiet > this.settings.windowMs) {
          g.releasedAt = now;
          out.push(toPassage(g, 'window-closed', undefined));
        }
      }
      if (
        g.releasedAt !== undefined &&
        quiet > this.settings.windowMs &&
        now - g.releasedAt >= this.settings.holdOffMs
      ) {
        this.#groups.delete(k);
      }
    }
    return out;
  }

  /** Time of the next expiry that could release or forget a group, for the caller's timer. */
  nextDeadline(): number | undefined {
    let next: number | undefined;
    for (const g of this.#groups.values()) {
      const at =
        g.releasedAt === undefined
          ? g.lastSeenAt + this.settings.windowMs + 1
          : Math.max(g.lastSeenAt + this.settings.windowMs + 1, g.releasedAt + this.settings.holdOffMs);
      if (next === undefined || at < next) next = at;
    }
    return next;
  }

  get openGroups(): number {
    return this.#groups.size;
  }
}

function toPassage(g: Group, trigger: Passage['trigger'], arrivedHr: bigint | undefined): Passage {
  const ranked = [...g.texts.entries()].sort(
    (a, b) => b[1].count - a[1].count || b[1].best.confidence - a[1].best.confidence,
  );
  const [text, win] = ranked[0]!;
  const best = win.best;
  return {
    id: g.id,
    lane: g.lane,
    text,
    country: g.country,
    confidence: best.confidence,
    ...(best.charConfidences ? { charConfidences: best.charConfidences } : {}),
    reads: g.reads,
    consistentReads: win.count,
    alternatives: ranked.slice(1).map(([t, v]) => ({ text: t, count: v.count })),
    firstSeenAt: g.firstSeenAt,
    lastSeenAt: g.lastSeenAt,
    trigger,
    ...(best.direction ? { direction: best.direction } : {}),
    ...(best.imageRef ? { imageRef: best.imageRef } : {}),
    ...(best.cameraTime !== undefined ? { cameraTime: best.cameraTime } : {}),
    ...(arrivedHr !== undefined ? { arrivedHr } : {}),
  };
}
