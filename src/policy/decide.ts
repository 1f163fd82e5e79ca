import type { Passage } from '../passage/passage.js';
import { correctionCandidates } from '../plate/confusions.js';
import { localMoment, yearsBefore, type LocalMoment } from './local-time.js';
import type { Decision, Grant, Lookups, Reason, VehicleFacts, ZeRuleSet, ZeTransition, ZonePolicy } from './types.js';
import { windowOpen } from './windows.js';

/**
 * What the list says about one plate at one moment, before the lane turns it into an outcome.
 * `uncertain`: the data cannot settle it (an unknown Dutch plate in a ZE zone, a missing body type
 * that a rule depends on); such a vehicle goes to manual handling, never to a violation.
 */
interface Verdict {
  readonly admit: boolean;
  readonly reason: Reason;
  readonly grantId?: string;
  readonly rule?: string;
  readonly emergency: boolean;
  /** The cache knows the plate (a grant in any scope, or vehicle data on a ZE zone). */
  readonly known: boolean;
  readonly uncertain: boolean;
}

/** Refusal reasons of a grant, nearest to admitting last: the nearest is the one reported. */
const GRANT_MISS_RANK: Partial<Record<Reason, number>> = {
  'wrong-zone': 1,
  expired: 2,
  'wrong-vehicle-class': 3,
  'outside-window': 4,
};

function scopeMatches(g: Grant, policy: ZonePolicy): boolean {
  switch (g.scope.type) {
    case 'national':
      return true;
    case 'municipality':
      return g.scope.code === policy.municipality;
    case 'zone':
      return g.scope.zone === policy.zone;
  }
}

function evaluate(
  plate: string,
  country: string,
  now: number,
  at: LocalMoment,
  lookups: Lookups,
  policy: ZonePolicy,
): Verdict {
  const { grants, vehicle } = lookups.entry(plate, country);
  let admitting: Grant | undefined;
  let miss: Grant | undefined;
  let missReason: Reason = 'no-grant';
  for (const g of grants) {
    let reason: Reason | undefined;
    if (!scopeMatches(g, policy)) reason = 'wrong-zone';
    else if (now < g.validFrom || (g.validUntil !== undefined && now >= g.validUntil)) reason = 'expired';
    else if (g.vehicleCategories && g.vehicleCategories.length > 0) {
      const category = vehicle?.category;
      if (category === undefined || !g.vehicleCategories.includes(category)) reason = 'wrong-vehicle-class';
    }
    // Emergency vehicles are admitted at any hour their grant is valid: windows do not bind them.
    if (reason === undefined && g.kind !== 'emergency' && g.windows.length > 0 && !windowOpen(g.windows, at))
      reason = 'outside-window';
    if (reason === undefined) {
      if (g.kind === 'emergency')
        return { admit: true, reason: 'emergency', grantId: g.id, emergency: true, known: true, uncertain: false };
      admitting ??= g;
    } else if ((GRANT_MISS_RANK[reason] ?? 0) > (GRANT_MISS_RANK[missReason] ?? 0)) {
      miss = g;
      missReason = reason;
    }
  }
  if (admitting)
    return { admit: true, reason: 'grant', grantId: admitting.id, emergency: false, known: true, uncertain: false };
  const rules = policy.zeroEmission;
  if (!rules) {
    return {
      admit: false,
      reason: missReason,
      ...(miss ? { grantId: miss.id } : {}),
      emergency: false,
      known: grants.length > 0,
      uncertain: false,
    };
  }
  const ze = evaluateZe(vehicle, country, now, rules);
  const known = grants.length > 0 || vehicle !== undefined;
  if (ze.admit || !miss || missReason === 'wrong-zone') return { ...ze, emergency: false, known };
  // An ontheffing that came close (expired, outside its window) explains the refusal better than the rules.
  return { ...ze, reason: missReason, grantId: miss.id, emergency: false, known };
}

type ZeVerdict = Pick<Verdict, 'admit' | 'reason' | 'rule' | 'uncertain'>;

