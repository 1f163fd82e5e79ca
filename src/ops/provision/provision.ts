import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  writeFileSync,
} from 'node:fs';
import { networkInterfaces } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { stringify } from 'yaml';
import { probeBollard, type PinProbe } from '../../bollard/probe.js';
import { parseSiteConfig } from '../../config/load.js';
import type { SiteConfig } from '../../config/schema.js';
import type { Clock } from '../../shared/clock.js';
import { judgeClock, probeClockSync } from '../clock-sync.js';
import { checkDisk } from '../doctor/disk.js';
import { formatReadings } from '../doctor/gpio.js';
import { checkBroker, checkCertificates } from '../doctor/mqtt.js';
import { checkSerialDevices } from '../doctor/serial.js';
import { CHECK_MARK, type CheckResult } from '../doctor/types.js';
import { redactUrl, type GrabbedFrame } from '../frame-grab.js';
import type { CommandRunner } from '../run-command.js';
import {
  addressListProblem,
  answersSchema,
  fieldProblem,
  fields,
  passThrough,
  splitAddressList,
  type AllowFromFlag,
  type Answers,
  type CameraAnswer,
  type LaneAnswer,
} from './answers.js';
import { createClientKey, createCsr, fingerprint, parseListSigningKey, publicKeyOfPrivatePem } from './keys.js';
import type { Prompter } from './prompter.js';

/** What listening on a serial port for a while found out. */
export interface SerialProbeResult {
  /** A dialect was recognised in complete, valid lines. */
  readonly ok: boolean;
  readonly baudRate?: number;
  readonly dialect?: string;
  /** Display forms of the plates heard. */
  readonly plates: readonly string[];
  /** One line for the technician: what was heard, at which speed, or why nothing. */
  readonly detail: string;
}

export type SerialProbe = (
  device: string,
  options: { seconds: number; baudRate?: number; dialect?: string },
) => Promise<SerialProbeResult>;

export interface ProvisionDeps {
  /** Asks for what the answers do not give; undefined: scripted, missing answers are an error. */
  readonly prompter: Prompter | undefined;
  /** Progress for the technician, one line per call. */
  readonly say: (line: string) => void;
  readonly run: CommandRunner;
  readonly clock: Clock;
  readonly probeSerial: SerialProbe;
  readonly grabFrame: (url: string) => Promise<GrabbedFrame>;
  readonly versions: Readonly<Record<string, string>>;
  readonly gpioRoot?: string;
  /** Whether to chown what is written to the service user (true when running as root). */
  readonly chownTo?: { uid: number; gid: number };
}

export interface ProvisionOptions {
  /** Answers known beforehand (file, flags); checked again as a whole before anything is written. */
  readonly answers: Partial<Answers>;
  readonly configFile: string;
  readonly dataDir: string;
  /** Replace an existing profile without asking (a backup is kept either way). */
  readonly force: boolean;
  readonly probeSeconds: number;
  readonly brokerTimeoutMs?: number;
  /**
   * `--allow-from`: the cameras that may connect to a tcp-server camera's port, for one lane or
   * (without a lane) every tcp-server lane; replaces what the answers give.
   */
  readonly allowFrom?: readonly AllowFromFlag[];
}

export interface StepRecord {
  readonly step: string;
  readonly ok: boolean;
  readonly detail: string;
}

export interface ProvisionOutcome {
  readonly site: SiteConfig;
  readonly configFile: string;
  readonly backupFile?: string;
  readonly reportFile: string;
  readonly reportJsonFile: string;
  readonly token: string;
  readonly steps: readonly StepRecord[];
  readonly checks: readonly CheckResult[];
  /** Steps that failed (camera unheard, no frame, pins unreadable): the site is not proven yet. */
  readonly failed: number;
}

/** A provisioning answer that is missing or wrong where nobody can be asked. */
export class ProvisionInputError extends Error {
  override name = 'ProvisionInputError';
}

