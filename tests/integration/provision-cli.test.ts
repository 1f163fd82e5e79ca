import { execFileSync, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { stringify } from 'yaml';
import { loadSiteConfig } from '../../src/config/index.js';
import { systemClock } from '../../src/shared/clock.js';
import { silentLogger } from '../../src/shared/log.js';
import { DialectCatalog } from '../../src/sources/dialect/catalog.js';
import { PtyPair } from '../../src/sources/pty-pair.js';
import { SimulatedCamera } from '../../src/sources/simulated-camera.js';
import { jpegSize } from '../../src/ops/frame-grab.js';
import { runCli, spawnCli } from '../helpers/cli.js';
import { MosquittoInstance, freePort } from '../helpers/mosquitto.js';
import { gpioSnapshotTree } from '../helpers/ops-gpio-snapshot.js';
import { RtspServer, haveRealClips, realClipsDir } from '../helpers/rtsp-server.js';
import { createTestPki, mosquittoTlsListener, type TestPki } from '../helpers/tls.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir('zg-provision-');
let rtsp: RtspServer;
let pki: TestPki;
let broker: MosquittoInstance;
let tlsPort: number;
let gpioRoot: string;
const listKey = generateKeyPairSync('ed25519').publicKey;
const listKeyPem = listKey.export({ type: 'spki', format: 'pem' }).toString();
const listKeyRaw = (listKey.export({ type: 'spki', format: 'der' }) as Buffer).subarray(12).toString('base64');

beforeAll(async () => {
  let clip = join(realClipsDir, 'Video47_2.avi');
  if (!haveRealClips) {
    // No recorded clips here: an MJPEG clip from ffmpeg's test source serves the same purpose.
    clip = join(dir.path, 'testsrc.avi');
    execFileSync('ffmpeg', [
      '-v',
      'error',
      '-f',
      'lavfi',
      '-i',
      'testsrc2=size=640x480:rate=12',
      '-t',
      '3',
      '-c:v',
      'mjpeg',
      '-y',
      clip,
    ]);
  }
  rtsp = new RtspServer(clip, 5);
  await rtsp.start();
  pki = createTestPki('gw-prov-1');
  tlsPort = await freePort();
  broker = new MosquittoInstance({ extraConfig: mosquittoTlsListener(tlsPort, pki) });
  await broker.start();
  // Bollard at rest: up, loops clear (inputs active-low: 0 = active).
  gpioRoot = gpioSnapshotTree(
    dir.path,
    { base: 512, label: 'pinctrl-bcm2711' },
    { 17: '0', 27: '0', 5: '1', 6: '0', 13: '1' },
    [17, 27],
  );
  writeFileSync(join(dir.path, 'region-list.pub'), listKeyPem);
}, 60_000);

afterAll(async () => {
  await rtsp?.remove();
  await broker?.dispose();
  pki?.remove();
  dir.remove();
});

describe('zonegate provision, serial camera', () => {
  test('the camera on the serial port is heard: the speed and dialect it speaks go into the profile', async () => {
    const pair = new PtyPair(join(dir.path, 'cam-end'), join(dir.path, 'gw-end'));
    await pair.start();
    const camera = new SimulatedCamera({
      device: pair.cameraEnd,
      baudRate: 19200,
      // A UART at another speed than the camera's receives noise, as on a real cable.
      lineSpeed: { peer: pair.gatewayEnd },
      codec: new DialectCatalog().codec('zg1'),
      lane: 'in-1',
      plates: ['96-LKH-9', '28-RBN-4'],
      intervalMs: 300,
      readsPerVehicle: 2,
      clock: systemClock,
      log: silentLogger,
    });
    await camera.start();
    try {
      const out = join(dir.path, 'serial-site.yaml');
      const r = await runCli([
        'provision',
        '--out',
        out,
        '--data-dir',
        join(dir.path, 'sdata'),
        '--no-interactive',
        '--probe-seconds',
        '2',
        '--gateway-id',
        'gw-ser-1',
        '--site',
        'Serial lane',
        '--municipality',
        '0599',
        '--zone',
        'rdam-ze',
        '--answers',
        writeAnswers('serial-answers.yaml', {
          lanes: [{ id: 'in-1', camera: { kind: 'serial', device: pair.gatewayEnd } }],
          listSigningKey: listKeyRaw,
        }),
      ]);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toMatch(/✓ camera .*gw-end: zg1 at 19200 baud: \d+ reads/);
      const site = loadSiteConfig(out);
      expect(site.sources[0]).toMatchObject({
        kind: 'serial',
        device: pair.gatewayEnd,
        baudRate: 19200,
        dialect: 'zg1',
      });
    } finally {
      await camera.stop();
      await pair.stop();
    }
  }, 60_000);
});

function writeAnswers(name: string, answers: object): string {
  const file = join(dir.path, name);
  writeFileSync(file, stringify(answers));
  return file;
}

describe('zonegate provision, scripted', () => {
  const out = join(dir.path, 'etc', 'site.yaml');
  const data = join(dir.path, 'data');

  test('an answers file gives a validated profile, a frame from the camera, every pin read, a key and CSR, and a report', async () => {
    // The camera's password goes into the profile, never into the report that is handed over.
    const cameraUrl = rtsp.url.replace('rtsp://', 'rtsp://cabinet:s3cret-pw@');
    const answers = {
      gateway: { id: 'gw-prov-1', site: 'Zeedijk entrance', municipality: '0363', zone: 'ams-autoluw' },
      lanes: [
        {
          id: 'in-1',
          camera: { kind: 'rtsp', url: cameraUrl },
          bollard: {
            driver: 'gpio',
            activeLow: true,
            pins: { lower: 17, raise: 27, positionDown: 5, positionUp: 6, loops: [13] },
          },
        },
      ],
      mqtt: { url: `mqtts://127.0.0.1:${tlsPort}`, ca: pki.caCert },
      listSigningKey: join(dir.path, 'region-list.pub'),
      status: { listen: '127.0.0.1', port: 8099 },
    };
    writeFileSync(join(dir.path, 'answers.yaml'), stringify(answers));
    const r = await runCli(
      [
        'provision',
        '--answers',
        join(dir.path, 'answers.yaml'),
        '--out',
        out,
        '--data-dir',
        data,
        '--no-interactive',
        '--gpio-root',
        gpioRoot,
      ],
      { timeoutMs: 90_000 },
    );
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/✓ camera in-1: frame \d+x\d+ saved to/);
    expect(r.stdout).toMatch(/positionUp\s+BCM6\s+0\s+ACTIVE/);
    // The self-test says how to fix what fails, as doctor does: here the certificate still to be signed.
    expect(r.stdout).toMatch(
      /✗ client certificate: .*\n\s+fix: send the certificate request \S+client\.csr to the region's CA/,
    );
    const site = loadSiteConfig(out);
    expect(site.sources).toEqual([
      expect.objectContaining({ id: 'cam-in-1', kind: 'rtsp', lane: 'in-1', url: cameraUrl }),
    ]);
    expect(site.mqtt).toMatchObject({ clientKey: 'keys/client.key', clientCert: 'keys/client.crt', ca: 'keys/ca.crt' });
    expect(site.status.token).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect(r.stdout).toContain(site.status.token!);
    expect(statSync(out).mode & 0o777).toBe(0o640);
    expect(statSync(join(data, 'keys/client.key')).mode & 0o777).toBe(0o600);
    const subject = execFileSync('openssl', ['req', '-in', join(data, 'keys/client.csr'), '-noout', '-subject'], {
      encoding: 'utf8',
    });
    expect(subject).toMatch(/CN\s*=\s*gw-prov-1, O\s*=\s*zonegate, OU\s*=\s*ams-autoluw/);
    expect(readFileSync(join(data, 'keys/list-signing.pub'), 'utf8')).toBe(listKeyPem);
    expect(site.lists.regionKeys).toEqual(['keys/list-signing.pub']);

    const reportBase = r.stdout.match(/report: (\S+)\.md/)![1]!;
    for (const text of [r.stdout, readFileSync(`${reportBase}.md`, 'utf8'), readFileSync(`${reportBase}.json`, 'utf8')])
      expect(text).not.toContain('s3cret-pw');
    expect(readFileSync(`${reportBase}.md`, 'utf8')).toContain('rtsp://***@127.0.0.1');
    const report = JSON.parse(readFileSync(`${reportBase}.json`, 'utf8')) as {
      lanes: Array<{
        frame: { file: string; width: number };
        pins: { readings: Array<{ role: string; direction?: string; high?: boolean; active?: boolean }> };
      }>;
      failed: number;
      checks: Array<{ id: string; status: string }>;
    };
    expect(report.failed).toBe(0);
    const frame = readFileSync(report.lanes[0]!.frame.file);
    expect(jpegSize(frame)?.width).toBe(report.lanes[0]!.frame.width);
    expect(report.lanes[0]!.pins.readings.map((p) => [p.role, p.direction, p.high, p.active])).toEqual([
      ['positionDown', 'in', true, false],
      ['positionUp', 'in', false, true],
      ['loops[0]', 'in', true, false],
      ['lower', 'out', false, false],
      ['raise', 'out', false, false],
    ]);
    // Offline from the region's point of view: the certificate is still a request.
    expect(report.checks.find((c) => c.id === 'certificate')?.status).toBe('fail');
  }, 90_000);

  test('once the region signs the request, doctor finds the certificate valid and the broker reachable', async () => {
    execFileSync(
      'openssl',
      [
        'x509',
        '-req',
        '-in',
        join(data, 'keys/client.csr'),
        '-CA',
        pki.caCert,
        '-CAkey',
        join(pki.dir, 'ca.key'),
        '-CAcreateserial',
        '-days',
        '400',
        '-out',
        join(data, 'keys/client.crt'),
      ],
      { stdio: 'ignore' },
    );
    const r = await runCli(['doctor', '--config', out, '--only', 'certificate,broker', '--json']);
    const res = JSON.parse(r.stdout) as {
      results: Array<{ id: string; status: string; detail: string }>;
      failed: number;
    };
    expect(res.results.map((x) => [x.id, x.status])).toEqual([
      ['certificate', 'pass'],
      ['certificate-key', 'pass'],
      ['certificate-ca', 'pass'],
      ['broker', 'pass'],
    ]);
    expect(r.code).toBe(0);

    // Renewal: a new request for the same key, as the certificate check's fix says.
    const renew = await runCli(['provision', '--renew-cert', '--config', out]);
    expect(renew.code, renew.stderr).toBe(0);
    const csrKey = execFileSync('openssl', ['req', '-in', join(data, 'keys/client.csr'), '-noout', '-pubkey'], {
      encoding: 'utf8',
    });
    const ownKey = execFileSync('openssl', ['pkey', '-in', join(data, 'keys/client.key'), '-pubout'], {
      encoding: 'utf8',
    });
    expect(csrKey).toBe(ownKey);
  });

  test('provisioning again keeps the client key, and replaces the profile only with --force, keeping a backup', async () => {
    const key = readFileSync(join(data, 'keys/client.key'), 'utf8');
    const args = [
      'provision',
      '--answers',
      join(dir.path, 'answers.yaml'),
      '--out',
      out,
      '--data-dir',
      data,
      '--no-interactive',
      '--gpio-root',
      gpioRoot,
    ];
    const refused = await runCli(args);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`${out} exists: add --force to replace it`);
    const forced = await runCli([...args, '--force']);
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stdout).toContain('keeping the existing client key');
    expect(readFileSync(join(data, 'keys/client.key'), 'utf8')).toBe(key);
    const backup = forced.stdout.match(/previous kept as (\S+)\)/)![1]!;
    expect(existsSync(backup)).toBe(true);
  }, 60_000);

  test('a missing or wrong answer stops with exit 2 and names it, before anything is written', async () => {
    const r = await runCli([
      'provision',
      '--out',
      join(dir.path, 'x.yaml'),
      '--data-dir',
      join(dir.path, 'x'),
      '--no-interactive',
      '--gateway-id',
      'GW 1',
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /zonegate: gateway\.id: an id of lower-case letters, digits and dashes \(max 63\) \(got "GW 1"\)/,
    );
    expect(existsSync(join(dir.path, 'x.yaml'))).toBe(false);
  });
});

