import type { Command } from 'commander';
import { systemClock } from '../../shared/clock.js';
import { DialectCatalog, defaultDialectDirs } from '../../sources/dialect/catalog.js';
import { COMMON_BAUD_RATES, probeSerial, type ProbeAttempt, type ProbeResult } from '../../sources/probe.js';
import { UsageError } from '../main.js';
import { baudRate, serialFrame } from '../serial-frame.js';

interface ProbeSerialOptions {
  readonly baud?: string;
  readonly dialect?: string;
  readonly dialects?: string[];
  readonly listen: string;
  readonly minFrames: string;
  readonly dataBits: string;
  readonly parity: string;
  readonly stopBits: string;
  readonly all?: boolean;
  readonly json?: boolean;
}

function positiveInt(text: string, option: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0)
    throw new UsageError(`${option}: expected a positive whole number, got "${text}"`);
  return n;
}

function attemptLine(a: ProbeAttempt): string {
  const speed = `${String(a.baudRate).padStart(6)} baud`;
  if (a.error) return `${speed}: ${a.error}`;
  const received = `${a.bytes} bytes, ${Math.round(a.printable * 100)}% printable`;
  const best = a.scores[0];
  if (a.bytes === 0 || !best) return `${speed}: nothing received in ${(a.listenedMs / 1000).toFixed(1)} s`;
  const frames = best.reads + best.heartbeats;
  const rejected = Object.entries(best.rejected)
    .map(([r, n]) => `${n} ${r}`)
    .join(', ');
  return frames > 0
    ? `${speed}: ${received} — ${best.dialect}: ${best.reads} reads, ${best.heartbeats} keep-alives, ${best.rejections} refused${rejected ? ` (${rejected})` : ''}`
    : `${speed}: ${received} — no dialect decodes it`;
}

function report(result: ProbeResult, dataBits: number, parity: string, stopBits: number): string {
  const lines: string[] = [];
  const m = result.match;
  if (!m) {
    lines.push(`no match on ${result.device}`, `  ${result.advice ?? ''}`);
    return lines.join('\n');
  }
  const frame = `${dataBits}${parity[0]!.toUpperCase()}${stopBits}`;
  lines.push(`match: ${m.dialect} at ${m.baudRate} baud ${frame}`, 'evidence:');
  const s = m.score;
  lines.push(
    `  ${s.reads} reads and ${s.heartbeats} keep-alives decoded, ${s.rejections} frames refused${
      s.rejections
        ? ` (${Object.entries(s.rejected)
            .map(([r, n]) => `${n} ${r}`)
            .join(', ')})`
        : ''
    }`,
  );
  const r = s.firstRead;
  if (r)
    lines.push(
      `  first read: ${r.text} (${r.country}) confidence ${r.confidence}/1000${r.cameraTime !== undefined ? `, camera time ${new Date(r.cameraTime).toISOString()}` : ''}${r.direction ? `, ${r.direction}` : ''}`,
    );
  lines.push(`  received: ${m.sample}`);
  const others = result.attempts.find((a) => a.baudRate === m.baudRate)?.scores.slice(1) ?? [];
  const refusing = others
    .filter((o) => o.reads + o.heartbeats === 0)
    .map((o) => o.dialect)
    .sort();
  if (refusing.length) lines.push(`  the other dialects decode nothing at this speed: ${refusing.join(', ')}`);
  lines.push('in the site profile (sources[]):', `  baudRate: ${m.baudRate}`, `  dialect: ${m.dialect}`);
  if (frame !== '8N1') lines.push(`  dataBits: ${dataBits}`, `  parity: ${parity}`, `  stopBits: ${stopBits}`);
  return lines.join('\n');
}

export function registerProbe(program: Command): void {
  const probe = program.command('probe').description('find out what a device connected to the gateway speaks');
  probe
    .command('serial')
    .description(
      'listen to a serial camera at each baud rate, try every known dialect on what arrives, and report the match with its evidence',
    )
    .argument('<device>', 'serial device, e.g. /dev/ttyUSB0')
    .option('--baud <list>', `baud rates to try, in order (default ${COMMON_BAUD_RATES.join(',')})`)
    .option('--dialect <list>', 'dialects to try, comma-separated names or profile paths (default: all known)')
    .option('--dialects <dir...>', 'extra directories with dialect profiles')
    .option('--listen <ms>', 'longest listen per baud rate', '3000')
    .option('--min-frames <n>', 'frames a dialect must decode to count as a match', '2')
    .option('--data-bits <n>', '7 or 8', '8')
    .option('--parity <p>', 'none, even or odd', 'none')
    .option('--stop-bits <n>', '1 or 2', '1')
    .option('--all', 'try every baud rate, also after a match')
    .option('--json', 'print the result as one JSON object')
    .action(async (device: string, opts: ProbeSerialOptions) => {
      const baudRates = opts.baud ? opts.baud.split(',').map((b) => baudRate(b.trim())) : [...COMMON_BAUD_RATES];
      const { dataBits, parity, stopBits } = serialFrame(opts);
      const catalog = new DialectCatalog([...(opts.dialects ?? []), ...defaultDialectDirs()]);
      const names = opts.dialect ? opts.dialect.split(',').map((d) => d.trim()) : catalog.names();
      const dialects = names.map((n) => catalog.codec(n));
      const listenMs = positiveInt(opts.listen, '--listen');
      if (!opts.json)
        process.stdout.write(
          `probing ${device}: up to ${(listenMs / 1000).toFixed(1)} s at each of ${baudRates.join(', ')} baud, dialects ${dialects.map((d) => d.name).join(', ')}\n`,
        );
      const result = await probeSerial({
        device,
        baudRates,
        dialects,
        listenMs,
        minFrames: positiveInt(opts.minFrames, '--min-frames'),
        all: opts.all === true,
        dataBits,
        parity,
        stopBits,
        clock: systemClock,
        ...(opts.json ? {} : { onAttempt: (a) => process.stdout.write(`${attemptLine(a)}\n`) }),
      });
      if (opts.json) process.stdout.write(`${JSON.stringify(result)}\n`);
      else process.stdout.write(`${report(result, dataBits, parity, stopBits)}\n`);
      process.exitCode = result.match ? 0 : 1;
    });
}
