import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/load.js';
import { sourceSchema } from '../../src/config/schema.js';
import { systemClock } from '../../src/shared/clock.js';
import { silentLogger } from '../../src/shared/log.js';
import { createSource } from '../../src/sources/source.js';
import { checksumOf } from '../../src/sources/dialect/checksum.js';
import { BUILTIN_DIALECT_DIR, DialectCatalog, parseDialectProfile } from '../../src/sources/dialect/catalog.js';
import type { EncodableRead } from '../../src/sources/dialect/codec.js';
import { sourceMetrics } from '../../src/sources/metrics.js';
import { StreamDecoder } from '../../src/sources/stream-decoder.js';
import { CollectingSink } from '../helpers/source-sink.js';
import { tempDir } from '../helpers/tmp.js';

const catalog = new DialectCatalog([BUILTIN_DIALECT_DIR]);
const T0 = Date.UTC(2026, 0, 5, 9, 0, 0, 120);

function decoderFor(dialect: string, sink = new CollectingSink(), laneMap?: Record<string, string>) {
  const registry = new Registry();
  const decoder = new StreamDecoder({
    codec: catalog.codec(dialect),
    sourceId: 'cam-1',
    lane: 'in-1',
    ...(laneMap ? { laneMap } : {}),
    sink,
    metrics: sourceMetrics(registry),
  });
  return { decoder, sink, registry };
}

function decode(dialect: string, ...chunks: (Buffer | string)[]): CollectingSink {
  const { decoder, sink } = decoderFor(dialect);
  for (const c of chunks) decoder.push(typeof c === 'string' ? Buffer.from(c, 'latin1') : c, T0 + 500, 1n);
  decoder.flush('closed', T0 + 600);
  return sink;
}

const full: EncodableRead = {
  text: '96LKH9',
  country: 'NL',
  confidence: 943,
  charConfidences: [970, 955, 901, 990, 920, 930],
  cameraTime: T0,
  cameraLane: '1',
  direction: 'in',
  imageRef: '000123.jpg',
};