interface LaneRecord {
  lane: LaneAnswer;
  serial?: SerialProbeResult;
  frame?: { file: string; width: number; height: number; error?: string };
  pins?: { readings: readonly PinProbe[]; confirmed?: boolean };
}

export async function provision(deps: ProvisionDeps, options: ProvisionOptions): Promise<ProvisionOutcome> {
  const p = deps.prompter;
  const given = options.answers;
  const steps: StepRecord[] = [];
  const record = (step: string, ok: boolean, detail: string): void => {
    steps.push({ step, ok, detail });
    deps.say(`${ok ? '  ✓' : '  ✗'} ${step}: ${detail}`);
  };
  const need = async (
    what: string,
    value: string | undefined,
    schema: Parameters<typeof fieldProblem>[0],
    question: string,
    def?: string,
  ): Promise<string> => {
    if (value !== undefined) {
      const problem = fieldProblem(schema, value);
      if (problem === undefined) return value;
      if (!p) throw new ProvisionInputError(`${what}: ${problem} (got "${value}")`);
      deps.say(`  ✗ ${what} "${value}": ${problem}`);
    }
    if (!p) throw new ProvisionInputError(`${what} is missing (give it in the answers file or as an option)`);
    return p.ask(question, {
      ...(def !== undefined ? { default: def } : {}),
      validate: (v) => fieldProblem(schema, v),
    });
  };

  // ---- gateway ------------------------------------------------------------------------------------
  deps.say('zonegate provisioning');
  const gateway = {
    id: await need('gateway.id', given.gateway?.id, fields.gatewayId, 'Gateway id (e.g. ams-centrum-nieuwmarkt-1)'),
    site: await need('gateway.site', given.gateway?.site, fields.site, 'Site name (the entrance, for people)'),
    municipality: await need(
      'gateway.municipality',
      given.gateway?.municipality,
      fields.municipality,
      'CBS municipality code (4 digits, e.g. 0363)',
    ),
    zone: await need('gateway.zone', given.gateway?.zone, fields.zone, 'Zone id the lists are scoped to'),
  };
  const dataDir = options.dataDir;
  const keysDir = join(dataDir, 'keys');
  const reportDir = join(dataDir, 'provisioning');
  for (const d of [dataDir, keysDir, reportDir]) mkdirSync(d, { recursive: true, mode: d === keysDir ? 0o700 : 0o750 });

  // ---- lanes, cameras, bollards --------------------------------------------------------------------
  let lanes: LaneAnswer[];
  if (given.lanes && given.lanes.length > 0) lanes = [...given.lanes];
  else if (p) {
    const count = Number(
      await p.ask('Number of lanes', {
        default: '1',
        validate: (v) => (/^[1-8]$/.test(v) ? undefined : 'a number from 1 to 8'),
      }),
    );
    lanes = [];
    for (let i = 0; i < count; i++) lanes.push(await askLane(p, i, lanes));
  } else throw new ProvisionInputError('lanes are missing (give them in the answers file)');

  for (const flag of options.allowFrom ?? []) {
    if (flag.lane === undefined) {
      if (!lanes.some((l) => l.camera.kind === 'tcp-server'))
        throw new ProvisionInputError(
          `--allow-from ${flag.entries.join(',')}: no lane has a tcp-server camera, so no camera connects to the gateway`,
        );
      continue;
    }
    const lane = lanes.find((l) => l.id === flag.lane);
    if (!lane)
      throw new ProvisionInputError(
        `--allow-from ${flag.lane}=…: there is no lane ${flag.lane} (lanes: ${lanes.map((l) => l.id).join(', ')})`,
      );
    if (lane.camera.kind !== 'tcp-server')
      throw new ProvisionInputError(
        `--allow-from ${flag.lane}=…: the camera of lane ${flag.lane} is ${lane.camera.kind}; only a tcp-server camera accepts connections`,
      );
  }

  const records: LaneRecord[] = [];
  for (const lane of lanes) {
    deps.say(`lane ${lane.id}:`);
    const rec: LaneRecord = { lane };
    records.push(rec);
    rec.lane = { ...lane, camera: await cameraStep(lane, rec) };
    if (lane.bollard !== undefined) await bollardStep(rec);
  }

  async function cameraStep(lane: LaneAnswer, rec: LaneRecord): Promise<CameraAnswer> {
    let camera = lane.camera;
    for (;;) {
      if (camera.kind === 'serial') {
        deps.say(`  listening on ${camera.device} (up to ${options.probeSeconds} s at each speed) …`);
        const probe = await deps
          .probeSerial(camera.device, {
            seconds: options.probeSeconds,
            ...(camera.baudRate !== undefined ? { baudRate: camera.baudRate } : {}),
            ...(camera.dialect !== undefined ? { dialect: camera.dialect } : {}),
          })
          .catch((err: unknown): SerialProbeResult => ({
            ok: false,
            plates: [],
            detail: err instanceof Error ? err.message : String(err),
          }));
        rec.serial = probe;
        if (probe.ok) {
          record(`camera ${camera.device}`, true, probe.detail);
          return { ...camera, baudRate: probe.baudRate ?? camera.baudRate, dialect: probe.dialect ?? camera.dialect };
        }
        record(`camera ${camera.device}`, false, probe.detail);
      } else if (camera.kind === 'rtsp') {
        const file = join(reportDir, `${lane.id}-frame.jpg`);
        deps.say(`  grabbing a frame from ${redactUrl(camera.url)} …`);
        try {
          const frame = await deps.grabFrame(camera.url);
          writeFileSync(file, frame.jpeg);
          rec.frame = { file, width: frame.width, height: frame.height };
          record(`camera ${lane.id}`, true, `frame ${frame.width}x${frame.height} saved to ${file}`);
          return camera;
        } catch (err) {
          rec.frame = { file, width: 0, height: 0, error: (err as Error).message };
          record(`camera ${lane.id}`, false, (err as Error).message);
        }
      } else if (camera.kind === 'tcp-server') {
        const allowFrom = await allowFromOf(lane, camera);
        const listening = { ...camera, ...(allowFrom ? { allowFrom: [...allowFrom] } : {}) };
        const from = allowFrom
          ? `cameras from ${allowFrom.join(', ')} may connect`
          : 'any host may connect (camera-only lane)';
        record(
          `camera ${lane.id}`,
          true,
          `tcp-server on port ${listening.port}, ${from}: checked when the gateway runs (zonegate doctor)`,
        );
        return listening;
      } else {
        record(`camera ${lane.id}`, true, `${camera.kind}: checked when the gateway runs (zonegate doctor)`);
        return camera;
      }
      if (!p) return camera;
      const next = await p.choose(
        'Camera not confirmed: retry, change it, or keep it as is',
        ['retry', 'change', 'keep'],
        'retry',
      );
      steps.pop();
      if (next === 'keep') {
        record(`camera ${lane.id}`, false, 'kept without confirmation');
        return camera;
      }
      if (next === 'change') camera = await askCamera(p, lane.id);
    }
  }

  /**
   * Who may connect to a listening camera's port. On a bollard lane the gateway refuses a profile
   * without it (any host could send a read that opens the bollard), so it is asked for here, where
   * the technician has the installation sheet, rather than found missing at the first start.
   */
  async function allowFromOf(
    lane: LaneAnswer,
    camera: Extract<CameraAnswer, { kind: 'tcp-server' }>,
  ): Promise<readonly string[] | undefined> {
    const flags = options.allowFrom ?? [];
    const flagged = flags.find((f) => f.lane === lane.id) ?? flags.find((f) => f.lane === undefined);
    if (flagged) return flagged.entries;
    if (camera.allowFrom) return camera.allowFrom;
    const required = lane.bollard !== undefined;
    const key = `lanes.${lane.id}.camera.allowFrom`;
    if (!p) {
      if (!required) return undefined;
      throw new ProvisionInputError(
        `${key} is missing: lane ${lane.id} has a bollard, so list the addresses of the cameras allowed to connect to port ${camera.port} ` +
          `(allowFrom in the answers file, or --allow-from ${lane.id}=192.0.2.10); any other host could send a read that opens the bollard`,
      );
    }
    const answer = await p.ask(
      `Addresses of the cameras allowed to connect to port ${camera.port} of lane ${lane.id}, comma-separated (e.g. 192.0.2.10, 192.0.2.16/28)${required ? '' : '; empty: any host'}`,
      {
        default: '',
        validate: (v) =>
          v === ''
            ? required
              ? `lane ${lane.id} has a bollard: list at least one camera address or range, or any host could send a read that opens it`
              : undefined
            : addressListProblem(splitAddressList(v)),
      },
    );
    return answer === '' ? undefined : splitAddressList(answer);
  }

  async function bollardStep(rec: LaneRecord): Promise<void> {
    const parsed = passThrough.bollard.safeParse(rec.lane.bollard);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new ProvisionInputError(`lanes.${rec.lane.id}.bollard.${issue.path.join('.')}: ${issue.message}`);
    }
    const bollard = parsed.data;
    if (bollard.driver !== 'gpio') {
      record(`bollard ${rec.lane.id}`, true, `${bollard.driver}: no pins to read`);
      return;
    }
    for (;;) {
      const { pins: readings } = await probeBollard(bollard, deps.gpioRoot ? { root: deps.gpioRoot } : {});
      rec.pins = { readings };
      deps.say(`  pins of lane ${rec.lane.id} (BCM numbers, active-low ${bollard.activeLow ? 'on' : 'off'}):`);
      for (const r of readings) deps.say(`    ${r.role.padEnd(16)} BCM${String(r.bcm).padEnd(3)} ${pinLevel(r)}`);
      const errors = readings.filter((r) => r.error);
      if (errors.length > 0) {
        record(
          `bollard pins ${rec.lane.id}`,
          false,
          `cannot read ${errors.map((e) => `${e.role}(BCM${e.bcm})`).join(', ')}`,
        );
        return;
      }
      if (!p) {
        record(`bollard pins ${rec.lane.id}`, true, formatReadings(readings));
        return;
      }
      const ok = await p.confirm('Do these inputs match the bollard and loops as they are now', true);
      rec.pins.confirmed = ok;
      if (ok) {
        record(`bollard pins ${rec.lane.id}`, true, `confirmed by the technician: ${formatReadings(readings)}`);
        return;
      }
      if (!(await p.confirm('Read them again (change the situation first, e.g. step on the loop)', true))) {
        record(`bollard pins ${rec.lane.id}`, false, `not confirmed: ${formatReadings(readings)}`);
        return;
      }
    }
  }

  // ---- MQTT and credentials -----------------------------------------------------------------------
  const mqttGiven = given.mqtt;
  const mqttUrl =
    mqttGiven?.url ??
    (p
      ? await p.ask('Region broker URL (mqtts://host:8883)', {
          default: 'mqtts://',
          validate: (v) => fieldProblem(answersSchema.shape.mqtt.unwrap().shape.url, v),
        })
      : undefined);
  const mqtt: Record<string, unknown> = {};
  if (mqttUrl) {
    mqtt['url'] = mqttUrl;
    if (mqttGiven?.topicPrefix) mqtt['topicPrefix'] = mqttGiven.topicPrefix;
    const caSource =
      mqttGiven?.ca ??
      (p && mqttUrl.startsWith('mqtts')
        ? await p.ask('CA certificate file of the region (empty: system CAs)', { default: '' })
        : '');
    if (caSource) {
      if (!existsSync(caSource)) throw new ProvisionInputError(`mqtt.ca: ${caSource} does not exist`);
      copyFileSync(caSource, join(keysDir, 'ca.crt'));
      mqtt['ca'] = 'keys/ca.crt';
      record('broker CA', true, `${caSource} installed as ${join(keysDir, 'ca.crt')}`);
    }
    const wantCert = mqttGiven?.clientCertificate ?? mqttUrl.startsWith('mqtts');
    if (wantCert) {
      const keyFile = join(keysDir, 'client.key');
      const csrFile = join(keysDir, 'client.csr');
      if (existsSync(keyFile)) deps.say(`  keeping the existing client key ${keyFile}`);
      else await createClientKey(deps.run, keyFile);
      chmodSync(keyFile, 0o600);
      const subject = await createCsr(deps.run, { keyFile, csrFile, gatewayId: gateway.id, zone: gateway.zone });
      const fp = fingerprint(publicKeyOfPrivatePem(readFileSync(keyFile, 'utf8')));
      mqtt['clientKey'] = 'keys/client.key';
      mqtt['clientCert'] = 'keys/client.crt';
      record('client certificate request', true, `${csrFile} (${subject}), key fingerprint ${fp}`);
    }
  }

  let listKey: { file: string; fingerprint: string } | undefined;
  const listKeyGiven =
    given.listSigningKey ??
    (p ? await p.ask('Region list-signing public key (PEM file, or base64; empty: later)', { default: '' }) : '');
  if (listKeyGiven) {
    let parsed;
    try {
      parsed = parseListSigningKey(listKeyGiven);
    } catch (err) {
      throw new ProvisionInputError(`listSigningKey: ${(err as Error).message}`);
    }
    const file = join(keysDir, 'list-signing.pub');
    writeFileSync(file, parsed.pem);
    listKey = { file, fingerprint: parsed.fingerprint };
    record('list-signing key', true, `${file}, fingerprint ${parsed.fingerprint} (compare with the region)`);
  } else record('list-signing key', false, 'none given: signed list updates cannot be checked until it is installed');

  // ---- status page --------------------------------------------------------------------------------
  const defaultListen = networkInterfaces()['eth0'] ? 'eth0' : '127.0.0.1';
  const listen =
    given.status?.listen ??
    (p ? await p.ask('Status page: interface or address to serve on', { default: defaultListen }) : '127.0.0.1');
  const port = given.status?.port ?? 8080;
  const token = given.status?.token ?? randomBytes(18).toString('base64url');

  // ---- the site profile ----------------------------------------------------------------------------
  const profile = {
    gateway,
    dataDir,
    lanes: records.map((r) => ({
      id: r.lane.id,
      direction: r.lane.direction,
      ...(r.lane.bollard !== undefined ? { bollard: r.lane.bollard } : {}),
    })),
    sources: records.map((r) => sourceOf(r.lane)),
    ...(given.policy !== undefined ? { policy: given.policy } : {}),
    ...(Object.keys(mqtt).length > 0 ? { mqtt } : {}),
    // The list downlink checks every update against this key (relative to dataDir).
    ...(listKey ? { lists: { regionKeys: ['keys/list-signing.pub'] } } : {}),
    status: { listen, port, token },
  };
  const header =
    `# Site profile of ${gateway.id} (${gateway.site}), written by zonegate provision on ` +
    `${new Date(deps.clock.now()).toISOString()}.\n# Every key: docs/config.md. Check it with: zonegate doctor --config ${options.configFile}\n`;
  const text = header + stringify(profile, { lineWidth: 0 });
  // Validated by the loader the gateway uses, so a profile that is written is one that starts.
  const site = parseSiteConfig(text, options.configFile);

  let backupFile: string | undefined;
  if (existsSync(options.configFile)) {
    if (!options.force) {
      if (!p)
        throw new ProvisionInputError(`${options.configFile} exists: add --force to replace it (a backup is kept)`);
      if (!(await p.confirm(`${options.configFile} exists. Replace it (a backup is kept)`, false)))
        throw new ProvisionInputError(`kept ${options.configFile}; nothing written`);
    }
    backupFile = `${options.configFile}.${stamp(deps.clock.now())}.bak`;
    copyFileSync(options.configFile, backupFile);
  }
  mkdirSync(dirname(options.configFile), { recursive: true });
  const tmp = join(dirname(options.configFile), `.${basename(options.configFile)}.tmp`);
  writeFileSync(tmp, text, { mode: 0o640 });
  if (deps.chownTo) chownSync(tmp, 0, deps.chownTo.gid);
  renameSync(tmp, options.configFile);
  record('site profile', true, `${options.configFile}${backupFile ? ` (previous kept as ${backupFile})` : ''}`);

  // ---- self-test ------------------------------------------------------------------------------------
  deps.say('self-test:');
  const checks: CheckResult[] = [
    checkDisk({ dataDir, limits: site.ops.disk }),
    judgeClock(await probeClockSync(deps.run), site.ops.clock),
    ...checkSerialDevices({ sources: site.sources }),
    ...(site.mqtt.clientKey || site.mqtt.clientCert
      ? checkCertificates({ mqtt: site.mqtt, dataDir, now: deps.clock.now(), warnDays: site.ops.certificateWarnDays })
      : []),
    ...(mqttUrl
      ? [
          await checkBroker({
            mqtt: site.mqtt,
            dataDir,
            gatewayId: gateway.id,
            timeoutMs: options.brokerTimeoutMs ?? 5_000,
          }),
        ]
      : []),
  ];
  for (const c of checks) {
    deps.say(`  ${CHECK_MARK[c.status]} ${c.title}: ${c.detail}`);
    if (c.fix) deps.say(`      fix: ${c.fix}`);
  }

  // ---- report ---------------------------------------------------------------------------------------
  const at = stamp(deps.clock.now());
  const reportFile = join(reportDir, `report-${at}.md`);
  const reportJsonFile = join(reportDir, `report-${at}.json`);
  const failed = steps.filter((s) => !s.ok).length;
  const report = {
    at: new Date(deps.clock.now()).toISOString(),
    versions: deps.versions,
    gateway,
    configFile: options.configFile,
    ...(backupFile ? { backupFile } : {}),
    dataDir,
    lanes: records.map((r) => ({
      id: r.lane.id,
      direction: r.lane.direction,
      camera: shownCamera(r.lane.camera),
      ...(r.serial ? { serialProbe: r.serial } : {}),
      ...(r.frame ? { frame: r.frame } : {}),
      ...(r.pins ? { pins: r.pins } : {}),
    })),
    mqtt: {
      url: mqttUrl ?? site.mqtt.url,
      clientKey: site.mqtt.clientKey,
      clientCert: site.mqtt.clientCert,
      ca: site.mqtt.ca,
    },
    ...(listKey ? { listSigningKey: listKey } : {}),
    status: { listen, port, tokenSet: true },
    steps,
    checks,
    failed,
  };
  writeFileSync(reportJsonFile, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(reportFile, markdownReport(report, steps, checks, records));
  if (deps.chownTo) {
    for (const f of [
      reportFile,
      reportJsonFile,
      ...readdirIfAny(keysDir).map((n) => join(keysDir, n)),
      keysDir,
      reportDir,
      dataDir,
    ])
      chownSync(f, deps.chownTo.uid, deps.chownTo.gid);
    for (const r of records) if (r.frame && !r.frame.error) chownSync(r.frame.file, deps.chownTo.uid, deps.chownTo.gid);
  }
  deps.say(`report: ${reportFile}`);
  return {
    site,
    configFile: options.configFile,
    ...(backupFile ? { backupFile } : {}),
    reportFile,
    reportJsonFile,
    token,
    steps,
    checks,
    failed,
  };
}

