/**
 * The list downlink, public entry points. The gateway:
 *
 *   const cache = openSiteListCache(site, { clock, log, registry });
 *   void cache.prewarm();                            // the list into the OS page cache, in the background
 *   const sync = site.lists.regionKeys.length > 0
 *     ? createListSync({ mqtt, cache, journal, clock, log, registry, settings: listSyncSettings(site) })
 *     : undefined;                                   // start()/stop() with the other modules
 *   pipeline listInfo: () => { const i = cache.info(); return { version: i.version, ageSeconds: i.ageSeconds }; }
 *   status provider:  () => ({ lists: sync?.status() ?? cache.info() })
 */
import { resolve } from 'node:path';
import { openListCache, type ListCache, type ListCacheDeps } from '../cache/list-cache.js';
import { ConfigError } from '../config/load.js';
import type { SiteConfig } from '../config/schema.js';
import { KeyFileError, loadPublicKeys } from './lists-signing.js';
import type { ListSyncSettings } from './lists-sync.js';

export {
  createListSync,
  type ListSync,
  type ListSyncDeps,
  type ListSyncSettings,
  type ListSyncStatus,
} from './lists-sync.js';
export { listTopics, LISTS_WIRE_VERSION } from './lists-wire.js';
export { generateRegionKeys, keyIdOf, loadPublicKeys, loadPrivateKey, KeyFileError } from './lists-signing.js';

/** `{dataDir}/lists.sqlite`. */
export function listCacheFile(site: Pick<SiteConfig, 'dataDir'>): string {
  return resolve(site.dataDir, 'lists.sqlite');
}

/** The site's list cache, with its configured page cache; the gateway owns it (stray files are removed). */
export function openSiteListCache(site: Pick<SiteConfig, 'dataDir' | 'lists'>, deps: ListCacheDeps): ListCache {
  return openListCache(listCacheFile(site), deps, { cacheKiB: site.lists.cacheMiB * 1024 });
}

/**
 * The list sync's settings from the site profile, with the region keys loaded. A key file that is
 * missing or not an Ed25519 public key is a ConfigError naming `lists.regionKeys[i]`.
 */
export function listSyncSettings(site: SiteConfig, file = 'site profile'): ListSyncSettings {
  const files = site.lists.regionKeys.map((k) => resolve(site.dataDir, k));
  const problems: string[] = [];
  files.forEach((f, i) => {
    try {
      loadPublicKeys([f]);
    } catch (err) {
      if (!(err instanceof KeyFileError)) throw err;
      problems.push(`lists.regionKeys[${i}]: ${err.message}`);
    }
  });
  if (problems.length > 0) throw new ConfigError(file, problems);
  return {
    gatewayId: site.gateway.id,
    zone: site.gateway.zone,
    topicPrefix: site.mqtt.topicPrefix,
    keys: loadPublicKeys(files),
    snapshotTimeoutMs: site.lists.snapshotTimeoutMs,
    resyncIntervalMs: site.lists.resyncIntervalMs,
    staleAfterMs: site.policy.staleList.maxAgeHours * 3_600_000,
  };
}
