import { spawn } from 'node:child_process';
import { chromium, type Browser } from 'playwright-core';

/** Debian's Chromium, headless, with nothing that reaches out to the network on its own. */
export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env['ZONEGATE_CHROMIUM'] ?? '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

export interface RgbImage {
  readonly width: number;
  readonly height: number;
  /** width * height * 3 bytes, row by row. */
  readonly rgb: Buffer;
}

/** Decodes a PNG (a screenshot) to raw RGB with ffmpeg, so tests can look at the pixels. */
export async function decodePng(png: Buffer): Promise<RgbImage> {
  // IHDR: width and height are the first two big-endian words after the signature and chunk header.
  const width = png.readUInt32BE(16);
  const height = png.readUInt32BE(20);
  const proc = spawn(
    'ffmpeg',
    ['-v', 'error', '-f', 'png_pipe', '-i', 'pipe:0', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'],
    {
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  const chunks: Buffer[] = [];
  let err = '';
  proc.stdout.on('data', (d: Buffer) => chunks.push(d));
  proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
  proc.stdin.end(png);
  const code = await new Promise<number | null>((r) => proc.once('close', r));
  if (code !== 0) throw new Error(`ffmpeg could not decode the PNG: ${err}`);
  const rgb = Buffer.concat(chunks);
  if (rgb.length !== width * height * 3) throw new Error(`decoded ${rgb.length} bytes for ${width}x${height}`);
  return { width, height, rgb };
}

export function pixel(img: RgbImage, x: number, y: number): [number, number, number] {
  const i = (Math.round(y) * img.width + Math.round(x)) * 3;
  return [img.rgb[i]!, img.rgb[i + 1]!, img.rgb[i + 2]!];
}
