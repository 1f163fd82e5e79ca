import { spawn } from 'node:child_process';
import { expect, test } from 'vitest';
import { repoRoot } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * A real full disk: a 6 MiB tmpfs in a private mount namespace (`unshare -m`, as root), filled
 * up by another file while the journal appends.
 */
test('a full disk never crashes the gateway nor loses events: they wait in memory and are written, in order, once space returns', async () => {
  const dir = tempDir('zg-full-');
  try {
    const child = spawn(
      'unshare',
      [
        '-m',
        'sh',
        '-c',
        `mount -t tmpfs -o size=6m tmpfs "$1" && exec "$2" --import tsx tests/fixtures/journal-disk-full.ts "$1"`,
        'sh',
        dir.path,
        process.execPath,
      ],
      { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise((r) => child.once('exit', r));
    expect(code, err).toBe(0);
    const r = JSON.parse(out) as {
      filled: boolean;
      whileFull: { entries: number; backlog: number };
      writeErrors: { code: string; n: number }[];
      contiguous: boolean;
      allStored: boolean;
      after: { entries: number; backlog: number };
    };
    expect(r.filled).toBe(true);
    // While full: appends still return their seq; the entries wait and count as backlog.
    expect(r.whileFull.entries).toBeLessThan(201);
    expect(r.whileFull.backlog).toBe(201);
    expect(r.writeErrors.some((e) => e.code === 'SQLITE_FULL' && e.n > 0)).toBe(true);
    // Space back: every entry written, numbering without holes.
    expect(r.contiguous).toBe(true);
    expect(r.allStored).toBe(true);
    expect(r.after).toEqual({ entries: 201, backlog: 201 });
  } finally {
    dir.remove();
  }
});
