/**
 * The reference back office: what a region runs to receive gateways' event batches (ingest) and
 * hand passages to a municipal ANPR back office (export in the iotsignals format).
 */
export { createIngest, type Ingest, type IngestDeps } from './ingest.js';
export { exportPassages, type ExportDeps, type ExportResult } from './export.js';
export { insertEvents, migrate, upsertGatewayStatus } from './db.js';
export {
  cameraId,
  iotsignalsPassageSchema,
  toIotsignalsPassage,
  type IotsignalsPassage,
  type StoredEvent,
} from './iotsignals.js';
