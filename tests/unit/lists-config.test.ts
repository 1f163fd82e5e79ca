import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseSiteConfig } from '../../src/config/load.js';
import { generateRegionKeys, keyIdOf, listSyncSettings } from '../../src/sync/lists.js';
import { createPublicKey } from 'node:crypto';

const dir = mkdtempSync(join(tmpdir(), 'zg-lists-config-'));
const site = (lists: string): string => `gateway: { id: gw-1, site: test, municipality: '0363', zone: demo-centrum }
dataDir: ${dir}
lanes: [{ id: in-1 }]
sources: [{ id: cam-1, kind: simulated, lane: in-1, simulate: { plates: [AB12CD] } }]
policy: { staleList: { maxAgeHours: 6 } }
${lists}`;

describe('the lists section of the site profile', () => {
  it('loads the region keys (relative to dataDir) and the sync settings', () => {
    const k = generateRegionKeys();
    writeFileSync(join(dir, 'region.pub'), k.publicPem);
    const s = listSyncSettings(
      parseSiteConfig(site('lists: { regionKeys: [region.pub], resyncIntervalMs: 5000 }'), 'site.yaml'),
    );
    expect([...s.keys.keys()]).toEqual([keyIdOf(createPublicKey(k.publicPem))]);
    expect(s).toMatchObject({
      zone: 'demo-centrum',
      gatewayId: 'gw-1',
      topicPrefix: 'zonegate/v1',
      resyncIntervalMs: 5000,
      staleAfterMs: 6 * 3_600_000,
    });
  });

  it('a key file that is missing or not an Ed25519 public key stops start-up naming the key', () => {
    writeFileSync(join(dir, 'not-a-key.pem'), 'hello');
    const cfg = parseSiteConfig(site('lists: { regionKeys: [missing.pub, not-a-key.pem] }'), 'site.yaml');
    let err: unknown;
    try {
      listSyncSettings(cfg, 'site.yaml');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toContain(
      `lists.regionKeys[0]: ${join(dir, 'missing.pub')}: cannot read (ENOENT)`,
    );
    expect((err as ConfigError).message).toContain(
      `lists.regionKeys[1]: ${join(dir, 'not-a-key.pem')}: not a PEM public key`,
    );
  });

  it('an unknown key in the lists section is refused with its path', () => {
    expect(() => parseSiteConfig(site('lists: { regionKey: x.pub }'), 'site.yaml')).toThrow(
      /lists: unknown key "regionKey"/,
    );
  });
});
