import type { SiteConfig } from '../config/schema.js';
import { localDateStart } from './local-time.js';
import type { ZonePolicy } from './types.js';
import { windowsFromConfig } from './windows.js';
import { DEFAULT_ZE_RULES_DIR, loadZeRules } from './ze-rules.js';

export interface ZonePolicyOptions {
  /** Directory of the ZE rule sets; firmware-config/ze-rules by default. */
  readonly zeRulesDir?: string;
}

/**
 * The zone policy of one lane, from the site profile: zone and municipality, read-confidence
 * threshold, venstertijden, stale-list policy, camera-only (no bollard: record instead of deny) and
 * the ZE rule set when the site has one. Reads the rule file (start-up, not the hot path); throws
 * ConfigError naming the file when it is missing or wrong.
 */
export function zonePolicyFor(site: SiteConfig, laneId: string, options: ZonePolicyOptions = {}): ZonePolicy {
  const lane = site.lanes.find((l) => l.id === laneId);
  if (!lane) throw new Error(`zonePolicyFor: no lane "${laneId}" in the site profile`);
  const p = site.policy;
  let zeroEmission: ZonePolicy['zeroEmission'];
  if (p.zeroEmission) {
    const rules = loadZeRules(p.zeroEmission.rules, options.zeRulesDir ?? DEFAULT_ZE_RULES_DIR);
    const zoneStart = p.zeroEmission.inForceFrom !== undefined ? localDateStart(p.zeroEmission.inForceFrom) : undefined;
    zeroEmission =
      zoneStart !== undefined && zoneStart > rules.inForceFrom ? { ...rules, inForceFrom: zoneStart } : rules;
  }
  return {
    zone: site.gateway.zone,
    municipality: site.gateway.municipality,
    lane: lane.id,
    cameraOnly: lane.bollard === undefined,
    minConfidence: p.minConfidence,
    windows: windowsFromConfig(p.windows),
    staleList: { maxAgeMs: p.staleList.maxAgeHours * 3_600_000, action: p.staleList.action },
    ...(zeroEmission ? { zeroEmission } : {}),
  };
}
