import { hostname } from 'node:os';
import type { Command } from 'commander';
import pg from 'pg';
import { Registry } from 'prom-client';
import { createIngest } from '../../region/ingest.js';
import { createLogger } from '../../shared/log.js';
import { brokerCredentials, type BrokerFlags } from '../broker-flags.js';
import { RuntimeFault, UsageError } from '../main.js';
import { regionCommand } from './region-group.js';

interface IngestOptions extends BrokerFlags {
  pg?: string;
  prefix: string;
  group: string;
  instance: string;
}

/** `ZONEGATE_FAULT=ingest-exit-after-commit:N`: die after the N-th commit, before its ack (fault tests). */
function faultAfterCommit(): (() => void) | undefined {
  const m = /^ingest-exit-after-commit:(\d+)$/.exec(process.env['ZONEGATE_FAULT'] ?? '');
  if (!m) return undefined;
  let left = Number(m[1]);
  return () => {
    if (--left === 0) process.kill(process.pid, 'SIGKILL');
  };
}

export function registerRegionIngest(program: Command): void {
  regionCommand(program)
    .command('ingest')
    .description(
      'consume gateway event batches (MQTT 5 shared subscription) into PostgreSQL, idempotent on (gateway, seq); acknowledge after commit',
    )
    .option('--pg <url>', 'PostgreSQL connection URL (default: the PGHOST/PGPORT/PGUSER/PGDATABASE environment)')
    .option('--mqtt <url>', 'broker', 'mqtt://127.0.0.1:1883')
    .option('--prefix <prefix>', 'topic prefix', 'zonegate/v1')
    .option('--group <name>', 'shared-subscription group: instances in one group share the load', 'zonegate-ingest')
    .option('--instance <name>', 'stable name of this instance (keeps its broker session across restarts)', hostname())
    .option('--ca <file>', 'CA bundle of the broker certificate')
    .option('--cert <file>', 'client certificate (TLS client authentication)')
    .option('--key <file>', 'client key')
    .option('--username <name>', 'broker user name')
    .option('--password-file <file>', 'file holding the broker password')
    .action(async (opts: IngestOptions) => {
      const credentials = brokerCredentials(opts);
      if (!/^[A-Za-z0-9_-]+$/.test(opts.group))
        throw new UsageError(`--group: "${opts.group}" must be letters, digits, _ or -`);
      if (!/^[A-Za-z0-9_.-]+$/.test(opts.instance))
        throw new UsageError(`--instance: "${opts.instance}" must be letters, digits, ., _ or -`);
      const log = createLogger({ name: 'zonegate-ingest' });
      const pool = new pg.Pool({ ...(opts.pg ? { connectionString: opts.pg } : {}), max: 4 });
      pool.on('error', (err) => log.warn({ err: err.message }, 'idle PostgreSQL connection failed'));
      const afterCommit = faultAfterCommit();
      const ingest = createIngest({
        pool,
        mqttUrl: opts.mqtt,
        mqttOptions: credentials,
        topicPrefix: opts.prefix,
        group: opts.group,
        instance: opts.instance,
        registry: new Registry(),
        log,
        ...(afterCommit ? { afterCommit } : {}),
      });
      try {
        await ingest.start();
      } catch (err) {
        await pool.end().catch(() => undefined);
        throw new RuntimeFault(`cannot start ingest: ${(err as Error).message}`, { cause: err });
      }
      process.stderr.write(
        `zonegate region ingest: consuming ${opts.prefix}/gw/+/events as ${opts.instance} in group ${opts.group}\n`,
      );
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await ingest.stop();
      await pool.end();
    });
}
