import { describe, expect, test } from 'vitest';
import { Pipeline } from '../../src/gateway/pipeline.js';
import { silentLogger } from '../../src/shared/log.js';
import { journalTestBed } from '../helpers/journal.js';

const bed = journalTestBed('zg-pipeline-', 'gw-pipeline');

function pipeline(): { p: Pipeline; journal: ReturnType<typeof bed.journal> } {
  const journal = bed.journal();
  const p = new Pipeline({
    lanes: [
      {
        id: 'in-1',
        decide: (passage) => ({
          outcome: 'deny',
          reason: 'no-grant',
          plate: passage.text,
          country: passage.country,
          corrected: false,
          listVersion: 1,
        }),
      },
    ],
    passage: { windowMs: 1_000, minReads: 1, holdOffMs: 0 },
    journal,
    clock: bed.clock,
    registry: bed.registry,
    log: silentLogger,
    listInfo: () => ({ version: 1, ageSeconds: undefined }),
  });
  return { p, journal };
}

describe('the pipeline', () => {
  test('a read for a lane this gateway does not have is refused, counted and journaled without its plate', async () => {
    const { p, journal } = pipeline();
    p.read({
      sourceId: 'cam-1',
      lane: 'in-9',
      text: 'K285TX',
      country: 'NL',
      confidence: 900,
      receivedAt: bed.clock.now(),
    });
    const [fault] = journal.latest(10, { type: 'fault' });
    expect(fault?.payload).toMatchObject({ fault: 'input-rejected', source: 'cam-1', reason: 'unknown-lane' });
    expect(JSON.stringify(fault)).not.toContain('K285TX');
    expect(journal.latest(10, { type: 'passage' })).toEqual([]);
    const metrics = await bed.registry.getSingleMetricAsString('zonegate_input_rejected_total');
    expect(metrics).toMatch(/reason="unknown-lane",source="cam-1"} 1|source="cam-1",reason="unknown-lane"} 1/);
  });

  test('refusals of one kind are journaled once a minute with how many were held back; every one is counted', async () => {
    const { p, journal } = pipeline();
    const reject = (): void =>
      p.reject({ sourceId: 'cam-1', reason: 'bad-checksum', detail: 'frame says 0000', at: bed.clock.now() });
    reject();
    reject();
    reject();
    bed.clock.advance(60_000);
    reject();
    const faults = journal.latest(10, { type: 'fault' }).reverse();
    expect(faults.map((f) => f.payload['suppressedSinceLast'])).toEqual([0, 2]);
    const metrics = await bed.registry.getSingleMetricAsString('zonegate_input_rejected_total');
    expect(metrics).toMatch(/} 4$/m);
  });
});
