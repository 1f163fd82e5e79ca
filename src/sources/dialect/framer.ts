import { decodeLength } from './codec.js';
import type { Framing } from './profile.js';

/**
 * Cuts a byte stream into frames. Every framer holds at most a fixed number of bytes whatever
 * arrives (a camera stuck sending noise must not grow the gateway's memory), and hands on what it
 * had to drop with a reason, so nothing disappears uncounted.
 */
export interface FrameHandler {
  /**
   * A complete frame: `payload` without framing bytes, `trailer` the bytes after the end marker.
   * Both are views valid only during the call. `quiet`: the bytes were already reported (the tail
   * of an over-long line, a candidate while resynchronising): deliver a frame that decodes, but
   * report nothing when it does not. Returns whether it decoded; length-prefixed framing
   * resynchronises when it did not.
   */
  frame(payload: Buffer, trailer: Buffer | undefined, quiet: boolean): boolean;
  /** Bytes that are not (part of) a frame. `sample` is a view of the first of them. */
  junk(
    reason: 'garbage' | 'line-too-long' | 'truncated-frame' | 'bad-framing',
    bytes: number,
    sample: Buffer,
    detail: string,
  ): void;
}

export interface Framer {
  push(chunk: Buffer): void;
  /** Drops a partial frame (stream idle or closed), reporting it as truncated. */
  flush(why: 'idle' | 'closed'): void;
  /** Bytes held for an incomplete frame right now. */
  readonly buffered: number;
  /** The most bytes ever held (shows the bound holds under load). */
  readonly highWater: number;
}

export function createFramer(framing: Framing, trailerBytes: number, handler: FrameHandler): Framer {
  switch (framing.type) {
    case 'newline':
    case 'crlf':
      return new LineFramer(framing.type, framing.maxFrameBytes, handler);
    case 'stx-etx':
      return new StxEtxFramer(framing.stx, framing.etx, framing.maxFrameBytes, trailerBytes, handler);
    case 'length-prefixed':
      return new LengthPrefixedFramer(framing, trailerBytes, handler);
  }
}

const LF = 0x0a;
const CR = 0x0d;

/** newline / crlf. An over-long line keeps only its last maxFrameBytes, so a valid frame at its end survives. */
class LineFramer implements Framer {
  readonly #buf: Buffer;
  #len = 0;
  /** Bytes dropped from the front of the current line. */
  #dropped = 0;
  highWater = 0;

  constructor(
    private readonly type: 'newline' | 'crlf',
    private readonly max: number,
    private readonly handler: FrameHandler,
  ) {
    // One spare byte holds the CR of a CR LF split across chunks.
    this.#buf = Buffer.alloc(max + 1);
  }

  get buffered(): number {
    return this.#len;
  }

  push(chunk: Buffer): void {
    let pos = 0;
    while (pos < chunk.length) {
      const nl = chunk.indexOf(LF, pos);
      if (nl < 0) {
        this.#append(chunk, pos, chunk.length);
        return;
      }
      if (this.type === 'crlf') {
        const crBefore = nl > pos ? chunk[nl - 1] === CR : this.#len > 0 && this.#buf[this.#len - 1] === CR;
        if (!crBefore) {
          // A lone LF is data in a CR LF dialect (noise, or a field that contains one).
          this.#append(chunk, pos, nl + 1);
          pos = nl + 1;
          continue;
        }
      }
      this.#append(chunk, pos, nl);
      this.#complete();
      pos = nl + 1;
    }
  }

