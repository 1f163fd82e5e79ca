import { parse } from 'csv-parse/sync';
import { createHash } from 'node:crypto';
import { DateTime } from 'luxon';
import { z } from 'zod';
import { canonicalText, isCountryCode } from '../plate/key.js';
import { LIST_TIME_ZONE, localDateStart } from '../policy/local-time.js';
import { GRANT_KINDS, type Grant, type GrantKind, type VehicleFacts } from '../policy/types.js';
import { parseWindows } from '../policy/windows.js';
import { decodeScope } from './store.js';

/** One row of a list file that cannot be used: the line (1 = header), the column and what was wrong. */
export interface CsvProblem {
  readonly line: number;
  readonly column?: string;
  readonly message: string;
}

export const GRANT_COLUMNS = [
  'plate',
  'country',
  'scope',
  'kind',
  'valid_from',
  'valid_until',
  'windows',
  'vehicle_categories',
  'source_ref',
  'id',
] as const;
const GRANT_REQUIRED = ['plate', 'scope', 'kind'] as const;

/** The RDW open-data column names (Gekentekende voertuigen + Brandstof), plus optional extras. */
export const RDW_COLUMNS = [
  'kenteken',
  'voertuigsoort',
  'europese_voertuigcategorie',
  'brandstof_omschrijving',
  'emissiecode_omschrijving',
  'datum_eerste_toelating',
  'toegestane_maximum_massa_voertuig',
] as const;
const RDW_OPTIONAL = ['land', 'inrichting', 'carrosseriecode', 'bijzonderheidscode'] as const;

export type ListCsvKind = 'grants' | 'vehicles';

/** Which list a header describes: grants (has `scope`) or RDW vehicle facts (has `kenteken`). */
export function csvKindOf(header: readonly string[]): ListCsvKind | undefined {
  const cols = header.map((h) => h.trim().toLowerCase());
  if (cols.includes('kenteken')) return 'vehicles';
  if (cols.includes('scope') || cols.includes('plate')) return 'grants';
  return undefined;
}

function checkHeader(header: readonly string[], known: readonly string[], required: readonly string[]): CsvProblem[] {
  const problems: CsvProblem[] = [];
  const seen = new Set<string>();
  for (const h of header) {
    if (!known.includes(h))
      problems.push({ line: 1, column: h, message: `unknown column "${h}" (columns: ${known.join(', ')})` });
    if (seen.has(h)) problems.push({ line: 1, column: h, message: `column "${h}" appears twice` });
    seen.add(h);
  }
  for (const r of required) if (!seen.has(r)) problems.push({ line: 1, message: `missing column "${r}"` });
  return problems;
}

// --- values --------------------------------------------------------------------------------------

const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?(\.\d+)?(Z|[+-]\d{2}:?\d{2})$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

/**
 * A validity bound: a local date (Europe/Amsterdam) or an exact instant with its offset. A date as
 * `valid_until` is the last day of validity (inclusive), so it ends at the following local midnight.
 */
function instant(which: 'from' | 'until') {
  return z
    .string()
    .optional()
    .transform((raw, ctx): number | undefined => {
      const s = raw ?? '';
      if (s === '') return undefined;
      if (DATE.test(s)) {
        const start = localDateStart(s);
        if (start === undefined) {
          ctx.addIssue({ code: 'custom', message: `"${s}" is not a calendar date` });
          return z.NEVER;
        }
        return which === 'from'
          ? start
          : DateTime.fromMillis(start, { zone: LIST_TIME_ZONE }).plus({ days: 1 }).toMillis();
      }
      if (INSTANT.test(s)) {
        const dt = DateTime.fromISO(s, { setZone: true });
        if (dt.isValid) return dt.toMillis();
      }
      ctx.addIssue({
        code: 'custom',
        message: `"${s}" is not a date YYYY-MM-DD or a time with offset like 2026-03-01T07:00+01:00`,
      });
      return z.NEVER;
    });
}

const plateText = z.string().transform((s, ctx) => {
  const t = canonicalText(s);
  if (t.length < 1 || t.length > 12) {
    ctx.addIssue({ code: 'custom', message: `"${s}" is not a plate (1–12 letters and digits)` });
    return z.NEVER;
  }
  return t;
});

const country = z.string().transform((s, ctx) => {
  const c = s.trim().toUpperCase() || 'NL';
  if (!isCountryCode(c)) {
    ctx.addIssue({ code: 'custom', message: `"${s}" is not an ISO 3166-1 alpha-2 country code` });
    return z.NEVER;
  }
  return c;
});