/** A pin as the technician sees it in the list: physical level, ACTIVE in the config's sense. */
function pinLevel(r: PinProbe): string {
  if (r.error) return `? ${r.error}`;
  if (r.released) return 'released (not driven)';
  const level = r.high ? 1 : 0;
  return r.input ? `${level}${r.active ? '  ACTIVE' : ''}` : `out=${level}`;
}

/** The camera as the report shows it: the report is handed over, the camera's password stays in the profile. */
function shownCamera(c: CameraAnswer): CameraAnswer {
  return c.kind === 'rtsp' ? { ...c, url: redactUrl(c.url) } : c;
}

function readdirIfAny(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir) : [];
}

function stamp(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/[:.]/g, '')
    .replace(/\d{3}Z$/, 'Z');
}

function sourceOf(lane: LaneAnswer): Record<string, unknown> {
  const c = lane.camera;
  const id = `cam-${lane.id}`.slice(0, 63);
  switch (c.kind) {
    case 'serial':
      return {
        id,
        kind: 'serial',
        lane: lane.id,
        device: c.device,
        ...(c.baudRate !== undefined ? { baudRate: c.baudRate } : {}),
        ...(c.dialect !== undefined ? { dialect: c.dialect } : {}),
      };
    case 'rtsp':
      return { id, kind: 'rtsp', lane: lane.id, url: c.url };
    case 'tcp-client':
      return {
        id,
        kind: 'tcp-client',
        lane: lane.id,
        host: c.host,
        port: c.port,
        ...(c.dialect ? { dialect: c.dialect } : {}),
      };
    case 'tcp-server':
      return {
        id,
        kind: 'tcp-server',
        lane: lane.id,
        port: c.port,
        ...(c.allowFrom ? { allowFrom: c.allowFrom } : {}),
        ...(c.dialect ? { dialect: c.dialect } : {}),
      };
  }
}

