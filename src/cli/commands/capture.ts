import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { zonegateVersion } from '../../ops/observability.js';
import { systemClock } from '../../shared/clock.js';
import { createLogger } from '../../shared/log.js';
import { CaptureWriter } from '../../sources/capture.js';
import { DialectCatalog, defaultDialectDirs } from '../../sources/dialect/catalog.js';
import { SerialLink } from '../../sources/links/serial-link.js';
import { TcpClientLink } from '../../sources/links/tcp-link.js';
import type { LinkEvents } from '../../sources/links/types.js';
import { StreamDecoder } from '../../sources/stream-decoder.js';
import { UsageError } from '../main.js';
import { baudRate as parseBaudRate, serialFrame } from '../serial-frame.js';

interface CaptureOptions {
  readonly baud: string;
  readonly out?: string;
  readonly seconds?: string;
  readonly maxBytes?: string;
  readonly dialect?: string;
  readonly dialects?: string[];
  readonly wait?: boolean;
  readonly dataBits: string;
  readonly parity: string;
  readonly stopBits: string;
}

function positive(text: string, option: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${option}: expected a positive number, got "${text}"`);
  return n;
}

export function registerCapture(program: Command): void {
  program
    .command('capture')
    .description(
      'record what a camera sends, byte for byte with arrival times, for replay and for writing a dialect profile (format: docs/camera-input.md)',
    )
    .argument('<device>', 'serial device (/dev/ttyUSB0) or tcp://HOST:PORT of a camera that listens')
    .option('--baud <n>', 'serial line speed', '9600')
    .option('--out <file>', 'capture file (default capture-<device>-<time>.zgcap; never overwritten)')
    .option('--seconds <n>', 'stop after this long (default: Ctrl-C)')
    .option('--max-bytes <n>', 'stop after this many bytes')
    .option('--dialect <name>', 'decode while recording, show reads and refusals, and note the dialect in the file')
    .option('--dialects <dir...>', 'extra directories with dialect profiles')
    .option('--wait', 'wait for the device to appear instead of failing')
    .option('--data-bits <n>', '7 or 8', '8')
    .option('--parity <p>', 'none, even or odd', 'none')
    .option('--stop-bits <n>', '1 or 2', '1')
    .action(async (device: string, opts: CaptureOptions) => {
      const clock = systemClock;
      const tcp = /^tcp:\/\/([^:/]+):(\d+)$/.exec(device);
      const baudRate = parseBaudRate(opts.baud);
      const seconds = opts.seconds !== undefined ? positive(opts.seconds, '--seconds') : undefined;
      const maxBytes = opts.maxBytes !== undefined ? positive(opts.maxBytes, '--max-bytes') : undefined;
      const { dataBits, parity, stopBits } = serialFrame(opts);
      const codec = opts.dialect
        ? new DialectCatalog([...(opts.dialects ?? []), ...defaultDialectDirs()]).codec(opts.dialect)
        : undefined;
      if (!tcp && !opts.wait && !existsSync(device)) {
        process.stderr.write(`zonegate: ${device} is not there (unplugged, or a wrong name); --wait waits for it\n`);
        process.exitCode = 1;
        return;
      }
      const startedAt = new Date(clock.now()).toISOString();
      const out =
        opts.out ??
        `capture-${device.replace(/^.*\//, '').replace(/[^A-Za-z0-9.-]+/g, '_')}-${startedAt.replace(/[:.]/g, '').slice(0, 15)}.zgcap`;
      const writer = new CaptureWriter(out, {
        source: device,
        ...(tcp ? {} : { baudRate }),
        ...(codec ? { dialect: codec.name } : {}),
        startedAt,
        host: hostname(),
        zonegate: zonegateVersion(),
      });
      try {
        await writer.ready();
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        throw new UsageError(
          code === 'EEXIST' ? `${out} exists; give another --out` : `cannot write ${out}: ${(err as Error).message}`,
        );
      }
      const log = createLogger({ toStderr: true, level: process.env['ZONEGATE_LOG_LEVEL'] ?? 'warn' });
      const decoder = codec
        ? new StreamDecoder({
            codec,
            sourceId: 'capture',
            lane: 'capture',
            sink: {
              read: (r) =>
                process.stderr.write(
                  `read ${r.text} (${r.country}) ${r.confidence}/1000${r.cameraTime !== undefined ? ` camera ${new Date(r.cameraTime).toISOString()}` : ''}\n`,
                ),
              reject: (r) => process.stderr.write(`refused ${r.reason}: ${r.detail}\n`),
            },
          })
        : undefined;
      let opened = false;
      let stopping = false;
      let finish: (why: string) => void = () => undefined;
      const finished = new Promise<string>((resolve) => (finish = resolve));
      const events: LinkEvents = {
        opened: (_stream, detail) => {
          opened = true;
          writer.event('opened', detail, clock.now());
          process.stderr.write(`recording ${device} to ${out} (Ctrl-C to stop)\n`);
        },
        data: (_stream, chunk, at, hr) => {
          writer.data(chunk, at);
          decoder?.push(chunk, at, hr);
          if (maxBytes !== undefined && writer.bytes >= maxBytes) finish(`${maxBytes} bytes recorded`);
        },
        closed: (_stream, detail) => {
          writer.event('closed', stopping ? `capture stopped (${detail})` : detail, clock.now());
          decoder?.flush('closed', clock.now());
          if (!stopping) process.stderr.write(`${detail}; still recording, waiting for it to come back\n`);
        },
        retrying: (detail) => {
          if (!opened && !opts.wait) finish(`error: ${detail}`);
          else if (!opened) process.stderr.write(`waiting: ${detail}\n`);
        },
      };
      const link = tcp
        ? new TcpClientLink({ host: tcp[1]!, port: Number(tcp[2]), clock, log, events })
        : new SerialLink({
            device,
            baudRate,
            dataBits,
            parity,
            stopBits,
            clock,
            log,
            events,
          });
      const onSignal = (): void => finish('stopped');
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      // The serial port keeps the process alive while open; this keeps it alive while it waits for one.
      const keepAlive = setInterval(() => undefined, 60_000);
      const timer =
        seconds !== undefined ? setTimeout(() => finish(`${seconds} s recorded`), seconds * 1000) : undefined;
      const started = clock.now();
      try {
        await link.start();
        const why = await finished;
        stopping = true;
        await link.stop();
        decoder?.flush('closed', clock.now());
        await writer.close();
        const took = ((clock.now() - started) / 1000).toFixed(1);
        const decoded = decoder
          ? `; ${decoder.stats.reads} reads, ${Object.values(decoder.stats.rejected).reduce((a, b) => a + b, 0)} refused`
          : '';
        process.stderr.write(
          `${why}: ${writer.bytes} bytes in ${writer.chunks} chunks over ${took} s to ${out}${decoded}\n`,
        );
        if (why.startsWith('error: ')) process.exitCode = 1;
      } finally {
        clearInterval(keepAlive);
        if (timer) clearTimeout(timer);
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
}
