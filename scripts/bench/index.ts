import type { BenchSuite } from './types.js';
import { journalSuite } from './journal.js';
import { uplinkSuite } from './uplink.js';
import { decideSuite } from './decide.js';
import { latencySuite } from './latency.js';
import { cacheScaleSuite } from './cache-scale.js';
import { visionSuite } from './vision.js';

/** Every benchmark suite, one line each. */
export const suites: BenchSuite[] = [
  latencySuite,
  decideSuite,
  visionSuite,
  journalSuite,
  uplinkSuite,
  cacheScaleSuite,
  // one line per entry, above this one
];
