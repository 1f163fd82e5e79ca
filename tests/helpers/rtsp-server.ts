import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { repoRoot } from './cli.js';
import { freePort } from './mosquitto.js';

/** The real clips, read from ../shared beside the repository; tests skip when the folder is absent. */
export const realClipsDir = join(repoRoot, '..', 'shared', 'data', 'real-nl-clips');
export const haveRealClips = existsSync(join(realClipsDir, 'clips.csv'));

/** Ground truth from clips.csv: file → plates (canonical, without dashes). */
export function realClipPlates(): Map<string, string[]> {
  const out = new Map<string, string[]>();
  if (!haveRealClips) return out;
  const text = readFileSync(join(realClipsDir, 'clips.csv'), 'utf8');
  for (const line of text.trim().split('\n').slice(1)) {
    const [file, plates] = line.split(',');
    if (file && plates)
      out.set(
        file,
        plates.split('|').map((p) => p.replace(/-/g, '')),
      );
  }
  return out;
}

const script = fileURLToPath(new URL('./rtsp_server.py', import.meta.url));

/**
 * A real RTSP server (GStreamer's gst-rtsp-server through python3-gi) on a free loopback port,
 * streaming one clip looped `loops` times (ffmpeg -stream_loop, no re-encoding) at its own
 * frame rate. `stop()` then `start()` restarts it on the same port, for reconnect tests.
 */
export class RtspServer {
  readonly dir = mkdtempSync(join(tmpdir(), 'zg-rtsp-'));
  port = 0;
  #proc: ChildProcess | undefined;
  #file: string;
  log = '';

  constructor(clip: string, loops = 20) {
    this.#file = join(this.dir, 'stream.avi');
    const r = spawnSync(
      'ffmpeg',
      ['-loglevel', 'error', '-y', '-stream_loop', String(loops), '-i', clip, '-c', 'copy', this.#file],
      {
        encoding: 'utf8',
      },
    );
    if (r.status !== 0) throw new Error(`cannot prepare ${clip} for streaming: ${r.stderr}`);
  }

  get url(): string {
    return `rtsp://127.0.0.1:${this.port}/cam`;
  }

  async start(): Promise<void> {
    if (!this.port) this.port = await freePort();
    const proc = spawn('/usr/bin/python3', [script, String(this.port), this.#file], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#proc = proc;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`rtsp server did not start: ${this.log}`)), 20_000);
      proc.stdout!.on('data', (d: Buffer) => {
        this.log += d.toString();
        if (this.log.includes('ready')) {
          clearTimeout(timer);
          resolve();
        }
      });
      proc.stderr!.on('data', (d: Buffer) => (this.log += d.toString()));
      proc.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`rtsp server exited (${code}): ${this.log}`));
      });
    });
  }

  async stop(): Promise<void> {
    const proc = this.#proc;
    this.#proc = undefined;
    if (!proc || proc.exitCode !== null) return;
    const closed = new Promise<void>((resolve) => proc.once('close', () => resolve()));
    proc.kill('SIGKILL');
    await closed;
  }

  async remove(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
