/**
 * Camera input: serial, TCP and simulated ANPR cameras speaking configurable dialects, and the
 * replay of captured input. The gateway calls createSource() per `sources[]` entry (except
 * kind rtsp) and replayCapture() for `zonegate replay`. See docs/camera-input.md.
 */
export type { PlateRead, ReadRejection, SourceSink, SourceFault, SourceState } from './plate-read.js';
export { createSource, DecodingSource, type CameraSource, type SourceDeps, type SourceStatus } from './source.js';
export {
  replayCapture,
  ReplayInputError,
  captureStartTime,
  type ReplayOptions,
  type ReplayStats,
  type SettableClock,
} from './replay.js';
export {
  CaptureWriter,
  readCapture,
  isCaptureFile,
  CaptureFormatError,
  CAPTURE_MAGIC,
  CAPTURE_VERSION,
  type CaptureHeader,
  type CaptureRecord,
} from './capture.js';
export {
  DialectCatalog,
  BUILTIN_DIALECT_DIR,
  SITE_DIALECT_DIR,
  defaultDialectDirs,
  loadDialectFile,
  parseDialectProfile,
} from './dialect/catalog.js';
export {
  DialectCodec,
  REJECTION_REASONS,
  type RejectionReason,
  type ReadFields,
  type EncodableRead,
} from './dialect/codec.js';
export { dialectProfileSchema, type DialectProfile } from './dialect/profile.js';
export { StreamDecoder, type DecoderStats, type StreamDecoderOptions } from './stream-decoder.js';
export { ClockSkewMonitor } from './clock-skew.js';
export { SimulatedCamera, parseSimulatedPlate, type SimulatedCameraOptions } from './simulated-camera.js';
export { PtyPair } from './pty-pair.js';
export { SerialLink, describeOpenError } from './links/serial-link.js';
export { TcpClientLink, TcpServerLink } from './links/tcp-link.js';
export { PeerFilter } from './links/peer-filter.js';
export type { LinkEvents, PeerRefusal } from './links/types.js';
export { resampleUart } from './line-speed.js';
export { sourceMetrics, type SourceMetrics } from './metrics.js';
export {
  probeSerial,
  COMMON_BAUD_RATES,
  type ProbeOptions,
  type ProbeResult,
  type ProbeAttempt,
  type DialectScore,
} from './probe.js';
