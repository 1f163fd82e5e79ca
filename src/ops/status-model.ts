import type { BollardPosition, ControllerState } from '../bollard/types.js';
import type { Outcome } from '../policy/types.js';
import type { HealthReport } from './health.js';

/**
 * What the local status page shows, and the one interface the gateway implements to feed it.
 * Everything here is plain JSON (it goes to the browser as is), except a lane's frame image,
 * which the server fetches separately with `frame(lane)`.
 */

export interface StatusRead {
  readonly at: number;
  readonly lane: string;
  readonly sourceId: string;
  /** Display form of the plate (with the sidecode's dashes). */
  readonly plate: string;
  readonly country: string;
  readonly confidence: number;
}

export interface StatusDecision {
  readonly at: number;
  readonly seq: number;
  readonly lane: string;
  readonly passageId: string;
  readonly plate: string;
  readonly country: string;
  readonly outcome: Outcome;
  readonly reason: string;
  readonly corrected: boolean;
  readonly grantId?: string;
  readonly listVersion: number;
  /** From the complete read arriving to the GPIO write, when measured. */
  readonly latencyMs?: number;
}

export interface StatusFault {
  readonly at: number;
  /** What raised it: a source id, 'bollard', 'uplink', 'lists', 'clock' … */
  readonly origin: string;
  readonly lane?: string;
  /** Stable reason code. */
  readonly reason: string;
  readonly detail: string;
  /** How many times the same origin and reason repeated since it was first listed. */
  readonly count: number;
}

export interface StatusBollard {
  readonly state: ControllerState;
  readonly position: BollardPosition;
  /** One entry per safety loop: true = vehicle present. */
  readonly loops: readonly boolean[];
  readonly emergency: boolean;
  readonly controllerFault: boolean;
  readonly failMode: 'fail-secure' | 'fail-open';
  /** ms epoch of the last state change. */
  readonly since: number;
  /** Last reason given by the controller (transition reason or fault). */
  readonly reason?: string;
}

export interface StatusSourceState {
  readonly id: string;
  readonly kind: string;
  readonly state: 'connected' | 'disconnected' | 'reconnecting' | 'unknown';
  readonly detail?: string;
  readonly since?: number;
}

/** A plate's box in the frame's pixel coordinates. */
export interface PlateBox {
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
}

export interface StatusFrameInfo {
  readonly at: number;
  readonly width: number;
  readonly height: number;
  readonly box?: PlateBox;
  /** Plate read in this frame, when there was one. */
  readonly plate?: string;
  /** Changes with every new frame, so the page can cache-bust its <img>. */
  readonly id: number;
}

export interface StatusFrame extends StatusFrameInfo {
  /** JPEG bytes. */
  readonly jpeg: Uint8Array;
}

export interface StatusLane {
  readonly id: string;
  readonly direction: 'in' | 'out';
  readonly bollard?: StatusBollard;
  readonly sources: readonly StatusSourceState[];
  /** Last frame of an RTSP lane (image at /api/frame/{lane}). */
  readonly frame?: StatusFrameInfo;
}

export interface StatusList {
  readonly version: number;
  /** ms epoch the region published this version. */
  readonly publishedAt?: number;
  readonly ageSeconds?: number;
  /** Older than policy.staleList.maxAgeHours. */
  readonly stale: boolean;
  readonly maxAgeHours: number;
  readonly grants?: number;
}

export interface StatusUplink {
  readonly connected: boolean;
  /** Journal entries not yet acknowledged by the region. */
  readonly backlog: number;
  readonly oldestUnackedAt?: number;
  readonly lastAckAt?: number;
  readonly broker?: string;
}

export interface StatusSnapshot {
  readonly gateway: {
    readonly id: string;
    readonly site: string;
    readonly zone: string;
    readonly municipality: string;
  };
  readonly versions: Readonly<Record<string, string>>;
  readonly now: number;
  readonly startedAt: number;
  readonly lanes: readonly StatusLane[];
  readonly list: StatusList;
  readonly uplink: StatusUplink;
  readonly health?: HealthReport;
  readonly recent: {
    readonly reads: readonly StatusRead[];
    readonly decisions: readonly StatusDecision[];
    readonly faults: readonly StatusFault[];
  };
}

/** A change the page applies without reloading; `snapshot` replaces everything. */
export type StatusEvent =
  | { readonly type: 'read'; readonly read: StatusRead }
  | { readonly type: 'decision'; readonly decision: StatusDecision }
  | { readonly type: 'fault'; readonly fault: StatusFault }
  | { readonly type: 'lane'; readonly lane: StatusLane }
  | { readonly type: 'list'; readonly list: StatusList }
  | { readonly type: 'uplink'; readonly uplink: StatusUplink }
  | { readonly type: 'health'; readonly health: HealthReport };

/** Implemented by the gateway (or by StatusBoard, which the gateway feeds). */
export interface StatusSource {
  snapshot(): StatusSnapshot;
  /** Live changes; returns the unsubscribe function. Listeners must not throw. */
  subscribe(listener: (event: StatusEvent) => void): () => void;
  /** The last frame of an RTSP lane, if there is one. */
  frame(lane: string): StatusFrame | undefined;
}
