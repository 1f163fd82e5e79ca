import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { repoRoot } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * scripts/install into a throw-away root (--root): the parts that need no running systemd —
 * user and groups (useradd --root), the release and its dependencies, directories with owners and
 * modes (systemd-tmpfiles --root), the unit (enabled with systemctl --root, checked with
 * systemd-analyze), the udev rules, and the upgrade path. Service start/stop needs a booted
 * systemd and is not covered here.
 */
const work = tempDir('zg-install-');
const root = join(work.path, 'root');
const dist = join(work.path, 'dist');

function install(...args: string[]): { code: number | null; out: string } {
  const r = spawnSync(join(repoRoot, 'scripts/install'), ['--root', root, '--dist', dist, ...args], {
    cwd: repoRoot,
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

const passwd = (): string[] => readFileSync(join(root, 'etc/passwd'), 'utf8').split('\n');
const groupLine = (name: string): string | undefined =>
  readFileSync(join(root, 'etc/group'), 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${name}:`));
const sha = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');
const site = `gateway: { id: gw-inst-1, site: Install test, municipality: '0363', zone: z-a }
lanes: [{ id: in-1 }]
sources: [{ id: cam-1, kind: serial, lane: in-1, device: /dev/ttyUSB0 }]
`;

beforeAll(() => {
  // The release is built from the sources as `npm run build` would (transpiled, not type-checked).
  execFileSync(
    join(repoRoot, 'node_modules/.bin/esbuild'),
    [
      ...execFileSync('find', ['src', '-name', '*.ts'], { cwd: repoRoot, encoding: 'utf8' }).trim().split('\n'),
      `--outdir=${dist}`,
      '--format=esm',
      '--platform=node',
      '--log-level=error',
    ],
    { cwd: repoRoot },
  );
  // A root with this machine's account databases, as a fresh Debian has them.
  mkdirSync(join(root, 'etc'), { recursive: true });
  for (const f of ['passwd', 'group', 'shadow', 'gshadow', 'login.defs'])
    copyFileSync(join('/etc', f), join(root, 'etc', f));
  mkdirSync(join(root, 'usr/sbin'), { recursive: true });
  writeFileSync(join(root, 'usr/sbin/nologin'), '#!/bin/sh\nexit 1\n', { mode: 0o755 });
}, 60_000);

afterAll(() => work.remove());

describe('scripts/install on a fresh system', () => {
  let first: { code: number | null; out: string };
  beforeAll(() => {
    first = install('--release-name', '0.1.0-one');
  }, 120_000);

  test('creates the service user without a login, in the dialout and gpio groups', () => {
    expect(first.code, first.out).toBe(0);
    const user = passwd()
      .find((l) => l.startsWith('zonegate:'))!
      .split(':');
    expect(Number(user[2])).toBeLessThan(1000);
    expect(user[5]).toBe('/var/lib/zonegate');
    expect(user[6]).toBe('/usr/sbin/nologin');
    for (const g of ['dialout', 'gpio']) expect(groupLine(g)!.split(':')[3]!.split(',')).toContain('zonegate');
  });

  test('installs a self-contained release: production dependencies only, runnable without the checkout', () => {
    const current = join(root, 'opt/zonegate/current');
    expect(readlinkSync(current)).toBe('releases/0.1.0-one');
    expect(existsSync(join(current, 'node_modules/better-sqlite3'))).toBe(true);
    expect(existsSync(join(current, 'node_modules/vitest'))).toBe(false);
    expect(existsSync(join(current, 'node_modules/typescript'))).toBe(false);
    // Resolved from the release's own node_modules: nothing above the throw-away root has any.
    const run = spawnSync(process.execPath, [join(current, 'dist/cli/main.js'), 'doctor', '--help'], {
      env: { ...process.env, ZONEGATE_CLI: '1' },
      encoding: 'utf8',
    });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain('--only <checks>');
    const wrapper = readFileSync(join(root, 'usr/local/bin/zonegate'), 'utf8');
    expect(wrapper).toContain(
      `exec ${execFileSync('realpath', [process.execPath], { encoding: 'utf8' }).trim()} /opt/zonegate/current/dist/cli/main.js "$@"`,
    );
    expect(statSync(join(root, 'usr/local/bin/zonegate')).mode & 0o777).toBe(0o755);
  });

  test('creates config and data directories owned by the service user, keys readable by it alone', () => {
    const uid = Number(
      passwd()
        .find((l) => l.startsWith('zonegate:'))!
        .split(':')[2],
    );
    const gid = Number(groupLine('zonegate')!.split(':')[2]);
    const data = statSync(join(root, 'var/lib/zonegate'));
    expect([data.uid, data.gid, data.mode & 0o777]).toEqual([uid, gid, 0o750]);
    const keys = statSync(join(root, 'var/lib/zonegate/keys'));
    expect([keys.uid, keys.mode & 0o777]).toEqual([uid, 0o700]);
    const etc = statSync(join(root, 'etc/zonegate'));
    expect([etc.uid, etc.gid, etc.mode & 0o777]).toEqual([0, gid, 0o750]);
    expect(existsSync(join(root, 'etc/udev/rules.d/60-zonegate-serial.rules'))).toBe(true);
  });

  test('installs and enables the unit, which systemd accepts and rates as well hardened', () => {
    const unit = join(root, 'etc/systemd/system/zonegate.service');
    expect(lstatSync(join(root, 'etc/systemd/system/multi-user.target.wants/zonegate.service')).isSymbolicLink()).toBe(
      true,
    );
    const text = readFileSync(unit, 'utf8');
    expect(text).toMatch(/^Type=notify$/m);
    expect(text).toMatch(/^WatchdogSec=\d+s$/m);
    expect(text).toMatch(/^ExecStart=\/usr\/local\/bin\/zonegate run --config \/etc\/zonegate\/site\.yaml$/m);
    // After any end of the gateway (stop, crash, watchdog kill) the bollard is parked in its fail state.
    expect(text).toMatch(
      /^ExecStopPost=\/usr\/local\/bin\/zonegate bollard failsafe --config \/etc\/zonegate\/site\.yaml /m,
    );
    // verify checks the executable exists: point it at the installed wrapper inside the root.
    const probe = join(work.path, 'zonegate.service');
    writeFileSync(probe, text.replaceAll('=/usr/local/bin/zonegate', `=${join(root, 'usr/local/bin/zonegate')}`));
    const verify = spawnSync('systemd-analyze', ['verify', probe], { encoding: 'utf8' });
    expect(verify.status, verify.stderr).toBe(0);
    expect(verify.stderr).toBe('');
    const security = spawnSync(
      'systemd-analyze',
      ['security', '--offline=true', `--root=${root}`, '--threshold=30', 'zonegate.service'],
      { encoding: 'utf8' },
    );
    expect(security.status, security.stdout.split('\n').slice(-3).join('\n')).toBe(0);
    expect(security.stdout).toMatch(/Overall exposure level for zonegate\.service: [0-2]\.\d/);
  });
});

describe('scripts/install as an upgrade', () => {
  const config = (): string => join(root, 'etc/zonegate/site.yaml');
  const journal = (): string => join(root, 'var/lib/zonegate/journal.sqlite');

  test('keeps the site profile and the data, switches releases and keeps the previous one for rollback', () => {
    writeFileSync(config(), site);
    writeFileSync(journal(), 'events not yet acknowledged by the region');
    const before = [sha(config()), sha(journal())];
    const users = passwd().filter((l) => l.startsWith('zonegate:')).length;
    const r = install('--release-name', '0.1.0-two', '--link-deps');
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('site profile /etc/zonegate/site.yaml accepted by 0.1.0-two');
    expect([sha(config()), sha(journal())]).toEqual(before);
    expect(passwd().filter((l) => l.startsWith('zonegate:')).length).toBe(users);
    expect(readlinkSync(join(root, 'opt/zonegate/current'))).toBe('releases/0.1.0-two');
    expect(readlinkSync(join(root, 'opt/zonegate/previous'))).toBe('releases/0.1.0-one');
  });

  test('a release that rejects the existing profile is not switched to, and says which key is wrong', () => {
    writeFileSync(config(), site.replace("municipality: '0363'", 'municipality: 363'));
    const r = install('--release-name', '0.1.0-three', '--link-deps');
    expect(r.code).not.toBe(0);
    expect(r.out).toContain('gateway.municipality: expected string');
    expect(r.out).toContain('nothing was switched');
    expect(readlinkSync(join(root, 'opt/zonegate/current'))).toBe('releases/0.1.0-two');
    writeFileSync(config(), site);
  });

  test('--rollback to a release that rejects the profile is refused, and nothing is switched', () => {
    // An older release that does not know a key the profile now uses refuses it (as main.js here).
    const main = join(root, 'opt/zonegate/releases/0.1.0-one/dist/cli/main.js');
    const real = readFileSync(main);
    writeFileSync(main, "process.stderr.write('site.yaml: ops.newThing: unknown key\\n'); process.exit(2);\n");
    try {
      const r = install('--rollback');
      expect(r.code).not.toBe(0);
      expect(r.out).toContain('ops.newThing: unknown key');
      expect(r.out).toContain('release 0.1.0-one rejects /etc/zonegate/site.yaml');
      expect(r.out).toContain('nothing was switched');
      expect(readlinkSync(join(root, 'opt/zonegate/current'))).toBe('releases/0.1.0-two');
      expect(readlinkSync(join(root, 'opt/zonegate/previous'))).toBe('releases/0.1.0-one');
    } finally {
      writeFileSync(main, real);
    }
  });

  test('--rollback switches back to the previous release', () => {
    const r = install('--rollback');
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('site profile /etc/zonegate/site.yaml accepted by 0.1.0-one');
    expect(readlinkSync(join(root, 'opt/zonegate/current'))).toBe('releases/0.1.0-one');
    expect(readlinkSync(join(root, 'opt/zonegate/previous'))).toBe('releases/0.1.0-two');
  });
});
