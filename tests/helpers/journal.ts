import { join } from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import { openJournal, type Journal, type JournalOptions } from '../../src/journal/index.js';
import { ManualClock } from '../../src/shared/clock.js';
import { silentLogger } from '../../src/shared/log.js';
import { Registry } from '../../src/shared/metrics.js';
import { tempDir } from './tmp.js';

/** What each test of a journal file gets afresh: its own directory, manual clock and registry. */
export interface JournalTestBed {
  /** This test's directory. */
  readonly dir: string;
  readonly clock: ManualClock;
  readonly registry: Registry;
  /** Opens `journal.sqlite` in this test's directory; whatever is still open is closed after the test. */
  journal(overrides?: Partial<JournalOptions>): Journal;
  /** Closes every journal opened so far, as a gateway does when it stops. */
  closeAll(): void;
}

/** Call at the top of a test file: sets up and removes a JournalTestBed around every test. */
export function journalTestBed(dirPrefix: string, gatewayId: string): JournalTestBed {
  let dir: { path: string; remove: () => void } | undefined;
  let clock: ManualClock | undefined;
  let registry: Registry | undefined;
  const open: Journal[] = [];
  const closeAll = (): void => {
    for (const j of open.splice(0)) j.close();
  };
  const current = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('the journal test bed is only there inside a test');
    return value;
  };
  beforeEach(() => {
    dir = tempDir(dirPrefix);
    clock = new ManualClock();
    registry = new Registry();
  });
  afterEach(() => {
    closeAll();
    dir?.remove();
  });
  return {
    get dir() {
      return current(dir).path;
    },
    get clock() {
      return current(clock);
    },
    get registry() {
      return current(registry);
    },
    journal(overrides = {}) {
      const j = openJournal({
        file: join(current(dir).path, 'journal.sqlite'),
        gatewayId,
        clock: current(clock),
        registry: current(registry),
        log: silentLogger,
        ...overrides,
      });
      open.push(j);
      return j;
    },
    closeAll,
  };
}
