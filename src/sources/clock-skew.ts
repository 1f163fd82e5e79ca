import type { SourceFault } from './plate-read.js';
import type { SourceMetrics } from './metrics.js';

export interface ClockSkewOptions {
  readonly sourceId: string;
  /** Skew beyond this (either direction) is reported. */
  readonly maxSkewMs: number;
  /** While the skew persists, it is reported again at most this often. */
  readonly repeatMs?: number;
  readonly metrics?: SourceMetrics;
  readonly onFault?: (fault: SourceFault) => void;
}

/**
 * Compares the camera's clock with the gateway's on every timestamped read. Decisions never use
 * the camera's time (it is shown as evidence); a camera whose clock drifted (no NTP, a dead RTC
 * battery) is reported so that its evidence timestamps can be corrected and the clock fixed.
 */
export class ClockSkewMonitor {
  #alarmed = false;
  #lastReportAt = -Infinity;
  lastSkewMs: number | undefined;

  constructor(private readonly options: ClockSkewOptions) {}

  observe(cameraTime: number, receivedAt: number): void {
    const { sourceId, maxSkewMs, repeatMs = 600_000, metrics, onFault } = this.options;
    const skew = cameraTime - receivedAt;
    this.lastSkewMs = skew;
    metrics?.clockSkew.set({ source: sourceId }, skew / 1000);
    if (Math.abs(skew) > maxSkewMs) {
      metrics?.clockSkewExceeded.inc({ source: sourceId });
      if (this.#alarmed && receivedAt - this.#lastReportAt < repeatMs) return;
      this.#alarmed = true;
      this.#lastReportAt = receivedAt;
      onFault?.({
        sourceId,
        code: 'clock-skew',
        skewMs: skew,
        at: receivedAt,
        detail: `camera ${sourceId} clock is ${describe(skew)} the gateway's (allowed ${maxSkewMs / 1000} s); reads keep the gateway's arrival time for decisions`,
      });
    } else if (this.#alarmed) {
      this.#alarmed = false;
      onFault?.({
        sourceId,
        code: 'clock-skew-cleared',
        skewMs: skew,
        at: receivedAt,
        detail: `camera ${sourceId} clock is back within ${maxSkewMs / 1000} s of the gateway's (${describe(skew)})`,
      });
    }
  }
}

function describe(skewMs: number): string {
  const s = Math.abs(skewMs) / 1000;
  const amount = s >= 120 ? `${(s / 60).toFixed(1)} min` : `${s.toFixed(1)} s`;
  return `${amount} ${skewMs >= 0 ? 'ahead of' : 'behind'}`;
}
