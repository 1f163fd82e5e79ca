import { accessSync, constants, mkdirSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { OpsConfig } from '../../config/schema.js';
import { result, type CheckResult } from './types.js';

/** Free space and writability of the data directory (journal, lists, captures live there). */
export function checkDisk(input: { dataDir: string; limits: OpsConfig['disk'] }): CheckResult {
  const { dataDir, limits } = input;
  const title = `disk space in ${dataDir}`;
  try {
    accessSync(dataDir, constants.W_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return result(
      'disk',
      title,
      'fail',
      code === 'ENOENT' ? `${dataDir} does not exist` : `${dataDir} is not writable (${code})`,
      code === 'ENOENT'
        ? `create it: \`install -d -o zonegate -g zonegate -m 0750 ${dataDir}\` (scripts/install does this)`
        : `give the service user write access: \`chown -R zonegate:zonegate ${dataDir}\``,
    );
  }
  // Writability as a real write: a read-only remount after a filesystem error passes access().
  const probe = join(dataDir, `.doctor-${process.pid}`);
  try {
    mkdirSync(probe);
    writeFileSync(join(probe, 'probe'), 'ok');
  } catch (err) {
    return result(
      'disk',
      title,
      'fail',
      `cannot write in ${dataDir}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
      'the filesystem may have been remounted read-only after an error: check `dmesg`, run fsck, replace a worn SD card',
    );
  } finally {
    rmSync(probe, { recursive: true, force: true });
  }
  const fs = statfsSync(dataDir);
  const freeMb = (fs.bavail * fs.bsize) / 2 ** 20;
  const totalMb = (fs.blocks * fs.bsize) / 2 ** 20;
  const freePercent = totalMb > 0 ? (100 * freeMb) / totalMb : 0;
  const found = `${Math.round(freeMb)} MiB free of ${Math.round(totalMb)} MiB (${freePercent.toFixed(1)} %)`;
  if (freeMb < limits.minFreeMb || freePercent < limits.minFreePercent)
    return result(
      'disk',
      title,
      'fail',
      `${found}; the site needs at least ${limits.minFreeMb} MiB and ${limits.minFreePercent} %`,
      'free space: remove old captures (`' +
        join(dataDir, 'captures') +
        '`), rotate the system journal (`journalctl --vacuum-size=50M`), or use a larger card; ' +
        'the event journal keeps its own budget (journal.budgetMb)',
    );
  return result('disk', title, 'pass', found);
}
