import { describe, expect, it } from 'vitest';
import { BUILTIN_DIALECT_DIR, DialectCatalog } from '../../src/sources/dialect/catalog.js';
import type { EncodableRead } from '../../src/sources/dialect/codec.js';
import { StreamDecoder } from '../../src/sources/stream-decoder.js';
import { CollectingSink } from '../helpers/source-sink.js';

const catalog = new DialectCatalog([BUILTIN_DIALECT_DIR]);
const read = (text: string): EncodableRead => ({ text, country: 'NL', confidence: 900, cameraLane: '1' });

function run(dialect: string, ...chunks: Buffer[]) {
  const sink = new CollectingSink();
  const decoder = new StreamDecoder({ codec: catalog.codec(dialect), sourceId: 'cam-1', lane: 'in-1', sink });
  for (const c of chunks) decoder.push(c, 1, 1n);
  return {
    sink,
    decoder,
    texts: () => sink.reads.map((r) => r.text),
    reasons: () => sink.rejections.map((r) => r.reason),
  };
}

const zg1 = catalog.codec('zg1');
const stx = catalog.codec('stx-kv-bcc');
const lp = catalog.codec('sync-lp-crc32');
const csv = catalog.codec('csv-crlf-xor');

describe('framing', () => {
  it('a frame at the end of an over-long noisy line is still read, and the overflow reported once with its length', () => {
    const { texts, reasons, sink, decoder } = run('zg1', Buffer.alloc(5000, 0x41), zg1.encode(read('96LKH9')));
    expect(texts()).toEqual(['96LKH9']);
    expect(reasons()).toEqual(['line-too-long']);
    expect(sink.rejections[0]!.detail).toMatch(/line of 50\d\d bytes, longer than the dialect's 256/);
    expect(decoder.highWater).toBeLessThanOrEqual(257);
  });

  it('a megabyte without a line end never holds more than the dialect allows', () => {
    const { decoder, sink } = run('zg1');
    for (let i = 0; i < 256; i++) decoder.push(Buffer.alloc(4096, 0x30 + (i % 10)), 1, 1n);
    expect(decoder.highWater).toBeLessThanOrEqual(257);
    expect(decoder.pending).toBeLessThanOrEqual(257);
    decoder.flush('idle', 2);
    expect(sink.rejections.map((r) => r.reason)).toEqual(['truncated-frame']);
    expect(sink.rejections[0]!.detail).toMatch(/1048576 bytes without a line end before the input went quiet/);
  });

  it('a frame cut off by the start of the next is reported as truncated, the next one read', () => {
    const whole = zg1.encode(read('12ABC3'));
    const cut = whole.subarray(0, whole.length - 8);
    const { texts, reasons } = run('zg1', cut, zg1.encode(read('96LKH9')));
    expect(texts()).toEqual(['96LKH9']);
    expect(reasons()).toEqual(['truncated-frame']);
  });

  it('STX/ETX: noise between telegrams is garbage, a telegram cut by a new STX is truncated, the rest read', () => {
    const first = stx.encode(read('12ABC3'));
    const { texts, reasons } = run(
      'stx-kv-bcc',
      Buffer.from('\xff\x00noise', 'latin1'),
      first.subarray(0, 20),
      stx.encode(read('96LKH9')),
      Buffer.from([0x02, ...Buffer.alloc(300, 0x41), 0x03, 0x00]),
      first,
    );
    expect(texts()).toEqual(['96LKH9', '12ABC3']);
    expect(reasons()).toEqual(['garbage', 'truncated-frame', 'line-too-long', 'garbage']);
  });

  it('STX/ETX: a noise telegram ending in ETX does not take the next real STX as its checksum', () => {
    // Noise "STX ab ETX" is followed at once by a real telegram: the noise frame claims the real STX
    // as its BCC byte, fails, and decoding restarts at that STX.
    const noise = Buffer.from([0x02, 0x61, 0x62, 0x03]);
    const { texts } = run('stx-kv-bcc', noise, stx.encode(read('96LKH9')));
    expect(texts()).toEqual(['96LKH9']);
  });

  it('length-prefixed: a bogus header that swallows real frames fails its CRC and the frames inside are still read', () => {
    const bogus = Buffer.from([0xaa, 0x55, 0x00, 0x40, 0x41, 0x42]);
    const frames = [lp.encode(read('96LKH9')), lp.encode(read('12ABC3')), lp.encode(read('XZ99BB'))];
    const { texts, reasons, decoder } = run('sync-lp-crc32', bogus, ...frames);
    decoder.flush('closed', 2);
    expect(texts()).toEqual(['96LKH9', '12ABC3', 'XZ99BB']);
    expect(reasons()).toContain('bad-checksum');
  });

  it('length-prefixed: a length beyond the limit is bad framing, and the next frame is read', () => {
    const { texts, reasons, sink } = run(
      'sync-lp-crc32',
      Buffer.from([0xaa, 0x55, 0xff, 0xff]),
      lp.encode(read('96LKH9')),
    );
    expect(texts()).toEqual(['96LKH9']);
    expect(reasons()).toEqual(['bad-framing']);
    expect(sink.rejections[0]!.detail).toMatch(/length 65535 is outside 1–512/);
  });

  it('length-prefixed: a frame left incomplete is given up as truncated when the input goes quiet', () => {
    const f = lp.encode(read('96LKH9'));
    const { decoder, sink } = run('sync-lp-crc32', f.subarray(0, f.length - 3));
    expect(sink.rejections).toEqual([]);
    decoder.flush('idle', 2);
    expect(sink.rejections.map((r) => r.reason)).toEqual(['truncated-frame']);
    decoder.push(lp.encode(read('12ABC3')), 3, 3n);
    expect(sink.reads.map((r) => r.text)).toEqual(['12ABC3']);
  });

  it('CR LF: a lone LF is data, so a line broken by it is refused whole and the next line read', () => {
    const good = csv.encode(read('96LKH9'));
    const broken = Buffer.from(csv.encode(read('12ABC3')).toString('latin1').replace(';NL;', ';N\nL;'), 'latin1');
    const { texts, reasons } = run('csv-crlf-xor', broken, good);
    expect(texts()).toEqual(['96LKH9']);
    expect(reasons()).toEqual(['bad-checksum']);
  });

  it('a keep-alive ends a noise run: garbage is reported before the next frame, never merged across it', () => {
    const { reasons, decoder, sink } = run(
      'zg1',
      Buffer.from('noise one\n'),
      zg1.encodeHeartbeat(1)!,
      Buffer.from('noise two\n'),
    );
    decoder.flush('idle', 2);
    expect(reasons()).toEqual(['garbage', 'garbage']);
    expect(decoder.stats.heartbeats).toBe(1);
    expect(sink.rejections[1]!.sample).toBe('noise two');
  });
});
