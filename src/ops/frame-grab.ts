import { spawn } from 'node:child_process';

export interface GrabbedFrame {
  readonly jpeg: Buffer;
  readonly width: number;
  readonly height: number;
}

/** Width and height from a JPEG's start-of-frame marker; undefined if there is none. */
export function jpegSize(jpeg: Uint8Array): { width: number; height: number } | undefined {
  const b = Buffer.from(jpeg.buffer, jpeg.byteOffset, jpeg.byteLength);
  if (b.length < 4 || b[0] !== 0xff || b[1] !== 0xd8) return undefined;
  let i = 2;
  while (i + 9 < b.length) {
    if (b[i] !== 0xff) return undefined;
    const marker = b[i + 1]!;
    if (marker === 0xff) {
      i++;
      continue;
    }
    const len = b.readUInt16BE(i + 2);
    // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC).
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      return { height: b.readUInt16BE(i + 5), width: b.readUInt16BE(i + 7) };
    }
    i += 2 + len;
  }
  return undefined;
}

/** A camera URL fit to show or write down: the user and password of `rtsp://user:pw@host` hidden. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}

/**
 * One frame from a camera URL (rtsp://…, or a file or device ffmpeg can open) as JPEG, for the
 * technician to see what the camera sees. RTSP goes over TCP: street cabinets sit behind NAT and
 * firewalls that drop the UDP media ports. The error names the URL and ffmpeg's own reason.
 */
export async function grabFrame(
  input: string,
  options: { timeoutMs?: number; ffmpeg?: string } = {},
): Promise<GrabbedFrame> {
  const timeoutMs = options.timeoutMs ?? 15_000;
  const rtsp = /^rtsps?:\/\//i.test(input);
  const args = [
    '-nostdin',
    '-hide_banner',
    '-loglevel',
    'error',
    ...(rtsp ? ['-rtsp_transport', 'tcp', '-timeout', String(Math.min(timeoutMs, 10_000) * 1000)] : []),
    '-i',
    input,
    '-frames:v',
    '1',
    '-an',
    '-f',
    'image2pipe',
    '-c:v',
    'mjpeg',
    '-q:v',
    '3',
    'pipe:1',
  ];
  const proc = spawn(options.ffmpeg ?? 'ffmpeg', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const chunks: Buffer[] = [];
  let stderr = '';
  proc.stdout.on('data', (d: Buffer) => chunks.push(d));
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
    proc.once('error', (err) => reject(new Error(`cannot run ffmpeg: ${err.message}`)));
    proc.once('close', (c, s) => resolve([c, s]));
  }).finally(() => clearTimeout(timer));
  const safeUrl = redactUrl(input);
  if (signal) throw new Error(`no frame from ${safeUrl} within ${timeoutMs} ms`);
  const jpeg = Buffer.concat(chunks);
  const size = jpegSize(jpeg);
  if (code !== 0 || !size) {
    const why = stderr.trim().split('\n').pop() || `ffmpeg exited ${code}`;
    throw new Error(`no frame from ${safeUrl}: ${why}`);
  }
  return { jpeg, ...size };
}
