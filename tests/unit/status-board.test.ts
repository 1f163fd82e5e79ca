import { describe, expect, test } from 'vitest';
import { parseSiteConfig } from '../../src/config/index.js';
import { StatusBoard } from '../../src/ops/status-board.js';
import type { StatusEvent } from '../../src/ops/status-model.js';
import { ManualClock } from '../../src/shared/clock.js';

const site = parseSiteConfig(
  `
gateway: { id: gw-1, site: Test, municipality: '0363', zone: zone-a }
lanes: [{ id: in-1, bollard: { driver: simulator } }, { id: in-2 }]
sources:
  - { id: cam-1, kind: serial, lane: in-1, device: /dev/ttyUSB0 }
  - { id: cam-2, kind: rtsp, lane: in-2, url: 'rtsp://192.0.2.1/s' }
policy: { staleList: { maxAgeHours: 48 } }
status: { recent: 5 }
`,
  'site.yaml',
);

describe('the status board the gateway feeds', () => {
  test('a list never synced counts as stale; its age follows the clock past the site limit', () => {
    const clock = new ManualClock();
    const board = new StatusBoard({ site, clock, versions: {} });
    expect(board.snapshot().list).toMatchObject({ version: 0, stale: true, maxAgeHours: 48 });
    board.list({ version: 9, publishedAt: clock.now() - 3600_000 });
    expect(board.snapshot().list).toMatchObject({ version: 9, ageSeconds: 3600, stale: false });
    clock.advance(48 * 3600_000);
    expect(board.snapshot().list).toMatchObject({ ageSeconds: 49 * 3600, stale: true });
  });

  test('repeated faults of one origin and reason fold into one line with a count; only the newest few are kept', () => {
    const clock = new ManualClock();
    const board = new StatusBoard({ site, clock, versions: {} });
    const events: StatusEvent[] = [];
    board.subscribe((e) => events.push(e));
    for (let i = 0; i < 3; i++) board.fault({ origin: 'cam-1', reason: 'bad-checksum', detail: `line ${i}` });
    board.fault({ origin: 'uplink', reason: 'disconnected', detail: 'broker gone' });
    const faults = board.snapshot().recent.faults;
    expect(faults.map((f) => [f.origin, f.count, f.detail])).toEqual([
      ['uplink', 1, 'broker gone'],
      ['cam-1', 3, 'line 2'],
    ]);
    for (let i = 0; i < 10; i++) board.fault({ origin: `x${i}`, reason: 'r', detail: 'd' });
    expect(board.snapshot().recent.faults).toHaveLength(5);
    expect(events.filter((e) => e.type === 'fault')).toHaveLength(14);
  });

  test('a bollard fault puts the lane in fault and lists it; a source that drops out is shown and listed', () => {
    const clock = new ManualClock();
    const board = new StatusBoard({ site, clock, versions: {} });
    board.bollard({ lane: 'in-1', at: clock.now(), type: 'fault', reason: 'no-position', command: 'lower' });
    const lane = board.snapshot().lanes.find((l) => l.id === 'in-1')!;
    expect(lane.bollard).toMatchObject({ state: 'fault', reason: 'no-position', failMode: 'fail-secure' });
    board.source('cam-1', 'disconnected', '/dev/ttyUSB0 gone');
    const again = board.snapshot();
    expect(again.lanes[0]!.sources[0]).toMatchObject({
      id: 'cam-1',
      state: 'disconnected',
      detail: '/dev/ttyUSB0 gone',
    });
    expect(again.recent.faults.map((f) => f.reason)).toEqual(['disconnected', 'no-position']);
    // Lanes without a bollard, and unknown lanes or sources, are ignored rather than invented.
    board.bollard({ lane: 'in-2', at: clock.now(), type: 'fault', reason: 'x' });
    board.source('cam-9', 'connected');
    expect(board.snapshot().lanes[1]!.bollard).toBeUndefined();
  });

  test('a listener that throws does not stop the others or the feeder', () => {
    const clock = new ManualClock();
    const board = new StatusBoard({ site, clock, versions: {} });
    const seen: string[] = [];
    board.subscribe(() => {
      throw new Error('page gone');
    });
    board.subscribe((e) => seen.push(e.type));
    expect(() => board.uplink({ connected: true, backlog: 3 })).not.toThrow();
    expect(seen).toEqual(['uplink']);
  });
});
