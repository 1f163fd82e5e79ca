/**
 * What every source (serial dialect, TCP, RTSP + vision) delivers: one recognition of one plate.
 * Confidences are integers 0–1000 whatever the camera's own scale.
 */
export interface PlateRead {
  /** Source (camera) id from the config. */
  readonly sourceId: string;
  readonly lane: string;
  /** Canonical text: A–Z0–9 without separators, as read (not yet corrected). */
  readonly text: string;
  /** ISO 3166-1 alpha-2; 'NL' when the camera does not say. */
  readonly country: string;
  /** Plate confidence 0–1000. */
  readonly confidence: number;
  /** Per-character confidences 0–1000 when the camera or model gives them. */
  readonly charConfidences?: readonly number[];
  /** The camera's own timestamp (ms epoch), if it sent one; shown for skew, never used to decide. */
  readonly cameraTime?: number;
  /** Gateway clock when the complete read arrived (ms epoch): decisions use this. */
  readonly receivedAt: number;
  readonly direction?: 'in' | 'out';
  /** Reference to an image the camera stored (file name, URL), passed through as evidence. */
  readonly imageRef?: string;
  /** High-resolution arrival stamp (process.hrtime.bigint) for latency measurement. */
  readonly arrivedHr?: bigint;
}

/** Input that a source refused, with a reason code that is counted and shown to the technician. */
export interface ReadRejection {
  readonly sourceId: string;
  /**
   * Stable reason code (REJECTION_REASONS in dialect/codec.ts): garbage, line-too-long,
   * truncated-frame, bad-framing, missing-checksum, bad-checksum, bad-layout,
   * unexpected-message, missing-field, bad-field; the pipeline adds unknown-lane.
   */
  readonly reason: string;
  /** Human-readable detail naming what was wrong and where. */
  readonly detail: string;
  readonly at: number;
  /** A short, printable excerpt of the offending input (never more than 80 characters). */
  readonly sample?: string;
}

/**
 * A condition of a source that is not about one line: the camera's clock has drifted from the
 * gateway's (reads are still used, with the gateway's arrival time), or has come back in line;
 * or a listening source turned a connection away (a host not in allowFrom, too many cameras).
 */
export interface SourceFault {
  readonly sourceId: string;
  readonly code: 'clock-skew' | 'clock-skew-cleared' | 'connection-refused';
  readonly detail: string;
  readonly at: number;
  /** Camera clock minus gateway clock, in ms (positive: the camera is ahead). */
  readonly skewMs?: number;
}

export type SourceState = 'connected' | 'disconnected' | 'reconnecting';

export interface SourceSink {
  read(read: PlateRead): void;
  reject(rejection: ReadRejection): void;
  /** Connection state changes (device gone, reconnected) for status and journal. */
  status?(sourceId: string, state: SourceState, detail?: string): void;
  /** Faults that are not one bad line (clock skew), for status and journal. */
  fault?(fault: SourceFault): void;
}
