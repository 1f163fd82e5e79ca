import type { Registry } from 'prom-client';
import { counter, gauge } from '../shared/metrics.js';

/**
 * What every camera source counts, labelled by source id. Refused input is counted once, where
 * every source's rejections arrive: the gateway's pipeline (`zonegate_input_rejected_total{source,
 * reason}`, so a technician sees "cam-1: 312 bad-checksum" and knows to look at the RS-485
 * wiring); here only the bytes refused, by reason.
 */
export function sourceMetrics(registry: Registry) {
  return {
    bytes: counter(registry, 'zonegate_source_bytes_total', 'Bytes received from a camera', ['source']),
    reads: counter(registry, 'zonegate_source_reads_total', 'Plate reads decoded from a camera', ['source']),
    heartbeats: counter(registry, 'zonegate_source_heartbeats_total', 'Keep-alive frames from a camera', ['source']),
    rejectedBytes: counter(registry, 'zonegate_source_rejected_bytes_total', 'Bytes of refused input, by reason', [
      'source',
      'reason',
    ]),
    bufferHighWater: gauge(
      registry,
      'zonegate_source_buffer_high_water_bytes',
      'Most bytes a source held for an incomplete frame (bounded by the dialect)',
      ['source'],
    ),
    connected: gauge(registry, 'zonegate_source_connected', 'Camera connections open (serial: 0 or 1)', ['source']),
    reconnects: counter(registry, 'zonegate_source_reconnects_total', 'Times a camera link came back', ['source']),
    connectionsRefused: counter(
      registry,
      'zonegate_source_connections_refused_total',
      'Connections a listening source closed unread: peer not in allowFrom, or too many cameras',
      ['source', 'reason'],
    ),
    clockSkew: gauge(
      registry,
      'zonegate_camera_clock_skew_seconds',
      'Camera clock minus gateway clock at the last timestamped read',
      ['source'],
    ),
    clockSkewExceeded: counter(
      registry,
      'zonegate_camera_clock_skew_exceeded_total',
      'Timestamped reads whose camera clock was off by more than the allowed skew',
      ['source'],
    ),
  };
}

export type SourceMetrics = ReturnType<typeof sourceMetrics>;