const grantRowSchema = z
  .object({
    plate: plateText,
    country: country.default('NL'),
    scope: z.string().transform((s, ctx) => {
      const scope = decodeScope(s.trim());
      const ok =
        scope !== undefined &&
        (scope.type !== 'municipality' || /^\d{4}$/.test(scope.code)) &&
        (scope.type !== 'zone' || /^[a-z0-9][a-z0-9-]{0,62}$/.test(scope.zone));
      if (!ok) {
        ctx.addIssue({
          code: 'custom',
          message: `"${s}" is not a scope: national, municipality:NNNN (CBS code) or zone:ZONE-ID`,
        });
        return z.NEVER;
      }
      return scope!;
    }),
    kind: z.string().transform((s, ctx) => {
      const k = s.trim().toLowerCase();
      if (!(GRANT_KINDS as readonly string[]).includes(k)) {
        ctx.addIssue({ code: 'custom', message: `"${s}" is not a kind (${GRANT_KINDS.join(', ')})` });
        return z.NEVER;
      }
      return k as GrantKind;
    }),
    valid_from: instant('from'),
    valid_until: instant('until'),
    windows: z
      .string()
      .default('')
      .transform((s, ctx) => {
        const w = parseWindows(s);
        if (typeof w === 'string') {
          ctx.addIssue({ code: 'custom', message: w });
          return z.NEVER;
        }
        return w;
      }),
    vehicle_categories: z
      .string()
      .default('')
      .transform((s, ctx) => {
        const cats = s
          .split(/[\s|,]+/)
          .filter(Boolean)
          .map((c) => c.toUpperCase());
        const bad = cats.find((c) => !/^[LMNOT]\d?[A-Z0-9]{0,3}$/.test(c));
        if (bad) {
          ctx.addIssue({ code: 'custom', message: `"${bad}" is not a European vehicle category (M1, N1, N2, …)` });
          return z.NEVER;
        }
        return cats;
      }),
    source_ref: z.string().default(''),
    id: z
      .string()
      .default('')
      .refine((s) => s === '' || /^[\w.:/-]{1,64}$/.test(s), 'an id of at most 64 letters, digits and . _ : / -'),
  })
  .superRefine((r, ctx) => {
    if (r.valid_from !== undefined && r.valid_until !== undefined && r.valid_until <= r.valid_from)
      ctx.addIssue({ code: 'custom', path: ['valid_until'], message: 'valid_until is not after valid_from' });
  });

/**
 * Stable id for a row without one: the same row imported again is the same grant. Grants are keyed
 * by (plate, country, id), so the id need only tell a plate's grants apart — and it must not be
 * derived from the plate: it travels with every allowed passage, whose plate leaves the gateway
 * only as a keyed hash, and an unkeyed hash of the plate would be reversed by trying all plates.
 */
function grantId(fields: readonly string[]): string {
  return `g-${createHash('sha256').update(fields.join('\u001f')).digest('hex').slice(0, 16)}`;
}

/** Validates one grants row (column name → text); returns the grant or what was wrong. */
export function grantFromRow(row: Record<string, string>, line: number): Grant | CsvProblem[] {
  const r = grantRowSchema.safeParse(row);
  if (!r.success)
    return r.error.issues.map((i) => ({
      line,
      ...(i.path[0] !== undefined ? { column: String(i.path[0]) } : {}),
      message: i.message,
    }));
  const v = r.data;
  const id =
    v.id ||
    grantId([
      row['scope'] ?? '',
      v.kind,
      row['valid_from'] ?? '',
      row['valid_until'] ?? '',
      row['windows'] ?? '',
      row['vehicle_categories'] ?? '',
    ]);
  return {
    id,
    plate: v.plate,
    country: v.country,
    scope: v.scope,
    kind: v.kind,
    validFrom: v.valid_from ?? 0,
    ...(v.valid_until !== undefined ? { validUntil: v.valid_until } : {}),
    windows: v.windows,
    ...(v.vehicle_categories.length > 0 ? { vehicleCategories: v.vehicle_categories } : {}),
    ...(v.source_ref ? { sourceRef: v.source_ref } : {}),
    listVersion: 0,
  };
}

// --- RDW vehicle facts ---------------------------------------------------------------------------

const ROMAN: Record<string, number> = { I: 1, II: 2, III: 3, IV: 4, V: 5, VI: 6 };

/** "6", "Euro 6", "EURO VI", "VI" → 6; "Z" or "" → undefined (zero-emission shows in the fuel). */
export function parseEmissionClass(s: string): number | undefined | 'invalid' {
  const t = s
    .trim()
    .toUpperCase()
    .replace(/^EURO\s*/, '');
  if (t === '' || t === 'Z' || t === '0' || t === 'NVT' || t === 'N.V.T.') return t === '0' ? 0 : undefined;
  if (/^\d$/.test(t)) return Number(t);
  const roman = /^([IV]+)/.exec(t)?.[1];
  if (roman && ROMAN[roman] !== undefined) return ROMAN[roman];
  const digit = /^(\d)[A-Z]*$/.exec(t)?.[1];
  return digit !== undefined ? Number(digit) : 'invalid';
}

