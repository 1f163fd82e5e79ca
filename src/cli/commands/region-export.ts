import { createWriteStream, openSync, type WriteStream } from 'node:fs';
import type { Command } from 'commander';
import pg from 'pg';
import { Registry } from 'prom-client';
import { createPlateHasher, readHashSecret, type HashRotation, type PlateHasher } from '../../journal/privacy.js';
import { exportPassages } from '../../region/export.js';
import { createLogger } from '../../shared/log.js';
import { UsageError } from '../main.js';
import { regionCommand } from './region-group.js';

interface ExportOptions {
  pg?: string;
  endpoint?: string;
  out?: string;
  since?: string;
  header: string[];
  violations?: boolean;
  hashSecret?: string;
  rotation: string;
  again?: boolean;
  concurrency: string;
}

/**
 * The zone's hasher from the secret the gateways share. The file must exist: a new random secret
 * (what a gateway makes for itself) would give hashes that match none of theirs.
 */
function zoneHasher(file: string, rotation: HashRotation): PlateHasher {
  let secret: Buffer;
  try {
    secret = readHashSecret(file);
  } catch (err) {
    throw new UsageError(`--hash-secret: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? err})`);
  }
  try {
    return createPlateHasher({ secret, rotation });
  } catch (err) {
    throw new UsageError(`--hash-secret: ${file}: ${(err as Error).message}`);
  }
}

/** Opened here so that a path that cannot be written is a usage error, not a stream's crash later. */
function outputFile(file: string): WriteStream {
  let fd: number;
  try {
    fd = openSync(file, 'w');
  } catch (err) {
    throw new UsageError(`--out: cannot write ${file} (${(err as NodeJS.ErrnoException).code ?? err})`);
  }
  return createWriteStream('', { fd });
}

export function registerRegionExport(program: Command): void {
  regionCommand(program)
    .command('export-passages')
    .description(
      'turn stored passages into the Amsterdam iotsignals passage format (1.0.4); POST them or write JSON lines',
    )
    .option('--pg <url>', 'PostgreSQL connection URL (default: the PGHOST/PGPORT/PGUSER/PGDATABASE environment)')
    .option('--endpoint <url>', 'POST each passage here, e.g. https://host/api/v1/passage (409 = already delivered)')
    .option('--out <file>', 'write the passages as JSON lines to a file, or - for stdout')
    .option('--since <time>', 'only passages at or after this ISO 8601 time')
    .option('--header <header...>', "extra request header 'Name: value' (e.g. authorization)", [])
    .option('--violations', 'also export violations, with the plate hashed by the zone key (needs --hash-secret)')
    .option('--hash-secret <file>', "the zone's plate-hash secret (the gateways' privacy.plateHash.secretFile)")
    .option('--rotation <period>', 'plate-hash rotation of the zone: daily, weekly or monthly', 'daily')
    .option('--again', 'include passages delivered before')
    .option('--concurrency <n>', 'parallel POSTs', '4')
    .action(async (opts: ExportOptions) => {
      if (!opts.endpoint && !opts.out)
        throw new UsageError('give --endpoint URL to deliver, or --out FILE (- for stdout)');
      if (opts.endpoint && !/^https?:\/\/\S+$/.test(opts.endpoint))
        throw new UsageError(`--endpoint: "${opts.endpoint}" is not an http(s) URL`);
      const since = opts.since === undefined ? undefined : Date.parse(opts.since);
      if (since !== undefined && Number.isNaN(since))
        throw new UsageError(`--since: "${opts.since}" is not an ISO 8601 time, e.g. 2026-03-01T00:00:00+01:00`);
      const concurrency = Number(opts.concurrency);
      if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64)
        throw new UsageError(`--concurrency: "${opts.concurrency}" is not a whole number from 1 to 64`);
      if (!['daily', 'weekly', 'monthly'].includes(opts.rotation))
        throw new UsageError(`--rotation: "${opts.rotation}" is not daily, weekly or monthly`);
      if (opts.violations && !opts.hashSecret) throw new UsageError('--violations needs --hash-secret FILE');
      const headers: Record<string, string> = {};
      for (const h of opts.header) {
        const m = /^([A-Za-z0-9-]+):\s*(.*)$/.exec(h);
        if (!m) throw new UsageError(`--header: "${h}" is not 'Name: value'`);
        headers[m[1]!] = m[2]!;
      }
      const violationHasher = opts.violations ? zoneHasher(opts.hashSecret!, opts.rotation as HashRotation) : undefined;
      const out = opts.out === undefined ? undefined : opts.out === '-' ? process.stdout : outputFile(opts.out);
      const pool = new pg.Pool({ ...(opts.pg ? { connectionString: opts.pg } : {}), max: 2 });
      try {
        const result = await exportPassages({
          pool,
          registry: new Registry(),
          log: createLogger({ name: 'zonegate-export', level: process.env['ZONEGATE_LOG_LEVEL'] ?? 'warn' }),
          ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
          headers,
          ...(out ? { sink: (p) => void out.write(`${JSON.stringify(p)}\n`) } : {}),
          ...(since !== undefined ? { since } : {}),
          ...(violationHasher ? { violationHasher } : {}),
          again: opts.again ?? false,
          concurrency,
        });
        if (out && out !== process.stdout) await new Promise<void>((resolve) => out.end(() => resolve()));
        process.stderr.write(
          `exported ${result.exported} passages` +
            (opts.endpoint
              ? `: ${result.delivered} delivered, ${result.alreadyThere} already there (409), ${result.failed} failed`
              : '') +
            (result.skipped ? `; ${result.skipped} events skipped (not exportable)` : '') +
            '\n',
        );
        for (const f of result.failures.slice(0, 20))
          process.stderr.write(`  ${f.gateway} seq ${f.seq}: ${f.status}${f.body ? ` ${f.body}` : ''}\n`);
        if (result.failed > 0) process.exitCode = 1;
      } finally {
        await pool.end();
      }
    });
}
