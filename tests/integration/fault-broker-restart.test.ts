import { afterAll, expect, test } from 'vitest';
import { systemClock } from '../../src/shared/clock.js';
import { journaledKeys } from '../helpers/fault.js';
import { storedKeys } from '../helpers/postgres.js';
import { regionTestBed, startIngest } from '../helpers/region-bed.js';
import { tempDir } from '../helpers/tmp.js';
import { startTestGateway, waitFor } from '../helpers/uplink.js';

const long = process.env['ZONEGATE_SOAK'] === 'long';
const region = regionTestBed();
const dir = tempDir('zg-fault-broker-');

afterAll(() => dir.remove());

test(
  'a broker that stops for a while under steady traffic loses nothing: PostgreSQL ends with exactly the journaled events',
  async () => {
    const ingest = await startIngest(region, 'broker-fault');
    const ids = ['gw-br-1', 'gw-br-2'];
    const gws = await Promise.all(
      ids.map((id) =>
        startTestGateway({
          id,
          dir: dir.path,
          brokerUrl: region.broker.url,
          clock: systemClock,
          settings: { ackTimeoutMs: 2_000 },
        }),
      ),
    );
    const perSecond = 400;
    let appended = 0;
    const traffic = setInterval(() => {
      for (const gw of gws)
        for (let i = 0; i < perSecond / 50; i++)
          gw.journal.append({ type: 'passage', at: Date.now(), lane: 'in-1', payload: { n: appended + i } });
      appended += perSecond / 50;
    }, 20);
    const rounds = long ? 4 : 1;
    for (let r = 0; r < rounds; r++) {
      await waitFor(() => gws.every((g) => g.uplink.stats().batchesSent > 2 * (r + 1)), 20_000, 'traffic flowing');
      await region.broker.stop();
      // The gateways keep deciding and journaling while the broker is away.
      const during = appended;
      await waitFor(() => appended > during + perSecond, 20_000, 'traffic during the outage');
      expect(gws.every((g) => !g.client.connected)).toBe(true);
      await region.broker.start();
    }
    await waitFor(() => gws.every((g) => g.client.connected), 20_000, 'reconnection');
    await new Promise((r) => setTimeout(r, 500));
    clearInterval(traffic);
    await waitFor(() => gws.every((g) => g.journal.backlog === 0), 60_000, 'backlog to drain');
    for (const g of gws) await g.stop();
    await ingest.stop();

    const journaled = new Set(ids.flatMap((id) => journaledKeys(dir.path, id)));
    const { keys, rows } = await storedKeys(region.db.pool);
    expect(rows).toBe(keys.size); // no duplicates
    expect(keys.size).toBe(journaled.size);
    expect([...journaled].filter((k) => !keys.has(k))).toEqual([]);
    expect([...keys].filter((k) => !journaled.has(k))).toEqual([]);
  },
  long ? 600_000 : 90_000,
);
