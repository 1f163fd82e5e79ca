import type { Command } from 'commander';
import { loadSiteConfig } from '../../config/load.js';
import { CHECKS, formatResult, runDoctor, summarise, type CheckName } from '../../ops/doctor/index.js';
import { commandRunner } from '../../ops/run-command.js';
import { systemClock } from '../../shared/clock.js';
import { UsageError } from '../main.js';
import type { RegisterCommand } from './index.js';

function names(value: string | undefined, option: string): CheckName[] | undefined {
  if (value === undefined) return undefined;
  const list = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const known = new Set<string>([...CHECKS, 'config']);
  const unknown = list.filter((n) => !known.has(n));
  if (unknown.length > 0)
    throw new UsageError(
      `${option}: unknown check${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} (checks: config, ${CHECKS.join(', ')})`,
    );
  return list.filter((n): n is CheckName => n !== 'config');
}

export const registerDoctor: RegisterCommand = (program: Command) => {
  program
    .command('doctor')
    .description(
      'self-test: clock, disk, databases, lists, broker and certificate, serial, GPIO, model; exit 1 on any failure',
    )
    .requiredOption('-c, --config <file>', 'site profile (YAML)')
    .option('--only <checks>', `comma-separated checks to run (config, ${CHECKS.join(', ')})`)
    .option('--skip <checks>', 'comma-separated checks to leave out (e.g. broker while offline)')
    .option('--json', 'one JSON object with every result instead of text')
    .option('--gpio-root <dir>', 'sysfs GPIO directory', '/sys/class/gpio')
    .option('--broker-timeout <ms>', 'how long to wait for the broker', '8000')
    .action(
      async (opts: {
        config: string;
        only?: string;
        skip?: string;
        json?: boolean;
        gpioRoot: string;
        brokerTimeout: string;
      }) => {
        const only = names(opts.only, '--only');
        const skip = names(opts.skip, '--skip');
        // Loading the profile is the first check: a broken one exits 2 with the key path (ConfigError).
        const site = loadSiteConfig(opts.config);
        const timeout = Number(opts.brokerTimeout);
        if (!Number.isInteger(timeout) || timeout <= 0)
          throw new UsageError(`--broker-timeout: expected milliseconds, got "${opts.brokerTimeout}"`);
        const out = process.stdout;
        if (!opts.json) {
          out.write(`zonegate doctor: ${site.gateway.id} (${site.gateway.site}), profile ${opts.config}\n`);
          out.write(`  ✓ ${'site profile'.padEnd(44)} valid\n`);
        }
        const results = await runDoctor({
          site,
          clock: systemClock,
          run: commandRunner(),
          ...(only ? { only } : {}),
          ...(skip ? { skip } : {}),
          gpioRoot: opts.gpioRoot,
          brokerTimeoutMs: timeout,
          ...(opts.json ? {} : { onResult: (r) => void out.write(`${formatResult(r)}\n`) }),
        });
        const summary = summarise(results);
        if (opts.json)
          out.write(`${JSON.stringify({ gateway: site.gateway.id, config: opts.config, results, ...summary })}\n`);
        else out.write(`${summary.text}\n`);
        process.exitCode = summary.failed > 0 ? 1 : 0;
      },
    );
};
