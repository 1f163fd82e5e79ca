import type { BollardEvent, BollardInputs, BollardPosition } from '../bollard/types.js';
import type { SiteConfig } from '../config/schema.js';
import type { PipelineEvent } from '../gateway/pipeline.js';
import { displayPlate } from '../plate/key.js';
import type { Clock } from '../shared/clock.js';
import type { Health } from './health.js';
import type {
  StatusBollard,
  StatusDecision,
  StatusEvent,
  StatusFault,
  StatusFrame,
  StatusLane,
  StatusList,
  StatusRead,
  StatusSnapshot,
  StatusSource,
  StatusSourceState,
  StatusUplink,
} from './status-model.js';

export interface StatusBoardDeps {
  readonly site: SiteConfig;
  readonly clock: Clock;
  /** Component versions shown on the page: zonegate, node, model, dialects … */
  readonly versions: Readonly<Record<string, string>>;
  readonly health?: Health;
}

/** A newest-first list that keeps at most `limit` entries. */
class Recent<T> {
  readonly items: T[] = [];
  constructor(private readonly limit: number) {}
  push(item: T): void {
    this.items.unshift(item);
    if (this.items.length > this.limit) this.items.length = this.limit;
  }
}

/**
 * The StatusSource the gateway feeds from the modules' callbacks: it keeps the latest state of
 * each lane, list and uplink plus the recent reads, decisions and faults, and passes every change
 * on to the page's subscribers. Feeding it is cheap and never throws, so it can sit beside the
 * hot path (it observes; the pipeline does not wait for it).
 */
export class StatusBoard implements StatusSource {
  readonly #startedAt: number;
  readonly #listeners = new Set<(event: StatusEvent) => void>();
  readonly #reads: Recent<StatusRead>;
  readonly #decisions: Recent<StatusDecision>;
  readonly #faults: Recent<StatusFault>;
  readonly #lanes = new Map<string, { direction: 'in' | 'out'; bollard?: StatusBollard; sources: string[] }>();
  readonly #sources = new Map<string, StatusSourceState & { lane: string }>();
  readonly #frames = new Map<string, StatusFrame>();
  #frameId = 0;
  #list: { version: number; publishedAt?: number; grants?: number } = { version: 0 };
  #uplink: StatusUplink = { connected: false, backlog: 0 };

