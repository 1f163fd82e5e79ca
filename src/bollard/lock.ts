import { mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The lane lock cannot be taken; the message says what to do (for a technician, no stack trace). */
export class LaneLockError extends Error {
  override name = 'LaneLockError';
}

/** Another process controls this lane's bollard (the gateway, or a technician's command). */
export class LaneBusyError extends LaneLockError {
  override name = 'LaneBusyError';
  constructor(
    readonly laneId: string,
    readonly pid: number,
    readonly file: string,
  ) {
    super(
      `lane ${laneId} is controlled by process ${pid} (${file}); stop the gateway first ` +
        '(systemctl stop zonegate) or use its status page',
    );
  }
}

/** Where lane locks live: $ZONEGATE_RUN_DIR, else /run/zonegate (systemd RuntimeDirectory). */
export function defaultRunDir(): string {
  return process.env['ZONEGATE_RUN_DIR'] ?? '/run/zonegate';
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const fsCode = (err: unknown): string => (err as NodeJS.ErrnoException).code ?? String(err);

/**
 * A pid file per lane, so that two processes never drive the same bollard's pins: the sysfs
 * interface lets any number of processes write a value. A lock left by a dead process is taken over.
 * The lock lives in `runDir` or nowhere: a lock taken anywhere else would not be seen by the
 * other processes, which is the same as no lock.
 */
export function lockLane(laneId: string, runDir = defaultRunDir()): { file: string; release: () => void } {
  const hint = "run as root or as the gateway's service user, or set ZONEGATE_RUN_DIR";
  try {
    mkdirSync(runDir, { recursive: true });
  } catch (err) {
    throw new LaneLockError(`cannot create the lane lock directory ${runDir} (${fsCode(err)}); ${hint}`);
  }
  const file = join(runDir, `bollard-${laneId}.pid`);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, `${process.pid}\n`, { flag: 'wx' });
      return {
        file,
        release: () => {
          try {
            if (readFileSync(file, 'utf8').trim() === String(process.pid)) unlinkSync(file);
          } catch {
            // Already gone.
          }
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST')
        throw new LaneLockError(`cannot write the lane lock ${file} (${fsCode(err)}); ${hint}`);
      let pid = Number.NaN;
      try {
        pid = Number.parseInt(readFileSync(file, 'utf8').trim(), 10);
      } catch {
        // Unreadable: treat as stale.
      }
      if (Number.isInteger(pid) && pid !== process.pid && alive(pid)) throw new LaneBusyError(laneId, pid, file);
      try {
        unlinkSync(file);
      } catch (gone) {
        // ENOENT: someone else removed it; try again.
        if ((gone as NodeJS.ErrnoException).code !== 'ENOENT')
          throw new LaneLockError(`cannot replace the stale lane lock ${file} (${fsCode(gone)}); ${hint}`);
      }
    }
  }
  throw new LaneLockError(`cannot take the lane lock ${file}: another process keeps replacing it`);
}

/** The pid holding a lane's lock, if a live process does. */
export function laneLockHolder(laneId: string, runDir = defaultRunDir()): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(join(runDir, `bollard-${laneId}.pid`), 'utf8').trim(), 10);
    return Number.isInteger(pid) && alive(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}
