export {
  openListCache,
  applyChange,
  VersionMismatchError,
  type ListCache,
  type ListCacheDeps,
  type ListCacheInfo,
  type ListCacheOptions,
  type InPlaceChange,
  type GrantKey,
  type PlateRef,
} from './list-cache.js';
export { importListCsv, type ImportOptions, type ImportResult } from './import.js';
export {
  parseListCsv,
  grantFromRow,
  vehicleFromRow,
  mergeVehicle,
  formatProblem,
  csvKindOf,
  GRANT_COLUMNS,
  RDW_COLUMNS,
  type CsvProblem,
  type ParsedList,
} from './csv.js';
export { openDataFile, finishBulk, readMeta, writeMeta, SQL, type DataMeta } from './store.js';
export { memoryLookups } from './memory.js';
export { DataFileBuilder, buildDataFile, type BuildEntry } from './build.js';