describe('zonegate provision, cameras that connect to the gateway (tcp-server)', () => {
  const gatewayArgs = [
    '--gateway-id',
    'gw-tcp-1',
    '--site',
    'Oudezijds',
    '--municipality',
    '0363',
    '--zone',
    'ams-autoluw',
  ];
  const listening = (name: string, lanes: object[]) =>
    writeAnswers(name, { lanes, listSigningKey: listKeyRaw, status: { listen: '127.0.0.1' } });
  const provisionTo = (out: string, data: string, answers: string, extra: string[] = []) =>
    runCli([
      'provision',
      '--out',
      out,
      '--data-dir',
      data,
      '--no-interactive',
      ...gatewayArgs,
      '--answers',
      answers,
      ...extra,
    ]);

  test('a listening camera on a bollard lane is provisioned with the addresses allowed to connect; a camera-only lane may leave them out', async () => {
    const out = join(dir.path, 'tcp-site.yaml');
    const r = await provisionTo(
      out,
      join(dir.path, 'tdata'),
      listening('tcp-answers.yaml', [
        {
          id: 'in-1',
          camera: { kind: 'tcp-server', port: 5020, allowFrom: '192.0.2.10, 192.0.2.16/28' },
          bollard: { driver: 'simulator' },
        },
        { id: 'in-2', camera: { kind: 'tcp-server', port: 5021 } },
      ]),
    );
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain(
      '✓ camera in-1: tcp-server on port 5020, cameras from 192.0.2.10, 192.0.2.16/28 may connect',
    );
    expect(r.stdout).toContain('✓ camera in-2: tcp-server on port 5021, any host may connect (camera-only lane)');
    const site = loadSiteConfig(out);
    expect(site.sources.map((s) => [s.lane, s.kind, s.port, s.allowFrom])).toEqual([
      ['in-1', 'tcp-server', 5020, ['192.0.2.10', '192.0.2.16/28']],
      ['in-2', 'tcp-server', 5021, undefined],
    ]);
  }, 60_000);

  test('without the addresses a bollard lane stops with exit 2 naming the key; --allow-from gives them', async () => {
    const out = join(dir.path, 'tcp-flag-site.yaml');
    const data = join(dir.path, 'tfdata');
    const answers = listening('tcp-flag-answers.yaml', [
      { id: 'in-1', camera: { kind: 'tcp-server', port: 5020 }, bollard: { driver: 'simulator' } },
    ]);
    const missing = await provisionTo(out, data, answers);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(
      'zonegate: lanes.in-1.camera.allowFrom is missing: lane in-1 has a bollard, so list the addresses of the cameras allowed to connect to port 5020 (allowFrom in the answers file, or --allow-from in-1=192.0.2.10)',
    );
    expect(existsSync(out)).toBe(false);

    const r = await provisionTo(out, data, answers, ['--allow-from', 'in-1=2001:db8:7::/64,192.0.2.10']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(loadSiteConfig(out).sources[0]!.allowFrom).toEqual(['2001:db8:7::/64', '192.0.2.10']);
  }, 60_000);

  test('a camera address that is not an address or range is refused, naming it, and nothing is written', async () => {
    const out = join(dir.path, 'tcp-bad-site.yaml');
    const data = join(dir.path, 'tbdata');
    const inFile = await provisionTo(
      out,
      data,
      listening('tcp-bad-answers.yaml', [
        {
          id: 'in-1',
          camera: { kind: 'tcp-server', port: 5020, allowFrom: ['192.0.2.10', 'camera-1.local'] },
          bollard: { driver: 'simulator' },
        },
      ]),
    );
    expect(inFile.code).toBe(2);
    expect(inFile.stderr).toContain(
      'lanes.0.camera.allowFrom.1: "camera-1.local" is not an IPv4 or IPv6 address or CIDR range',
    );
    const asFlag = await provisionTo(
      out,
      data,
      listening('tcp-bad-flag-answers.yaml', [
        { id: 'in-1', camera: { kind: 'tcp-server', port: 5020 }, bollard: { driver: 'simulator' } },
      ]),
      ['--allow-from', 'in-1=192.0.2.10/24'],
    );
    expect(asFlag.code).toBe(2);
    expect(asFlag.stderr).toContain(
      'zonegate: --allow-from in-1=192.0.2.10/24: "192.0.2.10/24" has bits set after the /24 prefix: write 192.0.2.0/24 for the network, or 192.0.2.10 alone for one camera',
    );
    const wrongLane = await provisionTo(
      out,
      data,
      listening('tcp-lane-answers.yaml', [{ id: 'in-1', camera: { kind: 'rtsp', url: 'rtsp://192.0.2.30/stream' } }]),
      ['--allow-from', 'in-1=192.0.2.10'],
    );
    expect(wrongLane.code).toBe(2);
    expect(wrongLane.stderr).toContain(
      '--allow-from in-1=…: the camera of lane in-1 is rtsp; only a tcp-server camera accepts connections',
    );
    expect(existsSync(out)).toBe(false);
  }, 60_000);

  test('a technician is asked which cameras may connect to a bollard lane, and a wrong address is refused naming it', async () => {
    const out = join(dir.path, 'tcp-interactive.yaml');
    const child = spawnCli(['provision', '--out', out, '--data-dir', join(dir.path, 'tidata')], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const transcript = await converse(child, [
      [/Gateway id.*: $/m, 'gw-tcp-2'],
      [/Site name.*: $/m, 'Oudezijds'],
      [/municipality code.*: $/m, '0363'],
      [/Zone id.*: $/m, 'ams-autoluw'],
      [/Number of lanes \[1\]: $/m, ''],
      [/Lane 1 id \[in-1\]: $/m, ''],
      [/Direction of lane in-1.*: $/m, 'in'],
      [/Camera of lane in-1.*: $/m, 'tcp-server'],
      [/TCP port to listen on: $/m, '5020'],
      [/Bollard on lane in-1.*: $/m, 'simulator'],
      [/cameras allowed to connect to port 5020 of lane in-1, comma-separated \(e\.g\. [^)]*\): $/m, ''],
      [/✗ lane in-1 has a bollard: list at least one camera address.*\n\? Addresses.*: $/m, '192.0.2.10, cam-1.local'],
      [/✗ "cam-1\.local" is not an IPv4 or IPv6 address.*\n\? Addresses.*: $/m, '192.0.2.10 192.0.2.11'],
      [/Region broker URL.*: $/m, broker.url],
      [/list-signing public key.*: $/m, listKeyRaw],
      [/Status page: interface or address.*: $/m, '127.0.0.1'],
    ]);
    expect(transcript).toMatch(/exit 0$/);
    expect(transcript).toContain(
      '✓ camera in-1: tcp-server on port 5020, cameras from 192.0.2.10, 192.0.2.11 may connect',
    );
    const site = loadSiteConfig(out);
    expect(site.sources[0]).toMatchObject({ kind: 'tcp-server', port: 5020, allowFrom: ['192.0.2.10', '192.0.2.11'] });
    expect(site.lanes[0]!.bollard).toMatchObject({ driver: 'simulator' });
  }, 90_000);
});

/** Answers prompts as they appear: each answer is written only after its question was printed. */
async function converse(child: ChildProcess, script: ReadonlyArray<readonly [RegExp, string]>): Promise<string> {
  let out = '';
  let step = 0;
  let searchFrom = 0;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`stuck at step ${step} (${script[step]?.[0]}):\n${out}`)), 60_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      while (step < script.length) {
        const [prompt, answer] = script[step]!;
        const m = prompt.exec(out.slice(searchFrom));
        if (!m) break;
        searchFrom += m.index + m[0].length;
        child.stdin!.write(`${answer}\n`);
        step++;
      }
    });
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    child.once('close', (code) => {
      clearTimeout(timer);
      if (step < script.length) reject(new Error(`exited ${code} at step ${step} (${script[step]![0]}):\n${out}`));
      else resolve(`${out}\nexit ${code}`);
    });
  });
}