async function askCamera(p: Prompter, laneId: string): Promise<CameraAnswer> {
  const kind = await p.choose(
    `Camera of lane ${laneId}`,
    ['serial', 'rtsp', 'tcp-client', 'tcp-server'] as const,
    'serial',
  );
  switch (kind) {
    case 'serial':
      return { kind, device: await p.ask('Serial device (best: /dev/serial/by-path/…)', { default: '/dev/ttyUSB0' }) };
    case 'rtsp':
      return {
        kind,
        url: await p.ask('RTSP URL', { validate: (v) => (/^rtsps?:\/\//.test(v) ? undefined : 'an rtsp:// URL') }),
      };
    case 'tcp-client':
      return {
        kind,
        host: await p.ask('Camera host or address'),
        port: Number(await p.ask('Camera TCP port', { validate: portProblem })),
      };
    case 'tcp-server':
      return { kind, port: Number(await p.ask('TCP port to listen on', { validate: portProblem })) };
  }
}

function portProblem(v: string): string | undefined {
  return /^\d+$/.test(v) && Number(v) >= 1 && Number(v) <= 65535 ? undefined : 'a port number 1–65535';
}

async function askLane(p: Prompter, index: number, before: readonly LaneAnswer[]): Promise<LaneAnswer> {
  const id = await p.ask(`Lane ${index + 1} id`, {
    default: `in-${index + 1}`,
    validate: (v) =>
      fieldProblem(fields.laneId, v) ?? (before.some((l) => l.id === v) ? `lane ${v} exists already` : undefined),
  });
  const direction = await p.choose(`Direction of lane ${id}`, ['in', 'out'] as const, 'in');
  const camera = await askCamera(p, id);
  const kind = await p.choose(`Bollard on lane ${id}`, ['none', 'gpio', 'simulator'] as const, 'none');
  if (kind === 'none') return { id, direction, camera };
  if (kind === 'simulator') return { id, direction, camera, bollard: { driver: 'simulator' } };
  const mode = await p.choose('Bollard control', ['lower-raise', 'open-pulse'] as const, 'lower-raise');
  const pin = async (name: string, optional: boolean): Promise<number | undefined> => {
    const v = await p.ask(`BCM pin for ${name}${optional ? ' (empty: none)' : ''}`, {
      default: '',
      validate: (s) => (s === '' && optional ? undefined : fieldProblem(fields.gpioPin, s === '' ? undefined : s)),
    });
    return v === '' ? undefined : Number(v);
  };
  const pins: Record<string, number | number[]> = {};
  const set = (k: string, v: number | undefined): void => {
    if (v !== undefined) pins[k] = v;
  };
  if (mode === 'lower-raise') {
    set('lower', await pin('lower (output)', false));
    set('raise', await pin('raise (output)', false));
  } else set('openRequest', await pin('open request (output)', false));
  set('positionDown', await pin('position down (input)', false));
  set('positionUp', await pin('position up (input)', false));
  const loops = await p.ask('BCM pins of the safety loops (comma-separated, 1 or 2)', {
    validate: (s) => (/^\s*\d+\s*(,\s*\d+\s*)?$/.test(s) ? undefined : 'one or two pin numbers, e.g. 13,19'),
  });
  pins['loops'] = loops.split(',').map((s) => Number(s.trim()));
  set('emergency', await pin('emergency (input)', true));
  set('controllerFault', await pin('controller fault (input)', true));
  const activeLow = await p.confirm('Are the inputs active-low (opto-isolated inputs usually are)', true);
  const failMode = await p.choose(
    'On start-up, crash or watchdog loss the bollard',
    ['fail-secure', 'fail-open'] as const,
    'fail-secure',
  );
  return { id, direction, camera, bollard: { driver: 'gpio', mode, pins, activeLow, failMode } };
}

function markdownReport(
  report: {
    at: string;
    gateway: { id: string; site: string; zone: string; municipality: string };
    configFile: string;
    versions: Readonly<Record<string, string>>;
  },
  steps: readonly StepRecord[],
  checks: readonly CheckResult[],
  records: readonly LaneRecord[],
): string {
  const lines = [
    `# Provisioning report: ${report.gateway.id}`,
    '',
    `- site: ${report.gateway.site}`,
    `- zone: ${report.gateway.zone}, municipality ${report.gateway.municipality}`,
    `- when: ${report.at}`,
    `- profile: ${report.configFile}`,
    `- versions: ${Object.entries(report.versions)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
    '',
    '## Steps',
    '',
    ...steps.map((s) => `- ${s.ok ? '✓' : '✗'} **${s.step}**: ${s.detail}`),
    '',
    '## Lanes',
    '',
  ];
  for (const r of records) {
    lines.push(`### ${r.lane.id} (${r.lane.direction})`, '');
    lines.push(`- camera: ${JSON.stringify(shownCamera(r.lane.camera))}`);
    if (r.serial)
      lines.push(
        `- heard: ${r.serial.detail}${r.serial.plates.length ? ` — plates ${r.serial.plates.join(', ')}` : ''}`,
      );
    if (r.frame)
      lines.push(
        r.frame.error
          ? `- frame: failed: ${r.frame.error}`
          : `- frame: ![${r.lane.id}](${basename(r.frame.file)}) ${r.frame.width}x${r.frame.height}`,
      );
    if (r.pins) {
      lines.push(
        `- pins${r.pins.confirmed === undefined ? '' : r.pins.confirmed ? ' (confirmed on site)' : ' (NOT confirmed)'}:`,
        '',
      );
      lines.push('  | role | BCM | sysfs | direction | level | active |', '  | --- | --- | --- | --- | --- | --- |');
      for (const pin of r.pins.readings)
        lines.push(
          `  | ${pin.role} | ${pin.bcm} | ${pin.gpio} | ${pin.direction ?? '?'} | ${pin.error ?? (pin.released ? 'released' : pin.high ? 1 : 0)} | ${pin.active === undefined ? '' : pin.active ? 'yes' : 'no'} |`,
        );
    }
    lines.push('');
  }
  lines.push(
    '## Self-test',
    '',
    ...checks.map((c) => `- ${c.status}: **${c.title}**: ${c.detail}${c.fix ? `  \n  fix: ${c.fix}` : ''}`),
    '',
  );
  const todo = [
    ...steps.filter((s) => !s.ok).map((s) => `${s.step}: ${s.detail}`),
    ...checks.filter((c) => c.status === 'fail').map((c) => `${c.title}: ${c.fix ?? c.detail}`),
  ];
  lines.push(
    '## Still to do',
    '',
    ...(todo.length ? todo.map((t) => `- [ ] ${t}`) : ['- nothing: the gateway is ready']),
    '',
  );
  return lines.join('\n');
}
