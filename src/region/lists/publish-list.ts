import type { KeyObject } from 'node:crypto';
import { formatProblem, parseListCsv } from '../../cache/csv.js';
import type { Grant, VehicleFacts } from '../../policy/types.js';
import {
  buildDelta,
  buildSnapshot,
  diffLists,
  entryRows,
  orderedRows,
  DEFAULT_CHUNK_ROWS,
  type ListContent,
} from './publish.js';
import { syntheticList } from './synthetic.js';

export interface ListSource {
  /** name → text of a grants CSV (docs/lists.md) */
  readonly grants?: { readonly file: string; readonly text: string };
  /** name → text of an RDW-style vehicle CSV */
  readonly vehicles?: { readonly file: string; readonly text: string };
}

export interface PublishListRequest {
  readonly zone: string;
  readonly version: number;
  readonly publishedAt: number;
  readonly signingKey: KeyObject;
  readonly list: ListSource | { readonly synthetic: { readonly plates: number; readonly seed: number } };
  /** Build a delta from this earlier list instead of a snapshot. */
  readonly deltaFrom?: { readonly version: number; readonly list: ListSource };
  readonly chunkRows?: number;
}

export type PublishListResult =
  | {
      readonly kind: 'snapshot' | 'delta';
      readonly messages: Buffer[];
      readonly grants: number;
      readonly vehicles: number;
      readonly changes?: number;
    }
  | { readonly problems: string[] };

function readList(source: ListSource, problems: string[]): ListContent {
  const grants: Grant[] = [];
  const vehicles: VehicleFacts[] = [];
  for (const [want, input] of [
    ['grants', source.grants],
    ['vehicles', source.vehicles],
  ] as const) {
    if (!input) continue;
    const parsed = parseListCsv(input.text);
    if (parsed.kind !== want && parsed.problems.length === 0) {
      problems.push(`${input.file}: this is a ${parsed.kind ?? 'unknown'} list, expected ${want}`);
      continue;
    }
    for (const p of parsed.problems) problems.push(formatProblem(input.file, p));
    if (parsed.kind === 'grants') grants.push(...parsed.grants);
    if (parsed.kind === 'vehicles') vehicles.push(...parsed.vehicles);
  }
  return { grants, vehicles };
}

/** The signed MQTT messages for `zonegate region publish-list`: a snapshot, or a delta from an earlier list. */
export function buildListMessages(req: PublishListRequest): PublishListResult {
  const problems: string[] = [];
  const meta = { zone: req.zone, version: req.version, publishedAt: req.publishedAt };
  const chunkRows = req.chunkRows ?? DEFAULT_CHUNK_ROWS;
  if ('synthetic' in req.list) {
    if (req.deltaFrom) return { problems: ['a synthetic list is published as a snapshot only'] };
    const snap = buildSnapshot(
      entryRows(syntheticList({ plates: req.list.synthetic.plates, seed: req.list.synthetic.seed, zone: req.zone })),
      meta,
      req.signingKey,
      chunkRows,
    );
    return {
      kind: 'snapshot',
      messages: snap.messages,
      grants: snap.manifest.grants,
      vehicles: snap.manifest.vehicles,
    };
  }
  const list = readList(req.list, problems);
  const from = req.deltaFrom ? readList(req.deltaFrom.list, problems) : undefined;
  if (problems.length > 0) return { problems };
  if (req.deltaFrom && from) {
    if (req.deltaFrom.version >= req.version)
      return { problems: [`--from-version ${req.deltaFrom.version} must be lower than --list-version ${req.version}`] };
    const content = diffLists(from, list);
    const changes =
      content.upsertGrants.length +
      content.deleteGrants.length +
      content.upsertVehicles.length +
      content.deleteVehicles.length;
    return {
      kind: 'delta',
      messages: [buildDelta(content, { ...meta, fromVersion: req.deltaFrom.version }, req.signingKey)],
      grants: list.grants.length,
      vehicles: list.vehicles.length,
      changes,
    };
  }
  const snap = buildSnapshot(orderedRows(list), meta, req.signingKey, chunkRows);
  return { kind: 'snapshot', messages: snap.messages, grants: snap.manifest.grants, vehicles: snap.manifest.vehicles };
}