describe('zonegate provision, interactive', () => {
  test('a technician answers the questions; a camera that fails is changed, and the pins are read again until confirmed', async () => {
    const plain = new MosquittoInstance();
    await plain.start();
    const out = join(dir.path, 'interactive.yaml');
    const child = spawnCli(
      ['provision', '--out', out, '--data-dir', join(dir.path, 'idata'), '--gpio-root', gpioRoot],
      {
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    const transcript = await converse(child, [
      [/Gateway id.*: $/m, 'Bad Id'],
      [/✗ an id of lower-case.*\n\? Gateway id.*: $/m, 'gw-int-1'],
      [/Site name.*: $/m, 'Damrak entrance'],
      [/municipality code.*: $/m, '0363'],
      [/Zone id.*: $/m, 'ams-autoluw'],
      [/Number of lanes \[1\]: $/m, ''],
      [/Lane 1 id \[in-1\]: $/m, ''],
      [/Direction of lane in-1.*: $/m, 'in'],
      [/Camera of lane in-1 \(serial\/rtsp\/tcp-client\/tcp-server\) \[serial\]: $/m, 'rtsp'],
      [/RTSP URL: $/m, `rtsp://127.0.0.1:${await freePort()}/nothing-here`],
      [/Bollard on lane in-1.*: $/m, 'gpio'],
      [/Bollard control.*: $/m, ''],
      [/BCM pin for lower.*: $/m, '17'],
      [/BCM pin for raise.*: $/m, '27'],
      [/BCM pin for position down.*: $/m, '5'],
      [/BCM pin for position up.*: $/m, '6'],
      [/safety loops.*: $/m, '13'],
      [/BCM pin for emergency.*: $/m, ''],
      [/BCM pin for controller fault.*: $/m, ''],
      [/active-low.*: $/m, 'y'],
      [/watchdog loss the bollard.*: $/m, ''],
      [/Camera not confirmed: retry, change it, or keep it as is.*: $/m, 'change'],
      [/Camera of lane in-1.*: $/m, 'rtsp'],
      [/RTSP URL: $/m, rtsp.url],
      [/Do these inputs match.*: $/m, 'n'],
      [/Read them again.*: $/m, 'y'],
      [/Do these inputs match.*: $/m, 'y'],
      [/Region broker URL.*: $/m, plain.url],
      [/list-signing public key.*: $/m, listKeyRaw],
      [/Status page: interface or address.*: $/m, '127.0.0.1'],
    ]);
    await plain.dispose();
    expect(transcript).toMatch(/exit 0$/);
    expect(transcript).toMatch(/✗ camera in-1: no frame from rtsp:\/\/127\.0\.0\.1:\d+\/nothing-here/);
    expect(transcript).toMatch(/✓ camera in-1: frame \d+x\d+ saved/);
    expect(transcript).toContain('confirmed by the technician: positionDown(BCM5)=1, positionUp(BCM6)=0 active');
    expect(transcript.match(/pins of lane in-1/g)).toHaveLength(2);
    expect(transcript).toMatch(/✓ broker mqtt:\/\/127\.0\.0\.1:\d+: connected/);
    const site = loadSiteConfig(out);
    expect(site.gateway).toMatchObject({ id: 'gw-int-1', site: 'Damrak entrance', zone: 'ams-autoluw' });
    expect(site.lanes[0]!.bollard).toMatchObject({
      driver: 'gpio',
      mode: 'lower-raise',
      activeLow: true,
      failMode: 'fail-secure',
    });
    expect(site.lanes[0]!.bollard!.pins).toMatchObject({
      lower: 17,
      raise: 27,
      positionDown: 5,
      positionUp: 6,
      loops: [13],
    });
    expect(site.mqtt.clientKey).toBeUndefined();
    expect(readFileSync(join(dir.path, 'idata/keys/list-signing.pub'), 'utf8')).toBe(listKeyPem);
  }, 90_000);
});
