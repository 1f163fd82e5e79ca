import type { Grant, Lookups, VehicleFacts } from '../policy/types.js';

const EMPTY: readonly Grant[] = Object.freeze([]);

/**
 * Lookups over plain in-memory Maps: the baseline the SQLite cache is measured against, and the
 * list a replay or a test builds from a handful of rows. Not for a gateway: it holds every row in
 * the heap and forgets them on restart.
 */
export function memoryLookups(input: {
  readonly grants?: Iterable<Grant>;
  readonly vehicles?: Iterable<VehicleFacts>;
  readonly version?: number;
  readonly publishedAt?: number;
}): Lookups & { readonly grantMap: Map<string, Grant[]>; readonly vehicleMap: Map<string, VehicleFacts> } {
  const grantMap = new Map<string, Grant[]>();
  for (const g of input.grants ?? []) {
    const k = `${g.country}:${g.plate}`;
    const list = grantMap.get(k);
    if (list) list.push(g);
    else grantMap.set(k, [g]);
  }
  const vehicleMap = new Map<string, VehicleFacts>();
  for (const v of input.vehicles ?? []) vehicleMap.set(`${v.country}:${v.plate}`, v);
  return {
    grantMap,
    vehicleMap,
    entry: (plate, country) => {
      const k = `${country}:${plate}`;
      return { grants: grantMap.get(k) ?? EMPTY, vehicle: vehicleMap.get(k) };
    },
    listed: (plates, country, vehicles) =>
      plates.filter((p) => grantMap.has(`${country}:${p}`) || (vehicles && vehicleMap.has(`${country}:${p}`))),
    listVersion: input.version ?? 1,
    listPublishedAt: input.publishedAt,
  };
}