/** The ZE-zone rules applied to a vehicle's RDW data (see firmware-config/ze-rules/). */
export function evaluateZe(v: VehicleFacts | undefined, country: string, now: number, rules: ZeRuleSet): ZeVerdict {
  const rule = (id: string): string => `${rules.id}:${id}`;
  if (now < rules.inForceFrom)
    return { admit: true, reason: 'not-in-scope', rule: rule('not-in-force'), uncertain: false };
  if (!v) {
    // Only an explicit grant admits a foreign vehicle: there is no vehicle data to apply the rules to.
    // A Dutch plate missing from the RDW data is more likely a misread than a violation.
    return {
      admit: false,
      reason: 'no-vehicle-data',
      rule: rule(country === 'NL' ? 'unknown-vehicle' : 'foreign-vehicle'),
      uncertain: country === 'NL',
    };
  }
  const cls = rules.classes.find(
    (c) =>
      v.category !== undefined &&
      c.categories.includes(v.category) &&
      (c.minMassKg === undefined || (v.maxMass !== undefined && v.maxMass >= c.minMassKg)) &&
      (c.maxMassKg === undefined || (v.maxMass !== undefined && v.maxMass <= c.maxMassKg)),
  );
  if (!cls) return { admit: true, reason: 'not-in-scope', rule: rule('not-in-scope'), uncertain: false };
  if (v.fuels.length > 0 && v.fuels.every((f) => rules.zeroEmissionFuels.includes(f)))
    return { admit: true, reason: 'vehicle-exempt', rule: rule('zero-emission'), uncertain: false };
  for (const e of rules.exemptions) {
    if (!e.classes.includes(cls.id)) continue;
    if (e.minAgeYears !== undefined || e.maxAgeYears !== undefined) {
      if (v.firstAdmission === undefined) continue;
      // At least N years old: first admitted on or before the same date N years ago.
      if (e.minAgeYears !== undefined && v.firstAdmission > yearsBefore(now, e.minAgeYears)) continue;
      if (e.maxAgeYears !== undefined && v.firstAdmission <= yearsBefore(now, e.maxAgeYears)) continue;
    }
    if (e.bodyCodes && !e.bodyCodes.some((c) => v.bodyCodes.includes(c))) continue;
    return { admit: true, reason: 'vehicle-exempt', rule: rule(e.id), uncertain: false };
  }
  // A body-type condition (tractor or rigid truck) on a vehicle whose body type the data lacks: the
  // rules are applied for every body type they name and must agree, or a person decides.
  const hypotheses =
    v.bodyType === undefined ? bodyTypesNamed(rules.transitions) : ([v.bodyType] as (string | undefined)[]);
  let first: TransitionResult | undefined;
  for (const bodyType of hypotheses) {
    const r = applyTransitions(rules.transitions, v, cls.id, bodyType, now);
    if (first === undefined) first = r;
    else if (r.admit !== first.admit)
      return { admit: false, reason: 'no-vehicle-data', rule: rule('unknown-body-type'), uncertain: true };
    if (r.uncertain)
      return {
        admit: false,
        reason: 'no-vehicle-data',
        rule: rule(r.rule ?? 'unknown-first-admission'),
        uncertain: true,
      };
  }
  if (first?.admit) return { admit: true, reason: 'vehicle-exempt', rule: rule(first.rule!), uncertain: false };
  return {
    admit: false,
    reason: 'ze-not-admitted',
    rule: rule(first?.rule !== undefined ? `${first.rule}-ended` : `${cls.id}-not-admitted`),
    uncertain: false,
  };
}

interface TransitionResult {
  readonly admit: boolean;
  readonly uncertain: boolean;
  /** Admitting rule, or the first matching rule that has ended. */
  readonly rule?: string;
}

/** Every body type a transition names, plus `undefined` for "any other body type". */
function bodyTypesNamed(transitions: readonly ZeTransition[]): (string | undefined)[] {
  const named = new Set<string>();
  for (const t of transitions) for (const b of [...(t.bodyTypes ?? []), ...(t.notBodyTypes ?? [])]) named.add(b);
  return [...named, undefined];
}

