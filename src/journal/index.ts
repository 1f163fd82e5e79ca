/**
 * The event journal: durable, seq-numbered, the uplink's outbox. The gateway opens it with
 * openJournal (or journalFromConfig), hands it to the pipeline as its JournalWriter, to the uplink
 * and status page as a JournalReader, and runs the retention purger beside it.
 */
import { join, resolve } from 'node:path';
import type { JournalConfig, PrivacyConfig } from '../config/schema.js';
import { openJournal, type JournalOptions } from './journal.js';
import { createPlateHasher, loadOrCreateHashSecret, pseudonymisePassages } from './privacy.js';
import type { EventType, Journal, JournalBudget, JournalEntryInput, RetentionPolicy } from './types.js';

export { openJournal, type JournalOptions } from './journal.js';
export { createRetentionPurger, type RetentionPurger, type RetentionPurgerDeps } from './purge.js';
export { uuidv7 } from './ids.js';
export * from './types.js';

export function journalBudget(config: JournalConfig): JournalBudget {
  return { maxBytes: Math.round(config.budgetMb * 1024 * 1024), dropOrder: config.dropOrder };
}

/** `{dataDir}/journal.sqlite`, opened with the site's `journal` section. */
export function journalFromConfig(
  site: { readonly dataDir: string; readonly gateway: { readonly id: string }; readonly journal: JournalConfig },
  deps: Pick<JournalOptions, 'clock' | 'registry' | 'log' | 'seal'>,
): Journal {
  return openJournal({
    file: join(site.dataDir, 'journal.sqlite'),
    gatewayId: site.gateway.id,
    syncIntervalMs: site.journal.syncIntervalMs,
    budget: journalBudget(site.journal),
    ...deps,
  });
}

export {
  createPlateHasher,
  hashPeriod,
  loadOrCreateHashSecret,
  pseudonymisePassages,
  type HashRotation,
  type PlateHash,
  type PlateHasher,
} from './privacy.js';

const DAY_MS = 86_400_000;

/** The site's `privacy.retentionDays` as a RetentionPolicy for the purger. */
export function retentionFromConfig(config: PrivacyConfig): RetentionPolicy {
  const out: RetentionPolicy = {};
  for (const [type, days] of Object.entries(config.retentionDays)) out[type as EventType] = days * DAY_MS;
  return out;
}

/** The journal seal for the site: allowed passages keep only the keyed hash of their plate. */
export function privacySealFromConfig(site: {
  readonly dataDir: string;
  readonly privacy: PrivacyConfig;
}): (entry: JournalEntryInput) => JournalEntryInput {
  const file = resolve(site.dataDir, site.privacy.plateHash.secretFile);
  const hasher = createPlateHasher({ secret: loadOrCreateHashSecret(file), rotation: site.privacy.plateHash.rotation });
  return pseudonymisePassages(hasher);
}