/** RDW dates: 20170315, 2017-03-15 or 15-03-2017 → local midnight. */
export function parseRdwDate(s: string): number | undefined | 'invalid' {
  const t = s.trim();
  if (t === '') return undefined;
  let iso: string | undefined;
  if (/^\d{8}$/.test(t)) iso = `${t.slice(0, 4)}-${t.slice(4, 6)}-${t.slice(6, 8)}`;
  else if (DATE.test(t)) iso = t;
  else if (/^\d{2}-\d{2}-\d{4}$/.test(t)) iso = `${t.slice(6)}-${t.slice(3, 5)}-${t.slice(0, 2)}`;
  return iso === undefined ? 'invalid' : (localDateStart(iso) ?? 'invalid');
}

/** Category from europese_voertuigcategorie, or from voertuigsoort and mass when that is empty. */
function categoryOf(europees: string, soort: string, mass: number | undefined): string | undefined {
  const e = europees.trim().toUpperCase();
  if (e) return e;
  const s = soort.trim().toLowerCase();
  if (s === 'personenauto') return 'M1';
  if (s === 'bedrijfsauto' && mass !== undefined) return mass <= 3500 ? 'N1' : mass <= 12_000 ? 'N2' : 'N3';
  return undefined;
}

/** Validates one RDW row; repeated kenteken rows (one per fuel, as RDW exports them) are merged later. */
export function vehicleFromRow(row: Record<string, string>, line: number): VehicleFacts | CsvProblem[] {
  const problems: CsvProblem[] = [];
  const bad = (column: string, message: string): void => void problems.push({ line, column, message });
  const plate = canonicalText(row['kenteken'] ?? '');
  if (plate.length < 1 || plate.length > 12) bad('kenteken', `"${row['kenteken'] ?? ''}" is not a plate`);
  const cc = (row['land'] ?? '').trim().toUpperCase() || 'NL';
  if (!isCountryCode(cc)) bad('land', `"${row['land']}" is not an ISO 3166-1 alpha-2 country code`);
  const massText = (row['toegestane_maximum_massa_voertuig'] ?? '').trim();
  const mass = massText === '' ? undefined : Number(massText);
  if (mass !== undefined && !(Number.isInteger(mass) && mass > 0 && mass < 100_000))
    bad('toegestane_maximum_massa_voertuig', `"${massText}" is not a mass in kg`);
  const emission = parseEmissionClass(row['emissiecode_omschrijving'] ?? '');
  if (emission === 'invalid')
    bad(
      'emissiecode_omschrijving',
      `"${row['emissiecode_omschrijving']}" is not an emission class (e.g. 6, Euro 6, VI, Z)`,
    );
  const det = parseRdwDate(row['datum_eerste_toelating'] ?? '');
  if (det === 'invalid')
    bad(
      'datum_eerste_toelating',
      `"${row['datum_eerste_toelating']}" is not a date (20170315, 2017-03-15 or 15-03-2017)`,
    );
  const category = categoryOf(row['europese_voertuigcategorie'] ?? '', row['voertuigsoort'] ?? '', mass);
  if (category !== undefined && !/^[LMNOT]\d?[A-Z0-9]{0,3}$/.test(category))
    bad('europese_voertuigcategorie', `"${category}" is not a European vehicle category (M1, N1, N2, …)`);
  if (problems.length > 0) return problems;
  const fuel = (row['brandstof_omschrijving'] ?? '').trim().toLowerCase();
  const codes = [
    ...(row['carrosseriecode'] ?? '')
      .split(/[\s,;|]+/)
      .filter(Boolean)
      .map((c) => c.toUpperCase()),
    ...(row['bijzonderheidscode'] ?? '')
      .split(/[\s,;|]+/)
      .filter(Boolean)
      .map((c) => `B${c.replace(/^B/i, '')}`),
  ];
  const bodyType = (row['inrichting'] ?? '').trim().toLowerCase();
  return {
    plate,
    country: cc,
    ...(category !== undefined ? { category } : {}),
    fuels: fuel ? [fuel] : [],
    ...(typeof emission === 'number' ? { emissionClass: emission } : {}),
    ...(typeof det === 'number' ? { firstAdmission: det } : {}),
    ...(mass !== undefined ? { maxMass: mass } : {}),
    bodyCodes: codes,
    ...(bodyType ? { bodyType } : {}),
    listVersion: 0,
  };
}

/**
 * RDW publishes one row per fuel: a hybrid has a Diesel row and an Elektriciteit row. Merged: fuels
 * together, the emission class of the combustion fuel, other fields from the first row that has them.
 */
