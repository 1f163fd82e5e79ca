import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/shared/clock.js';
import { silentLogger } from '../../src/shared/log.js';
import { BUILTIN_DIALECT_DIR, DialectCatalog } from '../../src/sources/dialect/catalog.js';
import { SimulatedCamera } from '../../src/sources/simulated-camera.js';
import { runCli } from '../helpers/cli.js';
import { startPtyPair, type PtyHelper } from '../helpers/pty.js';

const dialects = new DialectCatalog([BUILTIN_DIALECT_DIR]);

describe('zonegate probe serial', () => {
  let pty: PtyHelper | undefined;
  let camera: SimulatedCamera | undefined;
  afterEach(async () => {
    await camera?.stop();
    await pty?.dispose();
    camera = undefined;
    pty = undefined;
  });

  it('finds the baud rate and dialect of an unknown camera and shows the technician the evidence', async () => {
    pty = await startPtyPair();
    // A camera at 19200 baud speaking stx-kv-bcc; at any other speed the gateway's UART hears noise.
    camera = new SimulatedCamera({
      device: pty.a,
      baudRate: 19200,
      codec: dialects.codec('stx-kv-bcc'),
      lane: 'in-1',
      cameraLane: '1',
      plates: ['96-LKH-9', 'DE:B-AB-1234'],
      intervalMs: 300,
      readsPerVehicle: 2,
      readGapMs: 60,
      heartbeatMs: 400,
      lineSpeed: { peer: pty.b },
      clock: systemClock,
      log: silentLogger,
    });
    await camera.start();
    const result = await runCli(['probe', 'serial', pty.b, '--baud', '9600,19200,38400', '--listen', '1500']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const out = result.stdout;
    expect(out).toMatch(/^ {2}9600 baud: \d+ bytes, \d+% printable — no dialect decodes it$/m);
    expect(out).toMatch(/^ 19200 baud: \d+ bytes, \d+% printable — stx-kv-bcc: \d+ reads/m);
    expect(out).not.toMatch(/^ *38400 baud:/m);
    expect(out).toMatch(/^match: stx-kv-bcc at 19200 baud 8N1$/m);
    expect(out).toMatch(/^ {2}first read: (96LKH9 \(NL\)|BAB1234 \(DE\)) confidence \d+\/1000, camera time 20\d\d-/m);
    expect(out).toMatch(/^ {2}received: .*MSG=(PLATE|ALIVE)/m);
    expect(out).toMatch(
      /the other dialects decode nothing at this speed: csv-crlf-xor, json-lines, sync-lp-crc32, zg1/,
    );
    expect(out).toMatch(/^ {2}baudRate: 19200\n {2}dialect: stx-kv-bcc$/m);
  });

  it('says so, with advice, when the camera sends nothing', async () => {
    pty = await startPtyPair();
    const result = await runCli(['probe', 'serial', pty.b, '--baud', '9600,19200', '--listen', '300', '--json']);
    expect(result.code).toBe(1);
    const json = JSON.parse(result.stdout) as {
      match?: unknown;
      advice: string;
      attempts: { baudRate: number; bytes: number }[];
    };
    expect(json.match).toBeUndefined();
    expect(json.attempts.map((a) => [a.baudRate, a.bytes])).toEqual([
      [9600, 0],
      [19200, 0],
    ]);
    expect(json.advice).toMatch(/nothing was received at any speed.*swap A\/B \(RS-485\)/);
  });

  it('names the problem when the device is not there, without a stack trace', async () => {
    const result = await runCli(['probe', 'serial', '/dev/ttyZG-missing', '--baud', '9600', '--listen', '100']);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/9600 baud: \/dev\/ttyZG-missing is not there \(unplugged, or a wrong device name\)/);
    expect(result.stderr).not.toMatch(/at .*\.ts:\d+/);
  });
});