function applyTransitions(
  transitions: readonly ZeTransition[],
  v: VehicleFacts,
  cls: string,
  bodyType: string | undefined,
  now: number,
): TransitionResult {
  let lapsed: string | undefined;
  for (const t of transitions) {
    if (!t.classes.includes(cls)) continue;
    if (v.emissionClass === undefined || !t.emissionClasses.includes(v.emissionClass)) continue;
    if (t.bodyTypes && (bodyType === undefined || !t.bodyTypes.includes(bodyType))) continue;
    if (t.notBodyTypes && bodyType !== undefined && t.notBodyTypes.includes(bodyType)) continue;
    if (t.firstAdmissionFrom !== undefined || t.firstAdmissionBefore !== undefined) {
      if (v.firstAdmission === undefined) {
        if (now < t.until) return { admit: false, uncertain: true, rule: t.id };
        continue;
      }
      if (t.firstAdmissionFrom !== undefined && v.firstAdmission < t.firstAdmissionFrom) continue;
      if (t.firstAdmissionBefore !== undefined && v.firstAdmission >= t.firstAdmissionBefore) continue;
    }
    if (now < t.until) return { admit: true, uncertain: false, rule: t.id };
    lapsed ??= t.id;
  }
  return { admit: false, uncertain: false, ...(lapsed !== undefined ? { rule: lapsed } : {}) };
}

/**
 * The decision for one passage at one lane: pure and synchronous, it reads only the lookups it is
 * given. Order: zone-wide venstertijden (any vehicle), read confidence, the read's own plate, then
 * OCR corrections (src/plate's correctionCandidates), which may open only when exactly one of them
 * is in the cache, and which never
 * make a violation), then the site's stale-list policy.
 */
export function decide(passage: Passage, now: number, lookups: Lookups, policy: ZonePolicy): Decision {
  const at = localMoment(now);
  const listVersion = lookups.listVersion;
  const ruleVersion = policy.zeroEmission?.version;
  const base = {
    plate: passage.text,
    country: passage.country,
    corrected: false,
    listVersion,
    ...(ruleVersion !== undefined ? { ruleVersion } : {}),
  };
  if (policy.windows.length > 0 && windowOpen(policy.windows, at))
    return { outcome: 'open', reason: 'zone-window', rule: 'venstertijden', ...base };

  const published = lookups.listPublishedAt;
  const stale = published === undefined || now - published > policy.staleList.maxAgeMs;
  const staleMark = stale ? { staleList: true } : {};

  if (passage.confidence < policy.minConfidence)
    return { outcome: 'manual', reason: 'low-confidence', ...base, ...staleMark };

  let verdict = evaluate(passage.text, passage.country, now, at, lookups, policy);
  let plate = passage.text;
  let corrected = false;
  let correctionKnown = false;
  if (!verdict.admit && !verdict.known && passage.country === 'NL') {
    const known: { text: string; verdict: Verdict }[] = [];
    const candidates = correctionCandidates(passage.text);
    const listed =
      candidates.length === 0
        ? candidates
        : lookups.listed(candidates, passage.country, policy.zeroEmission !== undefined);
    for (const text of listed) {
      const v = evaluate(text, passage.country, now, at, lookups, policy);
      if (v.known) known.push({ text, verdict: v });
    }
    if (known.length === 1 && known[0]!.verdict.admit) {
      verdict = known[0]!.verdict;
      plate = known[0]!.text;
      corrected = true;
    } else if (known.length > 1 && known.some((k) => k.verdict.admit)) {
      return { outcome: 'manual', reason: 'ambiguous', ...base, ...staleMark };
    } else if (known.length > 0) {
      correctionKnown = true;
    }
  }

  let outcome: Decision['outcome'] = verdict.admit
    ? 'open'
    : verdict.uncertain
      ? 'manual'
      : policy.cameraOnly
        ? 'record'
        : 'deny';
  let reason: Reason = verdict.reason;
  // A read that is probably a misread of a plate the cache knows is no evidence for a violation.
  if (outcome === 'record' && correctionKnown) {
    outcome = 'manual';
    reason = 'ambiguous';
  }
  if (stale && !verdict.emergency) {
    const action = policy.staleList.action;
    if (action === 'manual' || (action === 'emergency-only' && outcome !== 'deny')) {
      outcome = action === 'emergency-only' && outcome === 'open' && !policy.cameraOnly ? 'deny' : 'manual';
      reason = 'stale-list';
    }
  }
  return {
    outcome,
    reason,
    ...(verdict.grantId !== undefined ? { grantId: verdict.grantId } : {}),
    ...(verdict.rule !== undefined ? { rule: verdict.rule } : {}),
    ...base,
    plate,
    corrected,
    ...staleMark,
  };
}