export function mergeVehicle(a: VehicleFacts, b: VehicleFacts): VehicleFacts {
  const fuels = [...new Set([...a.fuels, ...b.fuels])];
  return {
    ...b,
    ...a,
    fuels,
    ...(a.emissionClass !== undefined || b.emissionClass !== undefined
      ? { emissionClass: Math.max(a.emissionClass ?? -1, b.emissionClass ?? -1) }
      : {}),
    bodyCodes: [...new Set([...a.bodyCodes, ...b.bodyCodes])],
  };
}

// --- whole files ---------------------------------------------------------------------------------

export type ParsedList =
  | { readonly kind: 'grants'; readonly grants: Grant[]; readonly problems: CsvProblem[]; readonly rows: number }
  | {
      readonly kind: 'vehicles';
      readonly vehicles: VehicleFacts[];
      readonly problems: CsvProblem[];
      readonly rows: number;
    };

interface RawRecord {
  readonly record: string[];
  readonly info: { readonly lines: number };
}

/**
 * Parses a list file (grants or RDW vehicle facts, told apart by the header). Every row is checked;
 * the caller applies the rows only when `problems` is empty. Lines starting with # are comments.
 */
export function parseListCsv(text: string): ParsedList | { kind: undefined; problems: CsvProblem[]; rows: 0 } {
  let records: RawRecord[];
  try {
    records = parse(text, {
      info: true,
      comment: '#',
      comment_no_infix: true,
      skip_empty_lines: true,
      relax_column_count: true,
      trim: true,
      bom: true,
    }) as unknown as RawRecord[];
  } catch (err) {
    const e = err as { lines?: number; message?: string };
    return {
      kind: undefined,
      problems: [{ line: e.lines ?? 0, message: `not readable as CSV: ${e.message ?? String(err)}` }],
      rows: 0,
    };
  }
  const [head, ...body] = records;
  if (!head)
    return { kind: undefined, problems: [{ line: 1, message: 'empty file: expected a header line' }], rows: 0 };
  const header = head.record.map((h) => h.trim().toLowerCase());
  const headLine = head.info.lines;
  const kind = csvKindOf(header);
  if (!kind)
    return {
      kind: undefined,
      problems: [
        {
          line: headLine,
          message: `header names neither a grants list (plate, scope, kind, …) nor RDW vehicle data (kenteken, …)`,
        },
      ],
      rows: 0,
    };
  const problems =
    kind === 'grants'
      ? checkHeader(header, GRANT_COLUMNS, GRANT_REQUIRED)
      : checkHeader(header, [...RDW_COLUMNS, ...RDW_OPTIONAL], RDW_COLUMNS);
  for (const p of problems) (p as { line: number }).line = headLine;
  if (problems.length > 0)
    return kind === 'grants'
      ? { kind, grants: [], problems, rows: body.length }
      : { kind, vehicles: [], problems, rows: body.length };
  const toRow = (r: RawRecord): Record<string, string> | CsvProblem => {
    if (r.record.length !== header.length)
      return { line: r.info.lines, message: `${r.record.length} fields, the header has ${header.length}` };
    const row: Record<string, string> = {};
    header.forEach((h, i) => (row[h] = r.record[i]!));
    return row;
  };
  if (kind === 'grants') {
    const grants: Grant[] = [];
    const seen = new Map<string, number>();
    for (const r of body) {
      const row = toRow(r);
      if ('line' in row && typeof row.line === 'number') {
        problems.push(row as CsvProblem);
        continue;
      }
      const g = grantFromRow(row as Record<string, string>, r.info.lines);
      if (Array.isArray(g)) {
        problems.push(...g);
        continue;
      }
      const key = `${g.country}:${g.plate}:${g.id}`;
      const dup = seen.get(key);
      if (dup !== undefined) {
        problems.push({ line: r.info.lines, message: `same grant as line ${dup} (plate, country and id)` });
        continue;
      }
      seen.set(key, r.info.lines);
      grants.push(g);
    }
    return { kind, grants, problems, rows: body.length };
  }
  const byPlate = new Map<string, VehicleFacts>();
  for (const r of body) {
    const row = toRow(r);
    if ('line' in row && typeof row.line === 'number') {
      problems.push(row as CsvProblem);
      continue;
    }
    const v = vehicleFromRow(row as Record<string, string>, r.info.lines);
    if (Array.isArray(v)) {
      problems.push(...v);
      continue;
    }
    const key = `${v.country}:${v.plate}`;
    const prev = byPlate.get(key);
    byPlate.set(key, prev ? mergeVehicle(prev, v) : v);
  }
  return { kind, vehicles: [...byPlate.values()], problems, rows: body.length };
}

/** One line per problem, as the CLI prints them: `FILE:LINE: column X: message`. */
export function formatProblem(file: string, p: CsvProblem): string {
  return `${file}:${p.line}: ${p.column ? `column ${p.column}: ` : ''}${p.message}`;
}
