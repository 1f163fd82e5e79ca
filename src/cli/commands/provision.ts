import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { parse } from 'yaml';
import { loadSiteConfig } from '../../config/load.js';
import { answersSchema, parseAllowFromFlag, type AllowFromFlag, type Answers } from '../../ops/provision/answers.js';
import { createCsr } from '../../ops/provision/keys.js';
import { grabFrame } from '../../ops/frame-grab.js';
import { baseVersions } from '../../ops/observability.js';
import { provision, ProvisionInputError } from '../../ops/provision/provision.js';
import { InputEndedError, linePrompter } from '../../ops/provision/prompter.js';
import { cameraSerialProbe } from '../../ops/provision/serial-probe.js';
import { commandRunner } from '../../ops/run-command.js';
import { groupId } from '../../ops/doctor/serial.js';
import { systemClock } from '../../shared/clock.js';
import { UsageError } from '../main.js';
import type { RegisterCommand } from './index.js';

interface ProvisionFlags {
  answers?: string;
  out: string;
  dataDir?: string;
  gatewayId?: string;
  site?: string;
  municipality?: string;
  zone?: string;
  mqttUrl?: string;
  listKey?: string;
  statusListen?: string;
  allowFrom: string[];
  interactive: boolean;
  force?: boolean;
  probeSeconds: string;
  gpioRoot?: string;
  renewCert?: boolean;
  config?: string;
}

function loadAnswers(file: string): Partial<Answers> {
  let raw: unknown;
  try {
    raw = parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UsageError(
      `${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (err as Error).message.split('\n')[0]}`,
    );
  }
  const r = answersSchema.partial().safeParse(raw ?? {});
  if (!r.success)
    throw new UsageError(
      `${file}: invalid answers\n${r.error.issues.map((i) => `  - ${i.path.map(String).join('.') || '(top level)'}: ${i.message}`).join('\n')}`,
    );
  return r.data;
}

/** The service user's ids, when running as root on a machine where scripts/install created it. */
function serviceUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  try {
    const line = readFileSync('/etc/passwd', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('zonegate:'));
    const gid = groupId('zonegate');
    if (!line || gid === undefined) return undefined;
    return { uid: Number(line.split(':')[2]), gid };
  } catch {
    return undefined;
  }
}

