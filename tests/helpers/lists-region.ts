import mqtt, { type MqttClient } from 'mqtt';
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, beforeAll } from 'vitest';
import { openListCache, type ListCache } from '../../src/cache/index.js';
import { openJournal } from '../../src/journal/journal.js';
import type { Journal, JournalEntry } from '../../src/journal/types.js';
import { systemClock } from '../../src/shared/clock.js';
import { silentLogger } from '../../src/shared/log.js';
import { generateRegionKeys, loadPublicKeys } from '../../src/sync/lists-signing.js';
import { createListSync, type ListSync } from '../../src/sync/lists-sync.js';
import { startMosquitto, type MosquittoInstance } from './mosquitto.js';
import { tempDir } from './tmp.js';

/** A region key pair on disk (PEM), as `zonegate region publish-list` and the gateway read them. */
export function regionKeyFiles(
  dir: string,
  name = 'region',
): { privateFile: string; publicFile: string; key: KeyObject } {
  const k = generateRegionKeys();
  const privateFile = join(dir, `${name}.key`);
  const publicFile = join(dir, `${name}.pub`);
  writeFileSync(privateFile, k.privatePem, { mode: 0o600 });
  writeFileSync(publicFile, k.publicPem);
  return { privateFile, publicFile, key: createPrivateKey(k.privatePem) };
}

/** Resolves with the next `list` journal entry that matches, or rejects after timeoutMs. */
export function nextListEvent(
  journal: Journal,
  match: (payload: Record<string, unknown>) => boolean,
  timeoutMs = 20_000,
): Promise<JournalEntry> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no matching list event within ${timeoutMs} ms`));
    }, timeoutMs);
    const off = journal.onAppend((e) => {
      if (e.type !== 'list' || !match(e.payload as Record<string, unknown>)) return;
      clearTimeout(timer);
      off();
      resolve(e);
    });
  });
}

/** A gateway's side of the list downlink on a real broker: its own MQTT client, list cache, journal and sync. */
export interface GatewayLists {
  readonly mqtt: MqttClient;
  readonly cache: ListCache;
  readonly journal: Journal;
  readonly sync: ListSync;
  readonly registry: Registry;
  /** Stops the sync and closes the client, journal and cache (safe after a failed start). */
  close(): Promise<void>;
}

export async function startGatewayLists(options: {
  readonly brokerUrl: string;
  readonly dir: string;
  readonly gatewayId: string;
  readonly publicKeyFile: string;
  readonly zone?: string;
  readonly topicPrefix?: string;
  readonly snapshotTimeoutMs?: number;
  readonly staleAfterMs?: number;
  readonly maxBufferedBytes?: number;
}): Promise<GatewayLists> {
  const client = await mqtt.connectAsync(options.brokerUrl, { clientId: options.gatewayId });
  const deps = { clock: systemClock, log: silentLogger, registry: new Registry() };
  const cache = openListCache(join(options.dir, 'lists.sqlite'), deps);
  const journal = openJournal({ file: join(options.dir, 'journal.sqlite'), gatewayId: options.gatewayId, ...deps });
  const sync = createListSync({
    mqtt: client,
    cache,
    journal,
    ...deps,
    settings: {
      gatewayId: options.gatewayId,
      zone: options.zone ?? 'demo-centrum',
      topicPrefix: options.topicPrefix ?? 'zonegate/v1',
      keys: loadPublicKeys([options.publicKeyFile]),
      snapshotTimeoutMs: options.snapshotTimeoutMs ?? 10_000,
      resyncIntervalMs: 0,
      staleAfterMs: options.staleAfterMs ?? 3_600_000,
      ...(options.maxBufferedBytes !== undefined ? { maxBufferedBytes: options.maxBufferedBytes } : {}),
    },
  });
  const close = async (): Promise<void> => {
    await sync.stop();
    await client.endAsync();
    journal.close();
    cache.close();
  };
  try {
    await sync.start();
  } catch (err) {
    await close();
    throw err;
  }
  return { mqtt: client, cache, journal, sync, registry: deps.registry, close };
}

/** A broker, the region's client and one gateway's list sync, for the tests of one describe block. */
export class ListSyncBed {
  broker!: MosquittoInstance;
  region!: MqttClient;
  gw: GatewayLists | undefined;
  constructor(
    readonly tmp: { readonly path: string; remove(): void },
    readonly keys: ReturnType<typeof regionKeyFiles>,
  ) {}
}

/**
 * Registers beforeAll/afterAll hooks that start a Mosquitto, the region's client and a gateway's list
 * sync (`startGatewayLists` with `options`), and tear them down; call it inside a describe block.
 */
export function listSyncBed(
  gatewayId: string,
  options: Omit<Parameters<typeof startGatewayLists>[0], 'brokerUrl' | 'dir' | 'gatewayId' | 'publicKeyFile'> = {},
): ListSyncBed {
  const tmp = tempDir();
  const bed = new ListSyncBed(tmp, regionKeyFiles(tmp.path));
  beforeAll(async () => {
    bed.broker = await startMosquitto();
    bed.region = await mqtt.connectAsync(bed.broker.url, { clientId: `region-${gatewayId}` });
    bed.gw = await startGatewayLists({
      brokerUrl: bed.broker.url,
      dir: tmp.path,
      gatewayId,
      publicKeyFile: bed.keys.publicFile,
      ...options,
    });
  });
  afterAll(async () => {
    await bed.gw?.close();
    await bed.region?.endAsync();
    await bed.broker?.dispose();
    tmp.remove();
  });
  return bed;
}
