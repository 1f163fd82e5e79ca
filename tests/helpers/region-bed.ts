import { afterAll, beforeAll } from 'vitest';
import { createIngest, type Ingest } from '../../src/region/ingest.js';
import { silentLogger } from '../../src/shared/log.js';
import { Registry } from '../../src/shared/metrics.js';
import { startMosquitto, type MosquittoInstance } from './mosquitto.js';
import { createTestDatabase, type TestDatabase } from './postgres.js';

/** The region side of the uplink for a test file: a private Mosquitto and a database of its own. */
export interface RegionTestBed {
  readonly broker: MosquittoInstance;
  readonly db: TestDatabase;
}

/**
 * Call at the top of a test file: starts the broker and creates the database before the file's
 * tests, disposes of both after them (after the file's own afterAll hooks, which run first).
 */
export function regionTestBed(): RegionTestBed {
  let broker: MosquittoInstance | undefined;
  let db: TestDatabase | undefined;
  beforeAll(async () => {
    [broker, db] = await Promise.all([startMosquitto(), createTestDatabase()]);
  });
  afterAll(async () => {
    await broker?.dispose();
    await db?.drop();
  });
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('the region test bed starts in beforeAll');
    return value;
  };
  return {
    get broker() {
      return started(broker);
    },
    get db() {
      return started(db);
    },
  };
}

/** The region ingest in this process, on the bed's broker and database (zonegate/v1, group "region"). */
export async function startIngest(bed: RegionTestBed, instance: string, registry = new Registry()): Promise<Ingest> {
  const ingest = createIngest({
    pool: bed.db.pool,
    mqttUrl: bed.broker.url,
    topicPrefix: 'zonegate/v1',
    group: 'region',
    instance,
    registry,
    log: silentLogger,
  });
  await ingest.start();
  return ingest;
}
