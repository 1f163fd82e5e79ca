/**
 * The list cache's vocabulary, shared by cache (storage), sync (updates) and policy (decide).
 */

/** national: valid in every zone; municipality: one CBS municipality code; zone: one zone id. */
export type GrantScope =
  | { readonly type: 'national' }
  | { readonly type: 'municipality'; readonly code: string }
  | { readonly type: 'zone'; readonly zone: string };

export const GRANT_KINDS = [
  'ontheffing', // exemption granted on application
  'permit', // vergunning (e.g. loading, market trader)
  'resident',
  'supplier', // bevoorrading
  'care', // zorgverlener
  'emergency', // hulpdiensten: always admitted
  'public-transport',
  'vrijstelling', // automatic exemption tied to vehicle data
] as const;
export type GrantKind = (typeof GRANT_KINDS)[number];

/**
 * A recurring window: weekdays (1 = Monday … 7 = Sunday) and local HH:MM from/until, Europe/Amsterdam.
 * A window whose `untilMinute` is not after `fromMinute` runs past midnight: it belongs to the day it
 * starts on (fri 22:00–02:00 covers Friday night until 02:00 on Saturday).
 */
export interface TimeWindow {
  readonly days: readonly number[];
  /** Minutes after local midnight, Europe/Amsterdam, inclusive. */
  readonly fromMinute: number;
  /** Minutes after local midnight, exclusive; 1440 = midnight at the end of the day. */
  readonly untilMinute: number;
}

export interface Grant {
  readonly id: string;
  readonly plate: string;
  readonly country: string;
  readonly scope: GrantScope;
  readonly kind: GrantKind;
  /** ms epoch, inclusive. */
  readonly validFrom: number;
  /** ms epoch, exclusive; undefined = open-ended. */
  readonly validUntil?: number;
  /** Empty = any time within validity. */
  readonly windows: readonly TimeWindow[];
  /** Only vehicles of these European categories (e.g. N1, N2), when set. */
  readonly vehicleCategories?: readonly string[];
  readonly sourceRef?: string;
  readonly listVersion: number;
}

/** RDW-derived facts for zero-emission rules. */
export interface VehicleFacts {
  readonly plate: string;
  readonly country: string;
  /** European vehicle category: M1, N1, N2, N3, … */
  readonly category?: string;
  /** RDW fuel descriptions, lower case: diesel, benzine, elektriciteit, waterstof, lpg, … */
  readonly fuels: readonly string[];
  /** Euro emission class as a number (6 for Euro 6 / VI), when known. */
  readonly emissionClass?: number;
  /** ms epoch of the first admission (datum eerste toelating), local midnight. */
  readonly firstAdmission?: number;
  /** kg */
  readonly maxMass?: number;
  /** RDW body and special-purpose codes (carrosseriecode, e.g. "SH", "15"; bijzonderheidscode as "B70"). */
  readonly bodyCodes: readonly string[];
  /** RDW inrichting, lower case (e.g. "opleggertrekker"), when known. */
  readonly bodyType?: string;
  readonly listVersion: number;
}

/** What decide() may ask of the cache: synchronous, prepared-statement lookups. */
/** Everything the cache holds about one plate. */
export interface PlateEntry {
  /** Every grant for the plate, in any scope; an empty array for an unknown plate. */
  readonly grants: readonly Grant[];
  readonly vehicle: VehicleFacts | undefined;
}

export interface Lookups {
  /** The plate's grants and vehicle facts, read together (one B-tree descent in the SQLite cache). */
  entry(plate: string, country: string): PlateEntry;
  /**
   * Which of these plates the cache knows: any grant, or (with `vehicles`) vehicle facts. One query for
   * all OCR corrections of a read instead of one per correction.
   */
  listed(plates: readonly string[], country: string, vehicles: boolean): readonly string[];
  readonly listVersion: number;
  /** ms epoch when the current list version was published by the region (or imported). */
  readonly listPublishedAt: number | undefined;
}

export type Outcome = 'open' | 'deny' | 'record' | 'manual';

