import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { LaneBusyError, LaneLockError, laneLockHolder, lockLane } from '../../src/bollard/lock.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir('zg-bollard-lock-');
afterAll(() => dir.remove());

describe('lane lock: one process drives a bollard', () => {
  test('a lane held by a live process is refused, naming that process; a lock left by a dead one is taken over', () => {
    const runDir = join(dir.path, 'run');
    const file = join(runDir, 'bollard-in-1.pid');
    const first = lockLane('in-1', runDir);
    expect(first.file).toBe(file);
    // The gateway in another process (our parent stands in for it: alive, not us).
    writeFileSync(file, `${process.ppid}\n`);
    expect(() => lockLane('in-1', runDir)).toThrow(LaneBusyError);
    expect(() => lockLane('in-1', runDir)).toThrow(new RegExp(`lane in-1 is controlled by process ${process.ppid}`));
    expect(laneLockHolder('in-1', runDir)).toBe(process.ppid);

    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    writeFileSync(file, `${dead}\n`);
    expect(laneLockHolder('in-1', runDir)).toBeUndefined();
    const taken = lockLane('in-1', runDir);
    expect(readFileSync(file, 'utf8').trim()).toBe(String(process.pid));
    taken.release();
    expect(existsSync(file)).toBe(false);
  });

  test('a run directory that cannot be created is an error naming it, never a lock somewhere the others do not look', () => {
    const blocker = join(dir.path, 'not-a-directory');
    writeFileSync(blocker, '');
    const runDir = join(blocker, 'run');
    expect(() => lockLane('in-1', runDir)).toThrow(LaneLockError);
    expect(() => lockLane('in-1', runDir)).toThrow(
      new RegExp(`cannot create the lane lock directory ${runDir} \\(ENOTDIR\\).*ZONEGATE_RUN_DIR`),
    );
  });
});
