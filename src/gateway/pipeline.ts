import type { Registry } from 'prom-client';
import type { OpenResult } from '../bollard/types.js';
import type { JournalWriter } from '../journal/types.js';
import { PassageGrouper, type Passage, type PassageSettings } from '../passage/passage.js';
import { displayPlate } from '../plate/key.js';
import type { Decision } from '../policy/types.js';
import type { Clock, TimerHandle } from '../shared/clock.js';
import type { Logger } from '../shared/log.js';
import { counter, histogram } from '../shared/metrics.js';
import type { PlateRead, ReadRejection, SourceSink } from '../sources/plate-read.js';

/** What the pipeline needs of a lane's bollard: ask it to open; it writes GPIO before returning. */
export interface LaneActuator {
  requestOpen(passageId: string): OpenResult;
}

export interface PipelineLane {
  readonly id: string;
  /** decide() bound to this lane's zone policy and the list cache. Pure and synchronous. */
  readonly decide: (passage: Passage, now: number) => Decision;
  readonly bollard?: LaneActuator;
}

export type PipelineEvent =
  | { readonly type: 'read'; readonly read: PlateRead }
  | { readonly type: 'rejection'; readonly rejection: ReadRejection }
  | {
      readonly type: 'decision';
      readonly passage: Passage;
      readonly decision: Decision;
      readonly decideUs: number;
      /** What the lane's bollard did with an opening (after its GPIO write), on bollard lanes. */
      readonly bollard: OpenResult | undefined;
      /** From the complete line arriving to the GPIO write (or to the decision on camera-only lanes). */
      readonly latencyUs: number | undefined;
      readonly seq: number;
    };

export interface PipelineDeps {
  readonly lanes: readonly PipelineLane[];
  readonly passage: PassageSettings;
  readonly journal: JournalWriter;
  readonly clock: Clock;
  readonly registry: Registry;
  readonly log: Logger;
  /** Cache version and age, stamped on every passage event. */
  readonly listInfo: () => { version: number; ageSeconds: number | undefined };
  readonly onEvent?: (event: PipelineEvent) => void;
}

/** Rejections are counted always; journaled as a fault at most once per source and reason per minute. */
const REJECTION_JOURNAL_INTERVAL_MS = 60_000;

/**
 * The hot path: read → passage → decide → bollard → journal, synchronous from a read's arrival to
 * the GPIO write. The journal entry is written after the GPIO command, never before it, so a slow
 * disk cannot delay a bollard and the log never claims an opening that was not commanded.
 */
export class Pipeline implements SourceSink {
  readonly #grouper: PassageGrouper;
  readonly #lanes: Map<string, PipelineLane>;
  #expiryTimer: TimerHandle | undefined;
  #expiryAt: number | undefined;
  readonly #rejectionsSince = new Map<string, { count: number; firstAt: number; last: ReadRejection }>();
  readonly #metrics;