/** Stable reason codes: counted in metrics, journaled, shown on the status page. */
export const REASONS = [
  'grant', // an explicit grant admits the vehicle now
  'emergency', // emergency kind: always admitted
  'zone-window', // zone-wide venstertijden: any vehicle may enter now
  'vehicle-exempt', // ZE rules: vehicle is zero-emission / in transition / vrijstelling
  'not-in-scope', // ZE zone: vehicle category is not subject to the rules (e.g. passenger car)
  'ze-not-admitted', // ZE zone: vehicle data known and the rules do not admit it
  'no-vehicle-data', // ZE zone: no vehicle data (foreign or unknown plate) and no grant
  'no-grant', // unknown plate, nothing admits it
  'outside-window', // a grant exists but not for this time
  'expired', // a grant exists but its validity has passed (or not begun)
  'wrong-zone', // a grant exists for another zone or municipality
  'wrong-vehicle-class', // a grant exists but not for this vehicle category
  'low-confidence', // read confidence below the site's threshold
  'ambiguous', // OCR correction gives more than one candidate in the cache
  'stale-list', // list older than the site allows; policy limits what may pass
] as const;
export type Reason = (typeof REASONS)[number];

export interface Decision {
  readonly outcome: Outcome;
  readonly reason: Reason;
  /** The grant that decided, when one did (for a refusal: the grant that came closest). */
  readonly grantId?: string;
  /** The rule that decided, e.g. 'ze-nl-2025:van-euro6'. */
  readonly rule?: string;
  /** The plate text the decision is about (may be a corrected candidate of the read). */
  readonly plate: string;
  readonly country: string;
  /** True when the plate is an OCR correction of the read, not the read itself. */
  readonly corrected: boolean;
  readonly listVersion: number;
  /** Version of the ZE rule set, on zones that apply one. */
  readonly ruleVersion?: string;
  /** Set when the list was older than the site allows at the time of the decision. */
  readonly staleList?: boolean;
}

export type StaleListAction = 'keep-deciding' | 'emergency-only' | 'manual';

/** Everything decide() needs to know about one lane of one zone; built once by zonePolicyFor(). */
export interface ZonePolicy {
  readonly zone: string;
  /** CBS municipality code, four digits. */
  readonly municipality: string;
  readonly lane: string;
  /** No bollard: a vehicle that is not admitted is recorded, never denied. */
  readonly cameraOnly: boolean;
  /** Reads below this (0–1000) go to manual handling. */
  readonly minConfidence: number;
  /** Zone-wide venstertijden in which any vehicle may enter. */
  readonly windows: readonly TimeWindow[];
  readonly staleList: { readonly maxAgeMs: number; readonly action: StaleListAction };
  /** Zero-emission rules, on ZE-zone entrances. */
  readonly zeroEmission?: ZeRuleSet;
}

/** ZE-zone rules as data (firmware-config/ze-rules/*.yaml), validated and with dates as ms epoch. */
export interface ZeRuleSet {
  readonly id: string;
  readonly version: string;
  /** The zone's rules apply from this instant; before it every vehicle is admitted. */
  readonly inForceFrom: number;
  /** Vehicle classes the rules apply to; categories outside every class are not in scope. */
  readonly classes: readonly ZeVehicleClass[];
  /** Fuels that count as zero-emission when they are the only fuels (lower case). */
  readonly zeroEmissionFuels: readonly string[];
  /** Automatic exemptions by vehicle data, checked in order. */
  readonly exemptions: readonly ZeExemption[];
  /** Transition rules, checked in order: the first that matches admits until its `until`. */
  readonly transitions: readonly ZeTransition[];
}

export interface ZeVehicleClass {
  readonly id: string;
  readonly categories: readonly string[];
  /** Inclusive mass bounds in kg, when the class depends on it (vans ≤ 3500 kg). */
  readonly minMassKg?: number;
  readonly maxMassKg?: number;
}

export interface ZeExemption {
  readonly id: string;
  readonly classes: readonly string[];
  /** Vehicle at least this many years old at the decision (oldtimer). */
  readonly minAgeYears?: number;
  /** Vehicle younger than this many years at the decision. */
  readonly maxAgeYears?: number;
  /** Any of these RDW body / special-purpose codes. */
  readonly bodyCodes?: readonly string[];
}

export interface ZeTransition {
  readonly id: string;
  readonly classes: readonly string[];
  /** Emission classes (Euro number) this rule admits. */
  readonly emissionClasses: readonly number[];
  /** First admission on or after this instant, when set. */
  readonly firstAdmissionFrom?: number;
  /** First admission before this instant, when set. */
  readonly firstAdmissionBefore?: number;
  /** RDW inrichting the rule is limited to (e.g. opleggertrekker), when set. */
  readonly bodyTypes?: readonly string[];
  /** RDW inrichting the rule excludes, when set. */
  readonly notBodyTypes?: readonly string[];
  /** Admitted until this instant (exclusive). */
  readonly until: number;
}