export const registerProvision: RegisterCommand = (program: Command) => {
  program
    .command('provision')
    .description(
      'set up a gateway: ids, lanes, cameras (probed), bollard pins (read), broker key and CSR; writes the site profile and a report',
    )
    .option('--answers <file>', 'answers as YAML/JSON (scripted provisioning); what is missing is asked')
    .option('-o, --out <file>', 'site profile to write', '/etc/zonegate/site.yaml')
    .option('--data-dir <dir>', 'data directory (keys, report, frames)', undefined)
    .option('--gateway-id <id>')
    .option('--site <name>')
    .option('--municipality <code>')
    .option('--zone <id>')
    .option('--mqtt-url <url>', 'region broker, e.g. mqtts://broker.region.nl:8883')
    .option('--list-key <file|base64>', "the region's Ed25519 list-signing public key")
    .option('--status-listen <iface|address>', 'where the status page is served (e.g. eth0)')
    .option(
      '--allow-from <[lane=]addresses>',
      'cameras allowed to connect to a tcp-server camera (addresses or CIDR ranges, comma-separated); lane= for one lane, else every tcp-server lane; repeatable',
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .option('--no-interactive', 'never ask: anything missing is an error')
    .option('--force', 'replace an existing site profile (a backup is kept)')
    .option('--probe-seconds <s>', 'how long to listen to a serial camera at each speed', '4')
    .option('--gpio-root <dir>', 'sysfs GPIO directory (containers)')
    .option('--renew-cert', 'only make a new certificate request with the existing key of --config')
    .option('-c, --config <file>', 'site profile, for --renew-cert')
    .action(async (flags: ProvisionFlags) => {
      if (flags.renewCert) {
        if (!flags.config) throw new UsageError('--renew-cert needs --config SITE.yaml');
        const site = loadSiteConfig(flags.config);
        if (!site.mqtt.clientKey)
          throw new UsageError(`${flags.config}: mqtt.clientKey is not set; run zonegate provision first`);
        const keyFile = resolve(site.dataDir, site.mqtt.clientKey);
        if (!existsSync(keyFile))
          throw new UsageError(`${keyFile} does not exist; run zonegate provision to create a key`);
        const csrFile = keyFile.replace(/(\.key)?$/, '.csr');
        const subject = await createCsr(commandRunner(), {
          keyFile,
          csrFile,
          gatewayId: site.gateway.id,
          zone: site.gateway.zone,
        });
        process.stdout.write(
          `certificate request ${csrFile} (${subject}) with the existing key ${keyFile}: send it to the region\n`,
        );
        return;
      }
      const fromFile = flags.answers ? loadAnswers(flags.answers) : {};
      const gatewayFlags = Object.fromEntries(
        (['gatewayId', 'site', 'municipality', 'zone'] as const)
          .filter((k) => flags[k] !== undefined)
          .map((k) => [k === 'gatewayId' ? 'id' : k, flags[k]]),
      );
      const answers: Partial<Answers> = {
        ...fromFile,
        ...(Object.keys(gatewayFlags).length > 0
          ? { gateway: { ...(fromFile.gateway ?? {}), ...gatewayFlags } as Answers['gateway'] }
          : {}),
        ...(flags.mqttUrl ? { mqtt: { ...(fromFile.mqtt ?? {}), url: flags.mqttUrl } } : {}),
        ...(flags.listKey ? { listSigningKey: flags.listKey } : {}),
        ...(flags.statusListen ? { status: { ...(fromFile.status ?? {}), listen: flags.statusListen } } : {}),
      };
      const allowFrom: AllowFromFlag[] = flags.allowFrom.map((text) => {
        const parsed = parseAllowFromFlag(text);
        if (typeof parsed === 'string') throw new UsageError(`--allow-from ${text}: ${parsed}`);
        return parsed;
      });
      const probeSeconds = Number(flags.probeSeconds);
      if (!(probeSeconds > 0 && probeSeconds <= 120))
        throw new UsageError(`--probe-seconds: 1 to 120, got "${flags.probeSeconds}"`);
      const prompter = flags.interactive ? linePrompter(process.stdin, process.stdout) : undefined;
      const say = (line: string): void => void process.stdout.write(`${line}\n`);
      const chownTo = serviceUser();
      try {
        const outcome = await provision(
          {
            prompter,
            say,
            run: commandRunner({ timeoutMs: 60_000 }),
            clock: systemClock,
            probeSerial: cameraSerialProbe({ clock: systemClock }),
            grabFrame: (url) => grabFrame(url),
            versions: baseVersions(),
            ...(flags.gpioRoot ? { gpioRoot: flags.gpioRoot } : {}),
            ...(chownTo ? { chownTo } : {}),
          },
          {
            answers,
            configFile: flags.out,
            dataDir: flags.dataDir ?? answers.dataDir ?? '/var/lib/zonegate',
            force: flags.force === true,
            probeSeconds,
            allowFrom,
          },
        );
        say('');
        say(`site profile: ${outcome.configFile}`);
        say(`status page token (also in the profile): ${outcome.token}`);
        if (outcome.failed > 0) {
          say(`${outcome.failed} step${outcome.failed > 1 ? 's' : ''} not confirmed: see ${outcome.reportFile}`);
          process.exitCode = 1;
        } else say('all steps confirmed');
        const failedChecks = outcome.checks.filter((c) => c.status === 'fail').length;
        if (failedChecks > 0)
          say(
            `${failedChecks} self-test check${failedChecks > 1 ? 's' : ''} failed (fixes above and in ${outcome.reportFile}); run \`zonegate doctor --config ${outcome.configFile}\` once fixed`,
          );
        else say(`next: sudo systemctl start zonegate; zonegate doctor --config ${outcome.configFile}`);
      } catch (err) {
        if (err instanceof ProvisionInputError || err instanceof InputEndedError) throw new UsageError(err.message);
        throw err;
      } finally {
        prompter?.close();
      }
    });
};