  constructor(private readonly deps: PipelineDeps) {
    this.#grouper = new PassageGrouper(deps.passage);
    this.#lanes = new Map(deps.lanes.map((l) => [l.id, l]));
    const r = deps.registry;
    this.#metrics = {
      reads: counter(r, 'zonegate_reads_total', 'Plate reads received, by lane', ['lane']),
      // Every source's refusals end here (serial, TCP, simulated, RTSP, replay), and so do reads for
      // a lane this gateway does not have: the one count of refused input.
      rejected: counter(r, 'zonegate_input_rejected_total', 'Input refused, by source and reason', [
        'source',
        'reason',
      ]),
      unknownLane: counter(r, 'zonegate_reads_unknown_lane_total', 'Reads for a lane this gateway does not have'),
      decisions: counter(r, 'zonegate_decisions_total', 'Decisions by lane, outcome and reason', [
        'lane',
        'outcome',
        'reason',
      ]),
      latency: histogram(
        r,
        'zonegate_decision_latency_seconds',
        'From a complete read arriving to the GPIO write',
        [0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.05, 0.25],
        ['lane'],
      ),
    };
  }

  read(read: PlateRead): void {
    const lane = this.#lanes.get(read.lane);
    if (!lane) {
      this.#metrics.unknownLane.inc();
      // No sample: the read is a well-formed plate, and a plain plate stays off the journal.
      this.reject({
        sourceId: read.sourceId,
        reason: 'unknown-lane',
        detail: `read for lane "${read.lane}", which this gateway does not have`,
        at: read.receivedAt,
      });
      return;
    }
    this.#metrics.reads.inc({ lane: read.lane });
    this.deps.onEvent?.({ type: 'read', read });
    for (const passage of this.#grouper.push(read)) this.#decide(passage);
    this.#scheduleExpiry();
  }

  reject(rejection: ReadRejection): void {
    this.#metrics.rejected.inc({ source: rejection.sourceId, reason: rejection.reason });
    this.deps.onEvent?.({ type: 'rejection', rejection });
    const key = `${rejection.sourceId}|${rejection.reason}`;
    const seen = this.#rejectionsSince.get(key);
    if (seen && rejection.at - seen.firstAt < REJECTION_JOURNAL_INTERVAL_MS) {
      seen.count++;
      seen.last = rejection;
      return;
    }
    const suppressed = seen ? seen.count : 0;
    this.#rejectionsSince.set(key, { count: 0, firstAt: rejection.at, last: rejection });
    this.deps.journal.append({
      type: 'fault',
      at: rejection.at,
      payload: {
        fault: 'input-rejected',
        source: rejection.sourceId,
        reason: rejection.reason,
        detail: rejection.detail,
        ...(rejection.sample !== undefined ? { sample: rejection.sample } : {}),
        suppressedSinceLast: suppressed,
      },
    });
  }

  /** Closes passages whose window has passed; called by the expiry timer and by tests. */
  expire(now: number = this.deps.clock.now()): void {
    for (const passage of this.#grouper.expire(now)) this.#decide(passage);
    this.#scheduleExpiry();
  }

  stop(): void {
    this.#expiryTimer?.cancel();
    this.#expiryTimer = undefined;
    // Vehicles still in their read window are decided now rather than lost.
    for (const passage of this.#grouper.expire(Number.MAX_SAFE_INTEGER)) this.#decide(passage);
  }

  #decide(passage: Passage): void {
    const lane = this.#lanes.get(passage.lane)!;
    const now = this.deps.clock.now();
    const t0 = process.hrtime.bigint();
    const decision = lane.decide(passage, now);
    const t1 = process.hrtime.bigint();
    const opened = decision.outcome === 'open' && lane.bollard ? lane.bollard.requestOpen(passage.id) : undefined;
    const t2 = process.hrtime.bigint();
    const decideUs = Number(t1 - t0) / 1000;
    const latencyUs = passage.arrivedHr !== undefined ? Number(t2 - passage.arrivedHr) / 1000 : undefined;
    if (latencyUs !== undefined) this.#metrics.latency.observe({ lane: lane.id }, latencyUs / 1e6);
    this.#metrics.decisions.inc({ lane: lane.id, outcome: decision.outcome, reason: decision.reason });
    const list = this.deps.listInfo();
    const entry = this.deps.journal.append({
      type: decision.outcome === 'record' ? 'violation' : 'passage',
      at: now,
      lane: lane.id,
      payload: {
        passageId: passage.id,
        plate: decision.plate,
        country: decision.country,
        display: displayPlate({ text: decision.plate, country: decision.country }),
        readText: passage.text,
        corrected: decision.corrected,
        confidence: passage.confidence,
        reads: passage.reads,
        consistentReads: passage.consistentReads,
        firstSeenAt: passage.firstSeenAt,
        lastSeenAt: passage.lastSeenAt,
        trigger: passage.trigger,
        ...(passage.direction ? { direction: passage.direction } : {}),
        ...(passage.imageRef ? { imageRef: passage.imageRef } : {}),
        ...(passage.cameraTime !== undefined ? { cameraTime: passage.cameraTime } : {}),
        outcome: decision.outcome,
        reason: decision.reason,
        ...(decision.grantId ? { grantId: decision.grantId } : {}),
        ...(decision.rule ? { rule: decision.rule } : {}),
        ...(decision.ruleVersion ? { ruleVersion: decision.ruleVersion } : {}),
        listVersion: list.version,
        ...(list.ageSeconds !== undefined ? { listAgeSeconds: Math.round(list.ageSeconds) } : {}),
        ...(opened ? { bollard: { accepted: opened.accepted, reason: opened.reason } } : {}),
        decideUs: Math.round(decideUs * 10) / 10,
        ...(latencyUs !== undefined ? { latencyUs: Math.round(latencyUs) } : {}),
      },
    });
    this.deps.onEvent?.({ type: 'decision', passage, decision, decideUs, bollard: opened, latencyUs, seq: entry.seq });
  }

  #scheduleExpiry(): void {
    const next = this.#grouper.nextDeadline();
    if (next === this.#expiryAt) return;
    this.#expiryTimer?.cancel();
    this.#expiryAt = next;
    this.#expiryTimer =
      next === undefined
        ? undefined
        : this.deps.clock.setTimer(Math.max(0, next - this.deps.clock.now()), () => {
            this.#expiryAt = undefined;
            this.#expiryTimer = undefined;
            this.expire();
          });
  }
}
