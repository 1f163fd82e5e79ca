import { spawn, type ChildProcess } from 'node:child_process';
import type { RgbFrame } from './image.js';

/**
 * ffmpeg, wrapped once: decodes any input it can open (an RTSP stream, a video file, a still
 * image) to packed RGB frames on a pipe, at a given rate, cut to a region of interest and scaled
 * down to a maximum width. Frames are parsed from the pipe by size; the size is learned from
 * ffmpeg's own description of its output stream.
 */
export interface FfmpegFramesOptions {
  readonly input: string;
  /** Frames per second to deliver (ffmpeg's fps filter); all frames when undefined. */
  readonly fps?: number;
  readonly roi?: { readonly x: number; readonly y: number; readonly w: number; readonly h: number };
  /** Frames wider than this are scaled down (aspect kept). */
  readonly maxWidth?: number;
  /** Stop after this many frames. */
  readonly maxFrames?: number;
  /** RTSP transport; ignored for other inputs. */
  readonly rtspTransport?: 'tcp' | 'udp';
  /** Socket timeout for network inputs, so a dead server ends the process instead of hanging it. */
  readonly ioTimeoutMs?: number;
  readonly ffmpegPath?: string;
}

export interface FfmpegFramesEvents {
  onFrame(frame: RgbFrame): void;
  /** ffmpeg ended: code 0 at the end of the input, else a failure whose last log lines are in `detail`. */
  onExit(code: number | null, signal: NodeJS.Signals | null, detail: string): void;
}

export function ffmpegArgs(o: FfmpegFramesOptions): string[] {
  const args = ['-hide_banner', '-nostdin', '-loglevel', 'info'];
  if (/^rtsps?:\/\//i.test(o.input)) {
    args.push('-rtsp_transport', o.rtspTransport ?? 'tcp');
    if (o.ioTimeoutMs) args.push('-timeout', String(o.ioTimeoutMs * 1000));
  }
  args.push('-i', o.input, '-an', '-sn', '-dn');
  const filters: string[] = [];
  if (o.fps !== undefined) filters.push(`fps=${o.fps}`);
  if (o.roi) filters.push(`crop=${o.roi.w}:${o.roi.h}:${o.roi.x}:${o.roi.y}`);
  // Even sizes: the localiser works on a half-resolution copy.
  const maxW = o.maxWidth ?? 1280;
  filters.push(`scale='trunc(min(${maxW},iw)/2)*2':-2`);
  args.push('-vf', filters.join(','));
  if (o.maxFrames !== undefined) args.push('-frames:v', String(o.maxFrames));
  args.push('-pix_fmt', 'rgb24', '-f', 'rawvideo', 'pipe:1');
  return args;
}

const OUTPUT_SIZE = /Output #0[\s\S]*?Stream #0:\d+.*?: Video: rawvideo[^\n]*?, (\d{2,5})x(\d{2,5})/;

/** Runs one ffmpeg process; returns it so the caller can kill it. */
export function runFfmpegFrames(o: FfmpegFramesOptions, events: FfmpegFramesEvents): ChildProcess {
  const child = spawn(o.ffmpegPath ?? 'ffmpeg', ffmpegArgs(o), { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  let width = 0;
  let height = 0;
  let frameBytes = 0;
  let chunks: Buffer[] = [];
  let have = 0;
  const early: Buffer[] = [];
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (s: string) => {
    log = (log + s).slice(-8_000);
    if (!frameBytes) {
      const m = OUTPUT_SIZE.exec(log);
      if (m) {
        width = Number(m[1]);
        height = Number(m[2]);
        frameBytes = width * height * 3;
        for (const b of early.splice(0)) take(b);
      }
    }
  });
  const take = (buf: Buffer): void => {
    chunks.push(buf);
    have += buf.length;
    while (have >= frameBytes) {
      const all = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, have);
      // Each frame gets its own buffer: it is transferred to the inference thread.
      const data = new Uint8Array(frameBytes);
      data.set(all.subarray(0, frameBytes));
      const rest = all.subarray(frameBytes);
      chunks = rest.length ? [rest] : [];
      have = rest.length;
      events.onFrame({ width, height, data });
    }
  };
  child.stdout!.on('data', (buf: Buffer) => (frameBytes ? take(buf) : early.push(buf)));
  let exited = false;
  const finish = (code: number | null, signal: NodeJS.Signals | null): void => {
    if (exited) return;
    exited = true;
    const detail = log
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !/^(frame=|size=|Stream mapping|Press \[q\])/.test(l))
      .slice(-3)
      .join(' | ');
    events.onExit(code, signal, detail);
  };
  child.on('error', (err) => {
    log += `\n${err.message}`;
    finish(null, null);
  });
  child.on('close', (code, signal) => finish(code, signal));
  return child;
}

/** All frames of a file (image or video), for the CLI and evaluation; rejects with ffmpeg's reason. */
export async function readFrames(
  input: string,
  options: Omit<FfmpegFramesOptions, 'input'> = {},
  onFrame?: (frame: RgbFrame, index: number) => void | Promise<void>,
): Promise<number> {
  let n = 0;
  let chain = Promise.resolve();
  const [code, detail] = await new Promise<[number | null, string]>((resolve) => {
    runFfmpegFrames(
      { ...options, input },
      {
        onFrame(frame) {
          const i = n++;
          if (onFrame) chain = chain.then(() => onFrame(frame, i));
        },
        onExit(c, _s, d) {
          resolve([c, d]);
        },
      },
    );
  });
  await chain;
  if (code !== 0 || n === 0)
    throw new FrameInputError(input, code === 0 ? 'no video frame in it' : detail || `ffmpeg exit ${code}`);
  return n;
}

/** An input that ffmpeg cannot decode to frames: names the file and ffmpeg's reason. */
export class FrameInputError extends Error {
  override name = 'FrameInputError';
  constructor(
    readonly input: string,
    readonly reason: string,
  ) {
    super(`${input}: not a readable image or video (${reason})`);
  }
}