  constructor(private readonly deps: StatusBoardDeps) {
    this.#startedAt = deps.clock.now();
    const limit = deps.site.status.recent;
    this.#reads = new Recent(limit);
    this.#decisions = new Recent(limit);
    this.#faults = new Recent(limit);
    for (const lane of deps.site.lanes) {
      this.#lanes.set(lane.id, {
        direction: lane.direction,
        sources: [],
        ...(lane.bollard
          ? {
              bollard: {
                state: 'idle-up',
                position: 'unknown',
                loops: (lane.bollard.pins?.loops ?? [0]).map(() => false),
                emergency: false,
                controllerFault: false,
                failMode: lane.bollard.failMode,
                since: this.#startedAt,
              } satisfies StatusBollard,
            }
          : {}),
      });
    }
    for (const s of deps.site.sources) {
      this.#sources.set(s.id, { id: s.id, kind: s.kind, state: 'unknown', lane: s.lane });
      this.#lanes.get(s.lane)?.sources.push(s.id);
    }
  }

  // ---- StatusSource ----

  snapshot(): StatusSnapshot {
    const g = this.deps.site.gateway;
    return {
      gateway: { id: g.id, site: g.site, zone: g.zone, municipality: g.municipality },
      versions: this.deps.versions,
      now: this.deps.clock.now(),
      startedAt: this.#startedAt,
      lanes: [...this.#lanes.keys()].map((id) => this.#lane(id)),
      list: this.#listState(),
      uplink: this.#uplink,
      ...(this.deps.health ? { health: this.deps.health.evaluate() } : {}),
      recent: {
        reads: [...this.#reads.items],
        decisions: [...this.#decisions.items],
        faults: [...this.#faults.items],
      },
    };
  }

  subscribe(listener: (event: StatusEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => void this.#listeners.delete(listener);
  }

  frame(lane: string): StatusFrame | undefined {
    return this.#frames.get(lane);
  }

  // ---- fed by the gateway ----

  /** Every pipeline event (Pipeline's onEvent). */
  pipeline(event: PipelineEvent): void {
    switch (event.type) {
      case 'read': {
        const r = event.read;
        const read: StatusRead = {
          at: r.receivedAt,
          lane: r.lane,
          sourceId: r.sourceId,
          plate: displayPlate({ text: r.text, country: r.country }),
          country: r.country,
          confidence: r.confidence,
        };
        this.#reads.push(read);
        this.#emit({ type: 'read', read });
        return;
      }
      case 'rejection': {
        const j = event.rejection;
        this.fault({ origin: j.sourceId, reason: j.reason, detail: j.detail, at: j.at });
        return;
      }
      case 'decision': {
        const d = event.decision;
        const decision: StatusDecision = {
          at: this.deps.clock.now(),
          seq: event.seq,
          lane: event.passage.lane,
          passageId: event.passage.id,
          plate: displayPlate({ text: d.plate, country: d.country }),
          country: d.country,
          outcome: d.outcome,
          reason: d.reason,
          corrected: d.corrected,
          ...(d.grantId ? { grantId: d.grantId } : {}),
          listVersion: d.listVersion,
          ...(event.latencyUs !== undefined ? { latencyMs: Math.round(event.latencyUs) / 1000 } : {}),
        };
        this.#decisions.push(decision);
        this.#emit({ type: 'decision', decision });
        return;
      }
    }
  }

  /** Bollard controller events: transitions move the lane's state, faults are listed too. */
  bollard(event: BollardEvent): void {
    const lane = this.#lanes.get(event.lane);
    if (!lane?.bollard) return;
    if (event.type === 'transition' && event.to) {
      lane.bollard = { ...lane.bollard, state: event.to, since: event.at, reason: event.reason };
    } else if (event.type === 'fault' || event.type === 'refused') {
      if (event.type === 'fault')
        lane.bollard = { ...lane.bollard, state: 'fault', since: event.at, reason: event.reason };
      this.fault({
        origin: 'bollard',
        lane: event.lane,
        reason: event.reason,
        detail: describeBollardEvent(event),
        at: event.at,
      });
    }
    this.#emit({ type: 'lane', lane: this.#lane(event.lane) });
  }

  /** The bollard's debounced inputs and derived position, whenever they change. */
  bollardInputs(laneId: string, inputs: BollardInputs, position: BollardPosition): void {
    const lane = this.#lanes.get(laneId);
    if (!lane?.bollard) return;
    lane.bollard = {
      ...lane.bollard,
      position,
      loops: [...inputs.loops],
      emergency: inputs.emergency,
      controllerFault: inputs.controllerFault,
    };
    this.#emit({ type: 'lane', lane: this.#lane(laneId) });
  }

  /** A source's connection state (SourceSink.status). */
  source(sourceId: string, state: StatusSourceState['state'], detail?: string): void {
    const s = this.#sources.get(sourceId);
    if (!s) return;
    const at = this.deps.clock.now();
    this.#sources.set(sourceId, { ...s, state, since: at, ...(detail ? { detail } : { detail: undefined }) });
    if (state !== 'connected')
      this.fault({ origin: sourceId, lane: s.lane, reason: state, detail: detail ?? `source ${state}`, at });
    this.#emit({ type: 'lane', lane: this.#lane(s.lane) });
  }

  /** Any fault worth showing. Repeats of the same origin and reason fold into one line with a count. */
  fault(f: { origin: string; reason: string; detail: string; lane?: string; at?: number }): void {
    const at = f.at ?? this.deps.clock.now();
    const items = this.#faults.items;
    const i = items.findIndex((x) => x.origin === f.origin && x.reason === f.reason && x.lane === f.lane);
    const count = i >= 0 ? items[i]!.count + 1 : 1;
    if (i >= 0) items.splice(i, 1);
    const fault: StatusFault = {
      at,
      origin: f.origin,
      reason: f.reason,
      detail: f.detail,
      count,
      ...(f.lane ? { lane: f.lane } : {}),
    };
    this.#faults.push(fault);
    this.#emit({ type: 'fault', fault });
  }

  /** The list cache switched version (or on start). */
  list(info: { version: number; publishedAt?: number; grants?: number }): void {
    this.#list = { ...info };
    this.#emit({ type: 'list', list: this.#listState() });
  }

  uplink(update: Partial<StatusUplink>): void {
    this.#uplink = { ...this.#uplink, ...update };
    this.#emit({ type: 'uplink', uplink: this.#uplink });
  }

  /** The latest frame of an RTSP lane, with the plate's box when the vision worker found one. */
  setFrame(laneId: string, frame: Omit<StatusFrame, 'id'>): void {
    if (!this.#lanes.has(laneId)) return;
    this.#frames.set(laneId, { ...frame, id: ++this.#frameId });
    this.#emit({ type: 'lane', lane: this.#lane(laneId) });
  }

  #listState(): StatusList {
    const maxAgeHours = this.deps.site.policy.staleList.maxAgeHours;
    const ageSeconds =
      this.#list.publishedAt !== undefined
        ? Math.max(0, (this.deps.clock.now() - this.#list.publishedAt) / 1000)
        : undefined;
    return {
      version: this.#list.version,
      ...(this.#list.publishedAt !== undefined ? { publishedAt: this.#list.publishedAt } : {}),
      ...(ageSeconds !== undefined ? { ageSeconds: Math.round(ageSeconds) } : {}),
      // A list whose age is unknown (never synced) is treated as stale, as the policy does.
      stale: ageSeconds === undefined || ageSeconds > maxAgeHours * 3600,
      maxAgeHours,
      ...(this.#list.grants !== undefined ? { grants: this.#list.grants } : {}),
    };
  }

  #lane(id: string): StatusLane {
    const lane = this.#lanes.get(id)!;
    const frame = this.#frames.get(id);
    return {
      id,
      direction: lane.direction,
      ...(lane.bollard ? { bollard: lane.bollard } : {}),
      sources: lane.sources.map((s) => {
        const { lane: _lane, ...state } = this.#sources.get(s)!;
        return state;
      }),
      ...(frame
        ? {
            frame: {
              at: frame.at,
              width: frame.width,
              height: frame.height,
              id: frame.id,
              ...(frame.box ? { box: frame.box } : {}),
              ...(frame.plate ? { plate: frame.plate } : {}),
            },
          }
        : {}),
    };
  }

  #emit(event: StatusEvent): void {
    for (const l of this.#listeners) {
      try {
        l(event);
      } catch {
        // A broken page connection must not disturb the gateway feeding the board.
      }
    }
  }
}

function describeBollardEvent(e: BollardEvent): string {
  const parts = [e.reason];
  if (e.command) parts.push(`command ${e.command}`);
  if (e.from || e.to) parts.push(`${e.from ?? '?'} → ${e.to ?? '?'}`);
  if (e.passageId) parts.push(`passage ${e.passageId}`);
  return parts.join(', ');
}
