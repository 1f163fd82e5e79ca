import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { sourceSchema } from '../../src/config/schema.js';
import { systemClock } from '../../src/shared/clock.js';
import { silentLogger } from '../../src/shared/log.js';
import { BUILTIN_DIALECT_DIR, DialectCatalog } from '../../src/sources/dialect/catalog.js';
import { createSource, type CameraSource } from '../../src/sources/index.js';
import { CollectingSink } from '../helpers/source-sink.js';

const dialects = new DialectCatalog([BUILTIN_DIALECT_DIR]);

describe('simulated ANPR camera (demo and technicians)', () => {
  let source: CameraSource | undefined;

  afterEach(async () => {
    await source?.stop();
    source = undefined;
  });

  it('its reads come through a real pty and the real serial source, each vehicle announced before its reads', async () => {
    const sink = new CollectingSink();
    const order: string[] = [];
    const origRead = sink.read.bind(sink);
    sink.read = (r) => {
      order.push(`read ${r.text}`);
      origRead(r);
    };
    const vehicles: [string, string][] = [];
    source = createSource(
      sourceSchema.parse({
        id: 'sim-1',
        kind: 'simulated',
        lane: 'in-1',
        dialect: 'zg1',
        simulate: {
          plates: ['96-LKH-9', 'DE:B-AB-1234'],
          intervalMs: 400,
          readsPerVehicle: 3,
          readGapMs: 40,
          corruptEvery: 4,
          heartbeatMs: 0,
        },
      }),
      {
        sink,
        clock: systemClock,
        log: silentLogger,
        registry: new Registry(),
        dialects,
        onVehicle: (lane, plate) => {
          vehicles.push([lane, plate]);
          order.push(`vehicle ${plate}`);
        },
      },
    );
    await source.start();
    await sink.waitFor(() => sink.reads.length >= 6, 'two vehicles with three reads each');
    expect(vehicles.slice(0, 2)).toEqual([
      ['in-1', '96LKH9'],
      ['in-1', 'BAB1234'],
    ]);
    expect(order.slice(0, 8)).toEqual([
      'vehicle 96LKH9',
      'read 96LKH9',
      'read 96LKH9',
      'read 96LKH9',
      'vehicle BAB1234',
      'read BAB1234',
      'read BAB1234',
      'read BAB1234',
    ]);
    const german = sink.reads.find((r) => r.text === 'BAB1234')!;
    expect(german).toMatchObject({ sourceId: 'sim-1', lane: 'in-1', country: 'DE', direction: 'in' });
    expect(german.confidence).toBeGreaterThanOrEqual(850);
    expect(german.charConfidences).toHaveLength(7);
    // The fourth line was preceded by a deliberately broken one: counted, not read.
    expect(sink.rejections.length).toBeGreaterThanOrEqual(1);
    expect(sink.rejections[0]!.reason).toBe('bad-checksum');
    const status = source.status();
    expect(status).toMatchObject({ kind: 'simulated', dialect: 'zg1', state: 'connected', connections: 1 });
    expect(status.totals.reads).toBe(sink.reads.length);
  });
});
