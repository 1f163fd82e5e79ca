import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import Database from 'better-sqlite3';
import { result, type CheckResult } from './types.js';

/** The SQLite files of a data directory: top level and one level of `*.d` folders (list versions). */
export function sqliteFiles(dataDir: string): string[] {
  if (!existsSync(dataDir)) return [];
  const out: string[] = [];
  for (const name of readdirSync(dataDir).sort()) {
    const path = join(dataDir, name);
    if (name.endsWith('.sqlite') && statSync(path).isFile()) out.push(path);
    else if (name.endsWith('.d') && statSync(path).isDirectory())
      for (const inner of readdirSync(path).sort())
        if (inner.endsWith('.sqlite') && statSync(join(path, inner)).isFile()) out.push(join(path, inner));
  }
  return out;
}

function fixFor(file: string, dataDir: string): string {
  const name = basename(file);
  if (name === 'journal.sqlite')
    return (
      `stop the service (\`systemctl stop zonegate\`), move ${file}* aside (keep it: it holds events the region may not have), ` +
      'start the service (a new journal begins), then recover the old events with `sqlite3 OLD .recover` and hand them to the region'
    );
  if (name === 'lists.sqlite' || relative(dataDir, file).startsWith('lists.sqlite.d'))
    return (
      `stop the service, remove ${join(dataDir, 'lists.sqlite')}* and ${join(dataDir, 'lists.sqlite.d')}, start it again: ` +
      'the gateway asks the region for a full snapshot (offline: `zonegate cache import LIST.csv`)'
    );
  return `stop the service and move ${file} aside; check the SD card (\`dmesg\` for I/O errors)`;
}

/**
 * PRAGMA integrity_check on every SQLite file of the data directory, read-only (safe while the
 * gateway runs: WAL readers do not block it). A power cut cannot corrupt a WAL database, a dying
 * SD card can: this is where that shows first.
 */
export function checkDatabases(input: { dataDir: string }): CheckResult[] {
  const files = sqliteFiles(input.dataDir);
  if (files.length === 0)
    return [
      result(
        'database',
        'database integrity',
        'skip',
        `no SQLite files in ${input.dataDir} yet (created on the first start)`,
      ),
    ];
  return files.map((file) => {
    const id = `database:${relative(input.dataDir, file)}`;
    const title = `database integrity of ${relative(input.dataDir, file)}`;
    let db: Database.Database | undefined;
    try {
      db = new Database(file, { readonly: true, fileMustExist: true });
      db.pragma('busy_timeout = 5000');
      const rows = db.pragma('integrity_check', { simple: false }) as Array<{ integrity_check: string }>;
      const problems = rows.map((r) => r.integrity_check).filter((r) => r !== 'ok');
      if (problems.length === 0) return result(id, title, 'pass', `ok (${Math.round(statSync(file).size / 1024)} KiB)`);
      return result(
        id,
        title,
        'fail',
        `${problems.length} problem${problems.length > 1 ? 's' : ''}: ${problems.slice(0, 3).join('; ')}`,
        fixFor(file, input.dataDir),
      );
    } catch (err) {
      return result(
        id,
        title,
        'fail',
        `cannot read: ${err instanceof Error ? err.message : String(err)}`,
        fixFor(file, input.dataDir),
      );
    } finally {
      db?.close();
    }
  });
}
