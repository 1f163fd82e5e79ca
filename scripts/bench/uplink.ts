import { join } from 'node:path';
import { mqttSchema } from '../../src/config/schema.js';
import { openJournal, type Journal } from '../../src/journal/index.js';
import { insertEvents, migrate } from '../../src/region/db.js';
import { systemClock } from '../../src/shared/clock.js';
import { silentLogger } from '../../src/shared/log.js';
import { Registry } from '../../src/shared/metrics.js';
import { connectMqtt, createUplink, waitConnected, type UplinkSettings } from '../../src/sync/index.js';
import { spawnIngest, kill } from '../../tests/helpers/fault.js';
import { startMosquitto } from '../../tests/helpers/mosquitto.js';
import { createTestDatabase } from '../../tests/helpers/postgres.js';
import { passagePayload } from './journal.js';
import type { BenchRow, BenchSuite } from './types.js';

const settings: UplinkSettings = {
  batchMaxEvents: 500,
  batchMaxBytes: 512 * 1024,
  batchMaxAgeMs: 200,
  maxInFlight: 8,
  ackTimeoutMs: 30_000,
};

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * One gateway → Mosquitto → `region ingest` → PostgreSQL, all on this machine (a private broker
 * and database, as the tests use; PGHOST/PGPORT/PGUSER pick the server): sustained events/s with
 * the gateway kept busy, and the time to drain a backlog built up while the uplink was away.
 * The ingest runs as its own process (`zonegate region ingest`), as it would on the region's
 * machine; the gateway side (journal, uplink, the feeding) shares one event loop, as on a gateway.
 * Baseline: the same batches written straight into PostgreSQL, no MQTT.
 */
export const uplinkSuite: BenchSuite = {
  name: 'uplink',
  async run({ quick, workDir, log }) {
    const broker = await startMosquitto();
    const db = await createTestDatabase('zg_bench');
    await migrate(db.pool);
    const ingest = spawnIngest({ pg: db.url, broker: broker.url, instance: 'bench' });
    const opened: Journal[] = [];
    const stops: (() => Promise<unknown>)[] = [];
    try {
      await ingest.waitFor('ingest: consuming');
      const gateway = async (id: string, start: boolean) => {
        const journal = openJournal({
          file: join(workDir, `${id}.sqlite`),
          gatewayId: id,
          clock: systemClock,
          registry: new Registry(),
          log: silentLogger,
        });
        opened.push(journal);
        const client = connectMqtt({
          config: mqttSchema.parse({ url: broker.url }),
          gatewayId: id,
          baseDir: workDir,
          log: silentLogger,
          registry: new Registry(),
        });
        stops.push(() => client.endAsync(true));
        const uplink = createUplink({
          journal,
          client,
          gatewayId: id,
          topicPrefix: 'zonegate/v1',
          settings,
          clock: systemClock,
          registry: new Registry(),
          log: silentLogger,
        });
        stops.push(() => uplink.stop());
        await waitConnected(client, 10_000);
        if (start) await uplink.start();
        return { journal, uplink };
      };

      // Sustained: keep the outbox fed (at most 20,000 waiting) and count what the region acknowledges.
      const seconds = quick ? 4 : 20;
      const s = await gateway('bench-sustained', true);
      let i = 0;
      let feeding = true;
      const feed = async (): Promise<void> => {
        while (feeding) {
          if (s.journal.backlog < 20_000)
            for (let k = 0; k < 250; k++)
              s.journal.append({ type: 'passage', at: Date.now(), payload: passagePayload(i++) });
          await new Promise((r) => setImmediate(r));
        }
      };
      const feeder = feed();
      await sleep(1_000); // warm-up
      const ackedAt = (): number => i - s.journal.backlog;
      const a0 = ackedAt();
      const t0 = Date.now();
      await sleep(seconds * 1_000);
      const sustained = ((ackedAt() - a0) * 1000) / (Date.now() - t0);
      feeding = false;
      await feeder;
      log(`uplink: sustained ${Math.round(sustained)} events/s over ${seconds} s`);

      // Drain: a backlog journaled while disconnected, then the uplink starts.
      const n = quick ? 50_000 : 1_000_000;
      const d = await gateway('bench-drain', false);
      for (let k = 0; k < n; k++) d.journal.append({ type: 'passage', at: Date.now(), payload: passagePayload(k) });
      const backlog = d.journal.backlog;
      const d0 = Date.now();
      await d.uplink.start();
      while (d.journal.backlog > 0) await sleep(50);
      const drainS = (Date.now() - d0) / 1000;
      log(`uplink: drained ${backlog} events in ${drainS.toFixed(1)} s`);

      // Baseline: the same batches of 500 written straight into PostgreSQL.
      const events = Array.from({ length: 500 }, (_, k) => ({
        seq: k + 1,
        id: `00000000-0000-7000-8000-${String(k).padStart(12, '0')}`,
        type: 'passage' as const,
        at: Date.now(),
        payload: passagePayload(k),
      }));
      const b0 = Date.now();
      let direct = 0;
      for (let r = 0; Date.now() - b0 < (quick ? 2_000 : 5_000); r++) {
        direct += await insertEvents(
          db.pool,
          'bench-direct',
          events.map((e) => ({ ...e, seq: e.seq + r * 500 })),
        );
      }
      const directRate = (direct * 1000) / (Date.now() - b0);

      const rows: BenchRow[] = [
        {
          case: 'gateway → Mosquitto → PostgreSQL',
          metric: 'sustained',
          value: Math.round(sustained),
          unit: 'events/s',
          baseline: Math.round(directRate),
          baselineName: 'batches inserted directly',
          target: '>= 5000 events/s',
          meetsTarget: sustained >= 5_000,
        },
        {
          case: `drain ${backlog} backlog`,
          metric: 'time',
          value: drainS,
          unit: 's',
          baseline: backlog / directRate,
          baselineName: 'direct insert of the same',
          target: quick ? undefined : '<= 300 s for 1M',
          meetsTarget: quick ? undefined : drainS <= 300,
        },
        {
          case: `drain ${backlog} backlog`,
          metric: 'rate',
          value: Math.round(backlog / drainS),
          unit: 'events/s',
          baseline: Math.round(directRate),
          baselineName: 'batches inserted directly',
        },
      ];
      return rows;
    } finally {
      for (const stop of stops.reverse()) await stop().catch(() => undefined);
      for (const j of opened) j.close();
      await kill(ingest, 'SIGTERM');
      await broker.dispose();
      await db.drop();
    }
  },
};
