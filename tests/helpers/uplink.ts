import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { openJournal, type Journal } from '../../src/journal/index.js';
import type { Clock } from '../../src/shared/clock.js';
import { silentLogger } from '../../src/shared/log.js';
import { Registry } from '../../src/shared/metrics.js';
import { connectMqtt, createUplink, waitConnected, type Uplink, type UplinkSettings } from '../../src/sync/index.js';
import { mqttSchema } from '../../src/config/schema.js';

export const fastUplink: UplinkSettings = {
  batchMaxEvents: 200,
  batchMaxBytes: 256 * 1024,
  batchMaxAgeMs: 50,
  maxInFlight: 4,
  ackTimeoutMs: 5_000,
};

export interface TestGateway {
  readonly id: string;
  readonly journal: Journal;
  readonly client: MqttClient;
  readonly uplink: Uplink;
  readonly registry: Registry;
  stop(): Promise<void>;
}

/** A gateway's uplink half, in this process: journal file, one MQTT connection, the uplink. */
export async function startTestGateway(options: {
  id: string;
  dir: string;
  brokerUrl: string;
  clock: Clock;
  settings?: Partial<UplinkSettings>;
  reconnectMs?: number;
}): Promise<TestGateway> {
  const registry = new Registry();
  const journal = openJournal({
    file: join(options.dir, `${options.id}.sqlite`),
    gatewayId: options.id,
    clock: options.clock,
    registry,
    log: silentLogger,
    syncIntervalMs: 100,
  });
  const client = connectMqtt({
    config: mqttSchema.parse({ url: options.brokerUrl, reconnectMs: options.reconnectMs ?? 200 }),
    gatewayId: options.id,
    baseDir: options.dir,
    log: silentLogger,
    registry,
  });
  const uplink = createUplink({
    journal,
    client,
    gatewayId: options.id,
    topicPrefix: 'zonegate/v1',
    settings: { ...fastUplink, ...options.settings },
    clock: options.clock,
    registry,
    log: silentLogger,
  });
  await uplink.start();
  await waitConnected(client, 10_000);
  return {
    id: options.id,
    journal,
    client,
    uplink,
    registry,
    async stop() {
      await uplink.stop();
      await client.endAsync(true);
      journal.close();
    },
  };
}

/** Resolves when `predicate` holds, polling (for state that has no event of its own). */
export async function waitFor(
  predicate: () => boolean | Promise<boolean>,
  timeoutMs = 20_000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A raw MQTT 5 client for a test to watch or speak on topics. */
export async function rawClient(url: string): Promise<MqttClient> {
  return mqtt.connectAsync(url, { protocolVersion: 5, reconnectPeriod: 0 });
}