  #append(chunk: Buffer, from: number, to: number): void {
    const n = to - from;
    if (n <= 0) return;
    const cap = this.max + 1;
    if (this.#len + n <= cap) {
      chunk.copy(this.#buf, this.#len, from, to);
      this.#len += n;
    } else if (n >= cap) {
      this.#dropped += this.#len + n - cap;
      chunk.copy(this.#buf, 0, to - cap, to);
      this.#len = cap;
    } else {
      const shift = this.#len + n - cap;
      this.#buf.copyWithin(0, shift, this.#len);
      this.#dropped += shift;
      this.#len -= shift;
      chunk.copy(this.#buf, this.#len, from, to);
      this.#len += n;
    }
    if (this.#len > this.highWater) this.highWater = this.#len;
  }

  #complete(): void {
    let end = this.#len;
    if (end > 0 && this.#buf[end - 1] === CR) end--;
    const dropped = this.#dropped;
    this.#len = 0;
    this.#dropped = 0;
    const total = dropped + end;
    const clipped = total > this.max;
    if (end > this.max) {
      this.#buf.copyWithin(0, end - this.max, end);
      end = this.max;
    }
    if (clipped) {
      this.handler.junk(
        'line-too-long',
        total,
        this.#buf.subarray(0, Math.min(end, 40)),
        `line of ${total} bytes, longer than the dialect's ${this.max}`,
      );
    }
    if (end === 0) return;
    this.handler.frame(this.#buf.subarray(0, end), undefined, clipped);
  }

  flush(why: 'idle' | 'closed'): void {
    if (this.#len === 0) return;
    const n = this.#len + this.#dropped;
    this.handler.junk(
      'truncated-frame',
      n,
      this.#buf.subarray(0, Math.min(this.#len, 40)),
      `${n} bytes without a line end before the ${why === 'idle' ? 'input went quiet' : 'connection closed'}`,
    );
    this.#len = 0;
    this.#dropped = 0;
  }
}

/** STX payload ETX [trailer]. Bytes outside a frame are noise; a new STX inside a frame truncates it. */
class StxEtxFramer implements Framer {
  readonly #buf: Buffer;
  #len = 0;
  #state: 'idle' | 'frame' | 'overflow' | 'trailer' = 'idle';
  #overflowBytes = 0;
  readonly #trailer: Buffer;
  #trailerLen = 0;
  /** Noise run outside frames, reported in one piece. */
  #noise = 0;
  readonly #noiseSample = Buffer.alloc(40);
  highWater = 0;

  constructor(
    private readonly stx: number,
    private readonly etx: number,
    private readonly max: number,
    trailerBytes: number,
    private readonly handler: FrameHandler,
  ) {
    this.#buf = Buffer.alloc(max);
    this.#trailer = Buffer.alloc(trailerBytes);
  }

  get buffered(): number {
    return this.#len + this.#trailerLen;
  }

  push(chunk: Buffer): void {
    const { stx, etx } = this;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      switch (this.#state) {
        case 'idle':
          if (b === stx) this.#begin();
          else {
            if (this.#noise < this.#noiseSample.length) this.#noiseSample[this.#noise] = b;
            this.#noise++;
          }
          break;
        case 'frame':
          if (b === etx) {
            if (this.#trailer.length > 0) {
              this.#state = 'trailer';
              this.#trailerLen = 0;
            } else this.#emit();
          } else if (b === stx) {
            this.handler.junk(
              'truncated-frame',
              this.#len + 1,
              this.#buf.subarray(0, Math.min(this.#len, 40)),
              `frame of ${this.#len} bytes cut off by a new STX before its ETX`,
            );
            this.#begin();
          } else if (this.#len < this.max) {
            this.#buf[this.#len++] = b;
            if (this.#len > this.highWater) this.highWater = this.#len;
          } else {
            this.#state = 'overflow';
            this.#overflowBytes = this.#len + 1;
          }
          break;
        case 'overflow':
          if (b === etx || b === stx) {
            this.handler.junk(
              'line-too-long',
              this.#overflowBytes,
              this.#buf.subarray(0, 40),
              `frame of ${this.#overflowBytes}+ bytes, longer than the dialect's ${this.max}`,
            );
            this.#len = 0;
            if (b === stx) this.#begin();
            else this.#state = 'idle';
          } else this.#overflowBytes++;
          break;
        case 'trailer':
          this.#trailer[this.#trailerLen++] = b;
          if (this.#trailerLen === this.#trailer.length) this.#emit();
          break;
      }
    }
    // A run of noise is reported when it ends or at the end of each chunk, whichever is first.
    this.#reportNoise();
  }

  #begin(): void {
    this.#reportNoise();
    this.#state = 'frame';
    this.#len = 0;
  }

  #emit(): void {
    this.#state = 'idle';
    const n = this.#len;
    this.#len = 0;
    this.#trailerLen = 0;
    const trailer = this.#trailer.length > 0 ? this.#trailer : undefined;
    const ok = this.handler.frame(this.#buf.subarray(0, n), trailer, false);
    // A frame of noise that happened to end in ETX takes the next bytes as its checksum, and those
    // may be the STX of a real frame: when the checksum fails, the real frame starts there.
    const at = !ok && trailer ? trailer.indexOf(this.stx) : -1;
    if (at >= 0) {
      const rest = Buffer.from(trailer!.subarray(at + 1));
      this.#begin();
      this.#replay(rest);
    }
  }

  /** Feeds bytes already received back through the state machine (after a resynchronisation). */
  #replay(bytes: Buffer): void {
    if (bytes.length > 0) this.push(bytes);
  }

  #reportNoise(): void {
    if (this.#noise === 0) return;
    const n = this.#noise;
    this.#noise = 0;
    this.handler.junk(
      'garbage',
      n,
      this.#noiseSample.subarray(0, Math.min(n, this.#noiseSample.length)),
      `${n} bytes outside STX…ETX frames`,
    );
  }

  flush(why: 'idle' | 'closed'): void {
    this.#reportNoise();
    if (this.#state === 'idle') return;
    const n = this.#state === 'overflow' ? this.#overflowBytes : this.#len + this.#trailerLen;
    this.handler.junk(
      'truncated-frame',
      n,
      this.#buf.subarray(0, Math.min(this.#len, 40)),
      `frame of ${n} bytes without ${this.#state === 'trailer' ? 'its checksum' : 'ETX'} before the ${why === 'idle' ? 'input went quiet' : 'connection closed'}`,
    );
    this.#state = 'idle';
    this.#len = 0;
    this.#trailerLen = 0;
  }
}

/**
 * [magic] length payload [trailer]. A frame that does not decode is not trusted to have had a
 * true length: the search for the next magic starts one byte after the bad one, so frames the
 * bad length swallowed are still found.
 */
class LengthPrefixedFramer implements Framer {
  readonly #buf: Buffer;
  #len = 0;
  readonly #magic: Buffer;
  readonly #headerBytes: number;
  readonly #max: number;
  /** After a failure without magic, candidates are tried quietly until one decodes. */
  #hunting = false;
  /** Bytes at the front that belong to a frame already reported as bad: skipping them is not new noise. */
  #shadow = 0;
  highWater = 0;

  constructor(
    private readonly framing: Extract<Framing, { type: 'length-prefixed' }>,
    private readonly trailerBytes: number,
    private readonly handler: FrameHandler,
  ) {
    this.#magic = framing.magic ? Buffer.from(framing.magic, 'hex') : Buffer.alloc(0);
    this.#headerBytes = this.#magic.length + framing.length.bytes;
    this.#max = framing.maxFrameBytes;
    this.#buf = Buffer.alloc(this.#headerBytes + this.#max + trailerBytes);
  }

  get buffered(): number {
    return this.#len;
  }

  push(chunk: Buffer): void {
    let pos = 0;
    while (pos < chunk.length) {
      const n = Math.min(chunk.length - pos, this.#buf.length - this.#len);
      chunk.copy(this.#buf, this.#len, pos, pos + n);
      this.#len += n;
      pos += n;
      if (this.#len > this.highWater) this.highWater = this.#len;
      this.#process(false);
    }
  }

  #shift(n: number): void {
    this.#buf.copyWithin(0, n, this.#len);
    this.#len -= n;
    this.#shadow = Math.max(0, this.#shadow - n);
  }

  #garbage(n: number, detail: string): void {
    if (n <= 0) return;
    const fresh = n - Math.min(n, this.#shadow);
    if (fresh > 0)
      this.handler.junk('garbage', fresh, this.#buf.subarray(n - fresh, n - fresh + Math.min(fresh, 40)), detail);
    this.#shift(n);
  }

  /** Decodes every complete frame held; with `force`, an incomplete one is given up. */
  #process(force: boolean): void {
    const magic = this.#magic;
    for (;;) {
      if (magic.length > 0) {
        const at = this.#buf.subarray(0, this.#len).indexOf(magic);
        if (at < 0) {
          const keep = force ? 0 : Math.min(this.#len, magic.length - 1);
          this.#garbage(this.#len - keep, `${this.#len - keep} bytes without the frame magic ${this.framing.magic}`);
          return;
        }
        this.#garbage(at, `${at} bytes before the frame magic ${this.framing.magic}`);
      }
      if (this.#len < this.#headerBytes) {
        if (force && this.#len > 0) this.#truncated(this.#len, 'an incomplete header');
        return;
      }
      const lenField = this.#buf.subarray(magic.length, this.#headerBytes);
      const length = decodeLength(lenField, this.framing.length);
      if (length === undefined || length === 0 || length > this.#max) {
        if (!this.#hunting && this.#shadow === 0)
          this.handler.junk(
            'bad-framing',
            this.#headerBytes,
            this.#buf.subarray(0, this.#headerBytes),
            length === undefined
              ? `length field "${lenField.toString('latin1')}" is not a number`
              : `length ${length} is outside 1–${this.#max}`,
          );
        this.#hunting = magic.length === 0;
        this.#shadow = Math.max(this.#shadow, this.#headerBytes);
        this.#skipOne();
        continue;
      }
      const total = this.#headerBytes + length + this.trailerBytes;
      if (this.#len < total) {
        if (!force) return;
        if (this.#shadow === 0) this.#truncated(this.#len, `${total - this.#len} of its ${total} bytes missing`);
        this.#shadow = Math.max(this.#shadow, this.#len);
        this.#skipOne();
        continue;
      }
      const ok = this.handler.frame(
        this.#buf.subarray(this.#headerBytes, this.#headerBytes + length),
        this.trailerBytes > 0 ? this.#buf.subarray(this.#headerBytes + length, total) : undefined,
        this.#hunting || this.#shadow > 0,
      );
      if (ok) {
        this.#hunting = false;
        this.#shift(total);
      } else {
        this.#hunting = magic.length === 0;
        this.#shadow = Math.max(this.#shadow, total);
        this.#skipOne();
      }
    }
  }

  #truncated(n: number, why: string): void {
    this.handler.junk('truncated-frame', n, this.#buf.subarray(0, Math.min(n, 40)), `frame with ${why}`);
  }

  /** Gives up the frame start at offset 0; without magic the skipped byte is noise. */
  #skipOne(): void {
    if (this.#magic.length === 0) this.#garbage(1, 'bytes skipped while resynchronising on the length field');
    else this.#shift(1);
  }

  flush(_why: 'idle' | 'closed'): void {
    if (this.#len === 0) return;
    this.#process(true);
    this.#hunting = false;
    this.#shadow = 0;
  }
}
