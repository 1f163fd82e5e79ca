import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import {
  existsSync,
  chmodSync,
  chownSync,
  closeSync,
  copyFileSync,
  mkdirSync,
  openSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { probeBollard } from '../../src/bollard/probe.js';
import { openListCache } from '../../src/cache/list-cache.js';
import { parseSiteConfig } from '../../src/config/index.js';
import { openJournal } from '../../src/journal/index.js';
import { checkDatabases } from '../../src/ops/doctor/databases.js';
import { checkDisk } from '../../src/ops/doctor/disk.js';
import { checkGpio } from '../../src/ops/doctor/gpio.js';
import { checkListAge } from '../../src/ops/doctor/lists.js';
import { checkBroker, checkCertificates } from '../../src/ops/doctor/mqtt.js';
import { checkSerialDevices, groupId } from '../../src/ops/doctor/serial.js';
import { ManualClock, systemClock } from '../../src/shared/clock.js';
import { silentLogger } from '../../src/shared/log.js';
import { Registry } from '../../src/shared/metrics.js';
import { MosquittoInstance, freePort, startMosquitto } from '../helpers/mosquitto.js';
import { createTestPki, mosquittoTlsListener, type TestPki } from '../helpers/tls.js';
import { gpioSnapshotTree as gpioTree } from '../helpers/ops-gpio-snapshot.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir('zg-doctor-');
const deps = { clock: systemClock, registry: new Registry(), log: silentLogger };

afterAll(() => dir.remove());

describe('database integrity', () => {
  const dataDir = join(dir.path, 'db');

  beforeAll(() => {
    mkdirSync(dataDir);
    const journal = openJournal({ file: join(dataDir, 'journal.sqlite'), gatewayId: 'gw-1', ...deps });
    for (let i = 0; i < 2000; i++)
      journal.append({ type: 'system', at: Date.now(), payload: { note: `start ${i}`, pad: 'x'.repeat(200) } });
    journal.close();
    const cache = openListCache(join(dataDir, 'lists.sqlite'), deps);
    cache.close();
  });

  test('healthy journal and list files pass, one result per file (list data files included)', () => {
    const results = checkDatabases({ dataDir });
    expect(results.map((r) => r.id)).toEqual(
      expect.arrayContaining(['database:journal.sqlite', 'database:lists.sqlite']),
    );
    expect(results.some((r) => r.id.startsWith('database:lists.sqlite.d/'))).toBe(true);
    expect(results.every((r) => r.status === 'pass')).toBe(true);
  });

  test('a journal with damaged pages fails, and the fix says to keep the old file for its unsent events', () => {
    const broken = join(dir.path, 'broken');
    mkdirSync(broken);
    copyFileSync(join(dataDir, 'journal.sqlite'), join(broken, 'journal.sqlite'));
    // Overwrite the middle of the file (b-tree pages) as a failing SD card would.
    const fd = openSync(join(broken, 'journal.sqlite'), 'r+');
    const size = statSync(join(broken, 'journal.sqlite')).size;
    writeSync(fd, Buffer.alloc(4096 * 3, 0x5a), 0, 4096 * 3, Math.floor(size / 2 / 4096) * 4096);
    closeSync(fd);
    writeFileSync(
      join(broken, 'notes.sqlite'),
      'this is not a database at all, just text that is long enough '.repeat(20),
    );
    const [journal, notes] = [...checkDatabases({ dataDir: broken })].sort((a, b) => a.id.localeCompare(b.id));
    expect(journal!.status).toBe('fail');
    expect(journal!.detail).toMatch(/problem|malformed|corrupt/i);
    expect(journal!.fix).toMatch(/move .*journal\.sqlite.* aside \(keep it/);
    expect(notes!.status).toBe('fail');
    expect(notes!.detail).toMatch(/not a database/);
  });

  test('an empty data directory is skipped, not failed (nothing created yet)', () => {
    mkdirSync(join(dir.path, 'empty'));
    expect(checkDatabases({ dataDir: join(dir.path, 'empty') })[0]!.status).toBe('skip');
  });
});

describe('disk space', () => {
  test('enough space passes; a site limit above what is free fails and says what to clear', () => {
    expect(checkDisk({ dataDir: dir.path, limits: { minFreeMb: 1, minFreePercent: 0 } }).status).toBe('pass');
    const full = checkDisk({ dataDir: dir.path, limits: { minFreeMb: 1e9, minFreePercent: 0 } });
    expect(full.status).toBe('fail');
    expect(full.detail).toMatch(/MiB free of .* needs at least 1000000000 MiB/);
    expect(full.fix).toContain('captures');
  });

  test('a missing data directory fails with the command that creates it', () => {
    const r = checkDisk({ dataDir: join(dir.path, 'nope'), limits: { minFreeMb: 1, minFreePercent: 0 } });
    expect(r.status).toBe('fail');
    expect(r.fix).toMatch(/install -d -o zonegate/);
  });
});

describe('list age', () => {
  const site = (action: string): ReturnType<typeof parseSiteConfig> =>
    parseSiteConfig(
      `gateway: { id: gw-1, site: T, municipality: '0363', zone: z-a }
lanes: [{ id: in-1 }]
sources: [{ id: cam-1, kind: serial, lane: in-1, device: /dev/ttyUSB0 }]
policy: { staleList: { maxAgeHours: 48, action: ${action} } }`,
      'site.yaml',
    );
  const listDir = join(dir.path, 'lists');
  const clock = new ManualClock(Date.UTC(2026, 5, 1, 12));

  beforeAll(() => {
    mkdirSync(listDir);
    const cache = openListCache(join(listDir, 'lists.sqlite'), { ...deps, clock });
    cache.applyInPlace({
      version: 12,
      publishedAt: clock.now() - 3 * 3600_000,
      source: 'region',
      replaceGrants: true,
      upsertGrants: [
        {
          id: 'g1',
          plate: 'AB123C',
          country: 'NL',
          scope: { type: 'zone', zone: 'z-a' },
          kind: 'permit',
          validFrom: 0,
          windows: [],
          listVersion: 12,
        },
      ],
    });
    cache.close();
  });

  test('a fresh list passes with its version and age', () => {
    const r = checkListAge({ dataDir: listDir, staleList: site('manual').policy.staleList, clock });
    expect(r).toMatchObject({ status: 'pass', detail: 'version 12 (region), 1 grants, published 3.0 h ago' });
  });

  test('a list older than the site allows fails where the policy restricts entry, and warns where it keeps deciding', () => {
    const later = new ManualClock(clock.now() + 100 * 3600_000);
    const strict = checkListAge({ dataDir: listDir, staleList: site('emergency-only').policy.staleList, clock: later });
    expect(strict.status).toBe('fail');
    expect(strict.detail).toMatch(
      /4\.3 days ago: older than policy\.staleList\.maxAgeHours 48; only emergency vehicles/,
    );
    const lenient = checkListAge({ dataDir: listDir, staleList: site('keep-deciding').policy.staleList, clock: later });
    expect(lenient.status).toBe('warn');
  });

  test('no list at all fails and tells how to load one', () => {
    const r = checkListAge({ dataDir: join(dir.path, 'nolists'), staleList: site('manual').policy.staleList, clock });
    expect(r.status).toBe('fail');
    expect(r.fix).toContain('zonegate cache import');
  });
});

describe('serial device', () => {
  // A pseudo-terminal pair as a serial port stands in for a USB adapter (socat, as the camera tests use).
  let socat: ChildProcess;
  const pair = { gatewayEnd: join(dir.path, 'gateway'), cameraEnd: join(dir.path, 'camera') };
  beforeAll(async () => {
    socat = spawn('socat', [`pty,raw,echo=0,link=${pair.cameraEnd}`, `pty,raw,echo=0,link=${pair.gatewayEnd}`], {
      stdio: 'ignore',
    });
    while (!existsSync(pair.gatewayEnd) || !existsSync(pair.cameraEnd)) await new Promise((r) => setTimeout(r, 20));
  });
  afterAll(() => void socat.kill());

  const source = (device: string) =>
    parseSiteConfig(
      `gateway: { id: gw-1, site: T, municipality: '0363', zone: z-a }
lanes: [{ id: in-1 }]
sources: [{ id: cam-1, kind: serial, lane: in-1, device: '${device}' }]`,
      'site.yaml',
    ).sources;

  test('a port the dialout group may use passes; one only root may open fails with the udev fix', () => {
    const dialout = groupId('dialout');
    expect(dialout).toBeDefined();
    const real = execFileSync('readlink', ['-f', pair.gatewayEnd], { encoding: 'utf8' }).trim();
    chownSync(real, 0, dialout!);
    chmodSync(real, 0o660);
    const ok = checkSerialDevices({ sources: source(pair.gatewayEnd) });
    expect(ok[0]).toMatchObject({ id: 'serial:cam-1', status: 'pass' });
    expect(ok[0]!.detail).toContain('group dialout');
    chmodSync(real, 0o600);
    const locked = checkSerialDevices({ sources: source(pair.gatewayEnd) })[0]!;
    expect(locked.status).toBe('fail');
    expect(locked.fix).toContain('60-zonegate-serial.rules');
  });

  test('an unplugged adapter and a path that is not a device fail with what to check', () => {
    const gone = checkSerialDevices({ sources: source(join(dir.path, 'ttyUSB7')) })[0]!;
    expect(gone.status).toBe('fail');
    expect(gone.detail).toContain('is not there (ENOENT)');
    expect(gone.fix).toContain('/dev/serial/by-path');
    writeFileSync(join(dir.path, 'plain'), '');
    expect(checkSerialDevices({ sources: source(join(dir.path, 'plain')) })[0]!.detail).toContain(
      'not a character device',
    );
  });
});

describe('bollard GPIO (a sysfs-shaped tree)', () => {
  const sysfsTree = (base: number, label: string, values: Record<number, '0' | '1'>): string =>
    gpioTree(dir.path, { base, label }, values, [17, 27]);
  const lanes = parseSiteConfig(
    `gateway: { id: gw-1, site: T, municipality: '0363', zone: z-a }
lanes:
  - id: in-1
    bollard: { driver: gpio, activeLow: true, pins: { lower: 17, raise: 27, positionDown: 5, positionUp: 6, loops: [13, 19] } }
sources: [{ id: cam-1, kind: serial, lane: in-1, device: /dev/ttyUSB0 }]`,
    'site.yaml',
  ).lanes;

  test('every input is read on a Pi 5 numbering (pinctrl-rp1 from 571), with active-low applied', async () => {
    const root = sysfsTree(571, 'pinctrl-rp1', { 17: '0', 27: '0', 5: '1', 6: '0', 13: '1', 19: '0' });
    const { pins } = await probeBollard(lanes[0]!.bollard!, { root });
    expect(pins.map((r) => [r.role, r.gpio, r.direction, r.high, r.active])).toEqual([
      ['positionDown', 576, 'in', true, false],
      ['positionUp', 577, 'in', false, true],
      ['loops[0]', 584, 'in', true, false],
      ['loops[1]', 590, 'in', false, true],
      ['lower', 588, 'out', false, false],
      ['raise', 598, 'out', false, false],
    ]);
    const results = await checkGpio({
      lanes,
      sysfsRoot: root,
      groupFile: '/etc/group',
      serviceGroup: groupId('gpio') ? 'gpio' : 'dialout',
    });
    expect(results.find((r) => r.id === 'gpio:in-1')).toMatchObject({ status: 'pass' });
    expect(results.find((r) => r.id === 'gpio:in-1')!.detail).toMatch(
      /^bollard up: positionDown\(BCM5\)=1, positionUp\(BCM6\)=0 active/,
    );
  });

  test('contradicting position contacts fail; a pin that never appears after export fails with its BCM number', async () => {
    const both = sysfsTree(512, 'pinctrl-bcm2711', { 17: '0', 27: '0', 5: '0', 6: '0', 13: '1', 19: '1' });
    const r = (await checkGpio({ lanes, sysfsRoot: both })).find((x) => x.id === 'gpio:in-1')!;
    expect(r.status).toBe('fail');
    expect(r.detail).toMatch(/position down and up are both active/);
    const missing = sysfsTree(0, 'pinctrl-bcm2835', { 17: '0', 27: '0', 5: '1', 6: '0', 13: '1' });
    const m = (await checkGpio({ lanes, sysfsRoot: missing, exportTimeoutMs: 100 })).find((x) => x.id === 'gpio:in-1')!;
    expect(m.status).toBe('fail');
    expect(m.detail).toContain('loops[1](BCM19): gpio19 did not appear after export');
    const other = sysfsTree(100, 'gpio-expander', { 5: '1' });
    const o = (await checkGpio({ lanes, sysfsRoot: other })).find((x) => x.id === 'gpio:in-1')!;
    expect(o.status).toBe('fail');
    expect(o.detail).toMatch(/no Raspberry Pi header gpiochip .* chips found: gpiochip100 "gpio-expander"/);
    expect(o.fix).toContain('chipLabel');
  });
});

describe('certificates and broker', () => {
  let pki: TestPki;
  let plain: MosquittoInstance;
  let tls: MosquittoInstance;
  let tlsPort: number;
  const mqtt = (over: Record<string, string>) =>
    parseSiteConfig(
      `gateway: { id: gw-tls-1, site: T, municipality: '0363', zone: z-a }
lanes: [{ id: in-1 }]
sources: [{ id: cam-1, kind: serial, lane: in-1, device: /dev/ttyUSB0 }]
mqtt: ${JSON.stringify(over)}`,
      'site.yaml',
    ).mqtt;

  beforeAll(async () => {
    pki = createTestPki('gw-tls-1');
    plain = await startMosquitto();
    tlsPort = await freePort();
    tls = new MosquittoInstance({ extraConfig: mosquittoTlsListener(tlsPort, pki) });
  });
  afterAll(async () => {
    await plain?.dispose();
    await tls?.dispose();
    pki?.remove();
  });

  test('a valid client certificate passes; near its end it warns; after it (or before it) it fails', () => {
    const m = mqtt({
      url: 'mqtts://127.0.0.1:8883',
      clientKey: pki.clientKey,
      clientCert: pki.clientCert,
      ca: pki.caCert,
    });
    const now = Date.now();
    const ok = checkCertificates({ mqtt: m, dataDir: dir.path, now, warnDays: 1 });
    expect(ok.map((r) => [r.id, r.status])).toEqual([
      ['certificate', 'pass'],
      ['certificate-key', 'pass'],
      ['certificate-ca', 'pass'],
    ]);
    expect(checkCertificates({ mqtt: m, dataDir: dir.path, now, warnDays: 30 })[0]).toMatchObject({ status: 'warn' });
    const expired = checkCertificates({ mqtt: m, dataDir: dir.path, now: now + 10 * 86_400_000, warnDays: 30 })[0]!;
    expect(expired.status).toBe('fail');
    expect(expired.detail).toMatch(/CN=gw-tls-1 expired on/);
    const early = checkCertificates({ mqtt: m, dataDir: dir.path, now: now - 86_400_000, warnDays: 30 })[0]!;
    expect(early.fix).toMatch(/clock/);
  });

  test('a certificate for another key or from another CA fails; a pending request names the CSR to send', () => {
    const wrong = checkCertificates({
      mqtt: mqtt({ url: 'mqtts://h:8883', clientKey: pki.strangerKey, clientCert: pki.clientCert, ca: pki.caCert }),
      dataDir: dir.path,
      now: Date.now(),
      warnDays: 1,
    });
    expect(wrong.find((r) => r.id === 'certificate-key')).toMatchObject({ status: 'fail' });
    const foreign = checkCertificates({
      mqtt: mqtt({ url: 'mqtts://h:8883', clientKey: pki.strangerKey, clientCert: pki.strangerCert, ca: pki.caCert }),
      dataDir: dir.path,
      now: Date.now(),
      warnDays: 1,
    });
    expect(foreign.find((r) => r.id === 'certificate-ca')).toMatchObject({ status: 'fail' });
    // Relative paths are under the data directory, as the gateway reads them.
    mkdirSync(join(dir.path, 'keys'), { recursive: true });
    copyFileSync(pki.clientKey, join(dir.path, 'keys', 'client.key'));
    writeFileSync(join(dir.path, 'keys', 'client.csr'), 'csr');
    const pending = checkCertificates({
      mqtt: mqtt({ url: 'mqtts://h:8883', clientKey: 'keys/client.key', clientCert: 'keys/client.crt' }),
      dataDir: dir.path,
      now: Date.now(),
      warnDays: 1,
    })[0]!;
    expect(pending.status).toBe('fail');
    expect(pending.fix).toContain(join(dir.path, 'keys', 'client.csr'));
  });

  test('the broker is reached as the gateway would reach it; a refused connection says what to check', async () => {
    const ok = await checkBroker({ mqtt: mqtt({ url: plain.url }), dataDir: dir.path, gatewayId: 'gw-1' });
    expect(ok).toMatchObject({ id: 'broker', status: 'pass' });
    await tls.start();
    const secure = await checkBroker({
      mqtt: mqtt({
        url: `mqtts://127.0.0.1:${tlsPort}`,
        clientKey: pki.clientKey,
        clientCert: pki.clientCert,
        ca: pki.caCert,
      }),
      dataDir: dir.path,
      gatewayId: 'gw-tls-1',
    });
    expect(secure.status, secure.detail).toBe('pass');
    const stranger = await checkBroker({
      mqtt: mqtt({
        url: `mqtts://127.0.0.1:${tlsPort}`,
        clientKey: pki.strangerKey,
        clientCert: pki.strangerCert,
        ca: pki.caCert,
      }),
      dataDir: dir.path,
      gatewayId: 'gw-tls-1',
      timeoutMs: 3000,
    });
    expect(stranger.status).toBe('fail');
    // A certificate the region has not signed yet: the setting is named, and where to look.
    const pending = await checkBroker({
      mqtt: mqtt({
        url: `mqtts://127.0.0.1:${tlsPort}`,
        clientKey: pki.clientKey,
        clientCert: 'keys/not-signed-yet.crt',
        ca: pki.caCert,
      }),
      dataDir: dir.path,
      gatewayId: 'gw-tls-1',
    });
    expect(pending).toMatchObject({ status: 'fail' });
    expect(pending.detail).toBe(`mqtt.clientCert: cannot read ${join(dir.path, 'keys/not-signed-yet.crt')} (ENOENT)`);
    expect(pending.fix).toMatch(/certificate check/);
    await tls.stop();
    const refused = await checkBroker({
      mqtt: mqtt({ url: `mqtt://127.0.0.1:${tlsPort}` }),
      dataDir: dir.path,
      gatewayId: 'gw-1',
    });
    expect(refused.status).toBe('fail');
    expect(refused.detail).toContain('ECONNREFUSED');
    expect(refused.fix).toMatch(/nothing listens there/);
  });
});