describe('dialect profiles', () => {
  it('ships at least four documented profiles, each of whose examples decodes to a read or keep-alive', () => {
    const names = catalog.names();
    expect(names).toEqual(['csv-crlf-xor', 'json-lines', 'stx-kv-bcc', 'sync-lp-crc32', 'zg1']);
    for (const name of names) {
      const profile = catalog.profile(name);
      expect(profile.description.length, name).toBeGreaterThan(40);
      expect(profile.examples.length, name).toBeGreaterThanOrEqual(2);
      const sink = decode(name, ...profile.examples.map((e) => Buffer.from(e, 'latin1')));
      expect(sink.rejections, name).toEqual([]);
      expect(sink.reads.length, name).toBeGreaterThanOrEqual(2);
    }
  });

  it.each(['zg1', 'stx-kv-bcc', 'json-lines', 'sync-lp-crc32', 'csv-crlf-xor'])(
    'a read written in %s decodes to the same plate, confidences and camera time, even one byte at a time',
    (dialect) => {
      const codec = catalog.codec(dialect);
      const frame = codec.encode(full);
      const whole = decode(dialect, frame);
      const bytewise = decode(dialect, ...[...frame].map((b) => Buffer.of(b)));
      for (const sink of [whole, bytewise]) {
        expect(sink.rejections).toEqual([]);
        expect(sink.reads).toHaveLength(1);
        const r = sink.reads[0]!;
        const m = codec.profile.mapping;
        expect(r).toMatchObject({ sourceId: 'cam-1', lane: 'in-1', text: '96LKH9', country: 'NL', confidence: 943 });
        expect(r.receivedAt).toBe(T0 + 500);
        if (m.charConfidences) expect(r.charConfidences).toEqual(full.charConfidences);
        // Dialects whose clock has whole seconds lose the milliseconds, nothing more.
        if (m.timestamp) expect(Math.abs(r.cameraTime! - T0)).toBeLessThan(1000);
        if (m.direction) expect(r.direction).toBe('in');
        if (m.imageRef) expect(r.imageRef).toBe('000123.jpg');
      }
    },
  );

  it('the checksums match their published check values', () => {
    const check = Buffer.from('123456789');
    expect(checksumOf('crc16-ccitt').compute(check)).toBe(0x29b1);
    expect(checksumOf('crc16-xmodem').compute(check)).toBe(0x31c3);
    expect(checksumOf('crc16-modbus').compute(check)).toBe(0x4b37);
    expect(checksumOf('crc16-arc').compute(check)).toBe(0xbb3d);
    expect(checksumOf('crc32').compute(check)).toBe(0xcbf43926);
    expect(checksumOf('xor').compute(check)).toBe(0x31);
  });

  it.each([
    ['a flipped bit', (l: string) => l.replace('96LKH9', '96LKI9'), 'bad-checksum', /frame says [0-9A-F]{4}, computed/],
    ['no checksum', (l: string) => l.replace(/\*[0-9A-F]{4}\n$/, '\n'), 'missing-checksum', /no \*HHHH/],
    [
      'another sentence',
      (l: string) => l.replace('$ZG1', '$GPS'),
      'unexpected-message',
      /"\$GPS", zg1 expects "\$ZG1"/,
    ],
    [
      'a confidence beyond 1000',
      (l: string) => l.replace(',943,', ',1200,'),
      'bad-field',
      /field "confidence".*0–1000/,
    ],
    ['a country that is no country', (l: string) => l.replace(',NL,', ',N1,'), 'bad-field', /field "country"/],
    [
      'a camera time that is no time',
      (l: string) => l.replace('2026-01-05T', '2026-13-05T'),
      'bad-field',
      /field "time"/,
    ],
    ['a plate with a stray symbol', (l: string) => l.replace('96LKH9', '96L#H9'), 'bad-field', /field "plate"/],
    ['a missing field', (l: string) => l.replace(',in,', ','), 'bad-layout', /expected 9 fields/],
    ['an unknown direction', (l: string) => l.replace(',in,', ',sideways,'), 'bad-field', /expected one of in, out/],
  ])('zg1: a line with %s is rejected as %s, naming what was wrong', (_what, spoil, reason, detail) => {
    const codec = catalog.codec('zg1');
    // Spoil the text but keep a valid checksum, so the check under test is the one that fires.
    const text = codec.encode(full).toString('latin1');
    const spoiled = spoil(text);
    const body = spoiled.replace(/\*[0-9A-F]{4}\n$/, '');
    const line =
      reason === 'bad-checksum' || reason === 'missing-checksum'
        ? spoiled
        : codec.frameBody(Buffer.from(body, 'latin1'));
    const sink = decode('zg1', line);
    expect(sink.reads).toEqual([]);
    expect(sink.rejections.map((r) => r.reason)).toEqual([reason]);
    expect(sink.rejections[0]!.detail).toMatch(detail);
    expect(sink.rejections[0]!.detail.startsWith('zg1: ')).toBe(true);
  });

  it('keep-alives are counted, not delivered as reads', () => {
    const { decoder, sink, registry } = decoderFor('zg1');
    decoder.push(catalog.codec('zg1').encodeHeartbeat(T0)!, T0);
    expect(sink.reads).toEqual([]);
    expect(sink.rejections).toEqual([]);
    expect(decoder.stats.heartbeats).toBe(1);
    expect(registry.getSingleMetric('zonegate_source_heartbeats_total')).toBeDefined();
  });

  it('confidences are normalised to 0–1000 whatever scale the camera uses', () => {
    expect(
      decode('csv-crlf-xor', 'LPR;96-LKH-9;NL;94;05.01.2026 10:00:00;1;IN;000123.jpg*45\r\n').reads[0],
    ).toMatchObject({ text: '96LKH9', confidence: 940 });
    const lp = catalog.codec('sync-lp-crc32');
    const sink = decode('sync-lp-crc32', lp.frameBody(Buffer.from('R|96LKH9|NL|0.5|1767603600.120|1|I|x.jpg')));
    expect(sink.reads[0]!.confidence).toBe(500);
  });

  it('a camera clock in local time is read in its zone, across the change to summer time', () => {
    const codec = catalog.codec('stx-kv-bcc');
    const winter = codec.frameBody(Buffer.from('MSG=PLATE;PLT=96LKH9;CNF=90;TS=20260105100000120'));
    const summer = codec.frameBody(Buffer.from('MSG=PLATE;PLT=96LKH9;CNF=90;TS=20260705100000120'));
    const reads = decode('stx-kv-bcc', winter, summer).reads;
    expect(reads.map((r) => new Date(r.cameraTime!).toISOString())).toEqual([
      '2026-01-05T09:00:00.120Z',
      '2026-07-05T08:00:00.120Z',
    ]);
  });

  it('registration codes map to ISO countries and camera lanes to gateway lanes', () => {
    const codec = catalog.codec('stx-kv-bcc');
    const { decoder, sink } = decoderFor('stx-kv-bcc', new CollectingSink(), { '2': 'in-2' });
    decoder.push(codec.encode({ ...full, text: 'BAB1234', country: 'DE', cameraLane: '2' }), T0);
    decoder.push(codec.encode({ ...full, cameraLane: '7' }), T0);
    expect(sink.reads.map((r) => [r.text, r.country, r.lane])).toEqual([
      ['BAB1234', 'DE', 'in-2'],
      ['96LKH9', 'NL', 'in-1'],
    ]);
    expect(codec.encode({ ...full, country: 'DE' }).toString('latin1')).toContain('CTY=D;');
  });

  it('a camera value named like a property every object has ("constructor", "__proto__") is not taken for a lane, country or direction', () => {
    const codec = catalog.codec('stx-kv-bcc');
    const { decoder, sink } = decoderFor('stx-kv-bcc', new CollectingSink(), { '2': 'in-2' });
    const frame = (pairs: string): Buffer => codec.frameBody(Buffer.from(`MSG=PLATE;PLT=96LKH9;CNF=90;${pairs}`));
    for (const label of ['constructor', '__proto__', 'toString']) decoder.push(frame(`LN=${label};DIR=A;CTY=NL`), T0);
    decoder.push(frame('LN=2;DIR=constructor;CTY=NL'), T0);
    decoder.push(frame('LN=2;DIR=__proto__;CTY=NL'), T0);
    decoder.push(frame('LN=2;DIR=A;CTY=constructor'), T0);
    // Unmapped lane labels go to the source's lane, as any other unknown label does.
    expect(sink.reads.map((r) => [r.lane, r.direction])).toEqual([
      ['in-1', 'in'],
      ['in-1', 'in'],
      ['in-1', 'in'],
    ]);
    expect(sink.rejections.map((r) => [r.reason, r.detail.replace(/: expected .*/, '')])).toEqual([
      ['bad-field', 'stx-kv-bcc: field "DIR" (direction)'],
      ['bad-field', 'stx-kv-bcc: field "DIR" (direction)'],
      ['bad-field', 'stx-kv-bcc: field "CTY" (country)'],
    ]);
    expect(sink.rejections[0]!.detail).toMatch(/expected one of A, R, got "constructor"$/);
  });

  it('a broken profile is refused with the file, the key path and what was expected', () => {
    const bad = `name: broken\ntitle: t\nframing: { type: newline }\nlayout: { type: delimited, separator: ',', fields: [a, b] }\nchecksum: { algorithm: crc99 }\nmapping: { plate: c }\n`;
    try {
      parseDialectProfile(bad, '/etc/zonegate/dialects/broken.yaml');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const message = (err as ConfigError).message;
      expect(message).toContain('/etc/zonegate/dialects/broken.yaml: invalid configuration');
      expect(message).toMatch(/checksum\.algorithm: .*"crc16-ccitt"/);
    }
    const wrongField = bad.replace('crc99', 'xor');
    expect(() => parseDialectProfile(wrongField, 'broken.yaml')).toThrow(
      /mapping\.plate: field "c" is not one of layout\.fields \(a, b\)/,
    );
    const wrongExample = `${wrongField.replace('plate: c', 'plate: a')}examples: ["1,2*00\\n"]\n`;
    expect(() => parseDialectProfile(wrongExample, 'broken.yaml')).toThrow(/examples\[0\]: bad-checksum/);
  });

  it('a source naming a dialect that does not exist stops start-up, naming the source and the dialects there are', () => {
    const config = sourceSchema.parse({
      id: 'cam-7',
      kind: 'serial',
      lane: 'in-1',
      device: '/dev/ttyUSB0',
      dialect: 'zg2',
    });
    const deps = {
      sink: new CollectingSink(),
      clock: systemClock,
      log: silentLogger,
      registry: new Registry(),
      dialects: catalog,
    };
    expect(() => createSource(config, deps)).toThrow(ConfigError);
    expect(() => createSource(config, deps)).toThrow(
      /^source cam-7: invalid configuration\n {2}- dialect: no profile named "zg2" in .* \(known: csv-crlf-xor, json-lines, stx-kv-bcc, sync-lp-crc32, zg1\)/,
    );
  });

  it('a new camera dialect is added by dropping one YAML file into a dialect directory, no code', () => {
    const dir = tempDir('zg-dialects-');
    try {
      writeFileSync(
        join(dir.path, 'acme-pipe.yaml'),
        [
          'name: acme-pipe',
          'title: ACME pipe telegram',
          'framing: { type: crlf, start: "#" }',
          'checksum: { algorithm: crc16-modbus, separator: "~" }',
          'layout: { type: delimited, separator: "|", fields: [tag, plate, score, when] }',
          'match: { tag: "#PL" }',
          'mapping:',
          '  plate: plate',
          '  confidence: { field: score, scale: 255 }',
          '  timestamp: { field: when, format: epoch-s }',
        ].join('\n'),
      );
      const custom = new DialectCatalog([dir.path, BUILTIN_DIALECT_DIR]);
      expect(custom.names()).toContain('acme-pipe');
      const codec = custom.codec('acme-pipe');
      const frame = codec.encode({ text: '12ABC3', confidence: 1000, cameraTime: T0 });
      expect(frame.toString('latin1')).toMatch(/^#PL\|12ABC3\|255\|1767603600\.120~[0-9A-F]{4}\r\n$/);
      const sink = new CollectingSink();
      const decoder = new StreamDecoder({ codec, sourceId: 'cam-9', lane: 'in-1', sink });
      decoder.push(Buffer.concat([Buffer.from('noise'), frame]), T0);
      expect(sink.reads.map((r) => [r.text, r.confidence, r.cameraTime])).toEqual([['12ABC3', 1000, T0]]);
      // A profile can also be named by its path in a site config.
      expect(new DialectCatalog([]).codec(join(dir.path, 'acme-pipe.yaml')).name).toBe('acme-pipe');
    } finally {
      dir.remove();
    }
  });
});
