import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { z } from 'zod';

/**
 * The capture format (`zonegate capture` writes it, `zonegate replay` reads it): raw bytes exactly
 * as they arrived, with their arrival times, in a text file a technician can read and grep.
 *
 *   #zonegate-capture v1 {"device":"/dev/ttyUSB0","baudRate":9600,"startedAt":"2026-01-05T09:00:00.000Z",…}
 *   0.000 "$ZG1,2026-01-05T09:00:00.120Z,1,96LKH9,NL,943,,in,*5E0B\n"
 *   12.345 "\u0002MSG=PLATE;PLT=96LKH9\u0003c"
 *   15000.000 !closed "/dev/ttyUSB0 disappeared"
 *
 * Line 1: the magic, the version and a JSON header. Each further line: milliseconds since
 * startedAt (3 decimals), then either a JSON string holding one chunk of bytes (each byte one
 * character U+0000–U+00FF, so printable text stays readable and binary is escaped), or "!" and an
 * event (opened, closed) with a JSON string saying what happened.
 */
export const CAPTURE_MAGIC = '#zonegate-capture';
export const CAPTURE_VERSION = 'v1';

export const captureHeaderSchema = z.looseObject({
  /** Where the bytes came from: a serial device or host:port. */
  source: z.string(),
  baudRate: z.number().int().positive().optional(),
  /** The dialect the technician said the camera speaks, if known. */
  dialect: z.string().optional(),
  startedAt: z.iso.datetime({ offset: true }),
  host: z.string().optional(),
  zonegate: z.string().optional(),
});
export type CaptureHeader = z.infer<typeof captureHeaderSchema>;

export type CaptureRecord =
  | { readonly type: 'data'; readonly line: number; readonly at: number; readonly bytes: Buffer }
  | {
      readonly type: 'event';
      readonly line: number;
      readonly at: number;
      readonly event: string;
      readonly detail: string;
    }
  | { readonly type: 'bad'; readonly line: number; readonly problem: string };

/** Writes a capture file; refuses to overwrite an existing one. */
export class CaptureWriter {
  readonly #out: WriteStream;
  readonly #startedAtMs: number;
  bytes = 0;
  chunks = 0;

  constructor(
    readonly path: string,
    header: CaptureHeader,
  ) {
    this.#startedAtMs = Date.parse(header.startedAt);
    this.#out = createWriteStream(path, { flags: 'wx' });
    this.#out.write(`${CAPTURE_MAGIC} ${CAPTURE_VERSION} ${JSON.stringify(header)}\n`);
  }

  /** Resolves once the file is created (rejects when it exists or cannot be written). */
  ready(): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.#out.pending === false) resolve();
      this.#out.once('ready', () => resolve());
      this.#out.once('error', reject);
    });
  }

  data(chunk: Buffer, at: number): void {
    this.bytes += chunk.length;
    this.chunks++;
    this.#out.write(`${this.#offset(at)} ${JSON.stringify(chunk.toString('latin1'))}\n`);
  }

  event(event: 'opened' | 'closed', detail: string, at: number): void {
    this.#out.write(`${this.#offset(at)} !${event} ${JSON.stringify(detail)}\n`);
  }

  #offset(at: number): string {
    return Math.max(0, at - this.#startedAtMs).toFixed(3);
  }

  close(): Promise<void> {
    return new Promise((resolve, reject) => this.#out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  }
}

/** Whether a file is a capture (else it is taken as plain dialect bytes). */
export async function isCaptureFile(path: string): Promise<boolean> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(CAPTURE_MAGIC.length);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    return bytesRead === buf.length && buf.toString('latin1') === CAPTURE_MAGIC;
  } finally {
    await fh.close();
  }
}

const RECORD = /^(\d+(?:\.\d+)?) (?:(".*")|!([a-z-]+) (".*"))$/;

/** Parses a capture file: the header, then its records in order; bad lines come back as `bad`, not thrown. */
export async function readCapture(path: string): Promise<{
  header: CaptureHeader;
  startedAtMs: number;
  records: AsyncGenerator<CaptureRecord>;
  close: () => void;
}> {
  const input = createReadStream(path, { encoding: 'utf8' });
  const lines = createInterface({ input, crlfDelay: Infinity });
  const close = (): void => {
    lines.close();
    input.destroy();
  };
  const it = lines[Symbol.asyncIterator]();
  const first = await it.next();
  const headerLine = first.done ? '' : first.value;
  const m = /^#zonegate-capture (v\d+) (\{.*\})$/.exec(headerLine);
  const fail = (problem: string): never => {
    close();
    throw new CaptureFormatError(path, 1, problem);
  };
  if (!m) fail(`expected "${CAPTURE_MAGIC} ${CAPTURE_VERSION} {…}" on the first line`);
  if (m![1] !== CAPTURE_VERSION)
    fail(`capture version ${m![1]} is not supported (this zonegate reads ${CAPTURE_VERSION})`);
  let json: unknown;
  try {
    json = JSON.parse(m![2]!);
  } catch {
    fail('the header is not JSON');
  }
  const parsed = captureHeaderSchema.safeParse(json);
  if (!parsed.success)
    fail(`header: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`).join('; ')}`);
  const header = parsed.data!;
  const startedAtMs = Date.parse(header.startedAt);
  async function* records(): AsyncGenerator<CaptureRecord> {
    let line = 1;
    for (;;) {
      const next = await it.next();
      if (next.done) return;
      line++;
      const text = next.value;
      if (text === '') continue;
      const r = RECORD.exec(text);
      if (!r) {
        yield { type: 'bad', line, problem: 'not "<ms> \\"bytes\\"" nor "<ms> !event \\"detail\\""' };
        continue;
      }
      const at = startedAtMs + Number(r[1]);
      let s: unknown;
      try {
        s = JSON.parse(r[2] ?? r[4]!);
      } catch {
        yield { type: 'bad', line, problem: 'the quoted part is not a JSON string' };
        continue;
      }
      if (typeof s !== 'string') {
        yield { type: 'bad', line, problem: 'the quoted part is not a JSON string' };
        continue;
      }
      if (r[3] !== undefined) {
        yield { type: 'event', line, at, event: r[3], detail: s };
        continue;
      }
      if (!isByteString(s)) {
        yield { type: 'bad', line, problem: 'a character beyond U+00FF (bytes are one character each)' };
        continue;
      }
      yield { type: 'data', line, at, bytes: Buffer.from(s, 'latin1') };
    }
  }
  return { header, startedAtMs, records: records(), close };
}

function isByteString(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0xff) return false;
  return true;
}

export class CaptureFormatError extends Error {
  override name = 'CaptureFormatError';
  constructor(
    readonly file: string,
    readonly line: number,
    readonly problem: string,
  ) {
    super(`${file}, line ${line}: ${problem}`);
  }
}
