import type { SiteConfig } from '../../config/schema.js';
import type { Clock } from '../../shared/clock.js';
import { judgeClock, probeClockSync } from '../clock-sync.js';
import type { CommandRunner } from '../run-command.js';
import { checkDatabases } from './databases.js';
import { checkDisk } from './disk.js';
import { checkGpio } from './gpio.js';
import { checkListAge } from './lists.js';
import { checkModels } from './model.js';
import { checkBroker, checkCertificates } from './mqtt.js';
import { checkSerialDevices } from './serial.js';
import { CHECK_MARK, type CheckResult } from './types.js';

export * from './types.js';
export { checkDatabases, sqliteFiles } from './databases.js';
export { checkDisk } from './disk.js';
export { checkGpio, formatReadings } from './gpio.js';
export { checkListAge } from './lists.js';
export { checkModels } from './model.js';
export { checkBroker, checkCertificates, resolveMqttPaths } from './mqtt.js';
export { checkSerialDevices } from './serial.js';

/** Check groups in the order they run and print; `--only` and `--skip` take these names. */
export const CHECKS = [
  'clock',
  'disk',
  'database',
  'lists',
  'certificate',
  'broker',
  'serial',
  'gpio',
  'model',
] as const;
export type CheckName = (typeof CHECKS)[number];

export interface DoctorInputs {
  readonly site: SiteConfig;
  readonly clock: Clock;
  readonly run: CommandRunner;
  readonly only?: readonly CheckName[];
  readonly skip?: readonly CheckName[];
  /** /sys/class/gpio unless a container maps it elsewhere. */
  readonly gpioRoot?: string;
  readonly brokerTimeoutMs?: number;
  /** Called as each result comes in, for live output. */
  readonly onResult?: (r: CheckResult) => void;
}

/** Runs the selected checks one after another (they share the SD card and the CPU with the gateway). */
export async function runDoctor(inputs: DoctorInputs): Promise<CheckResult[]> {
  const { site } = inputs;
  const selected = CHECKS.filter(
    (c) => (inputs.only === undefined || inputs.only.includes(c)) && !(inputs.skip ?? []).includes(c),
  );
  const steps: Record<CheckName, () => Promise<CheckResult[]> | CheckResult[]> = {
    clock: async () => [judgeClock(await probeClockSync(inputs.run), site.ops.clock)],
    disk: () => [checkDisk({ dataDir: site.dataDir, limits: site.ops.disk })],
    database: () => checkDatabases({ dataDir: site.dataDir }),
    lists: () => [checkListAge({ dataDir: site.dataDir, staleList: site.policy.staleList, clock: inputs.clock })],
    certificate: () =>
      checkCertificates({
        mqtt: site.mqtt,
        dataDir: site.dataDir,
        now: inputs.clock.now(),
        warnDays: site.ops.certificateWarnDays,
      }),
    broker: async () => [
      await checkBroker({
        mqtt: site.mqtt,
        dataDir: site.dataDir,
        gatewayId: site.gateway.id,
        ...(inputs.brokerTimeoutMs !== undefined ? { timeoutMs: inputs.brokerTimeoutMs } : {}),
      }),
    ],
    serial: () => checkSerialDevices({ sources: site.sources }),
    gpio: () => checkGpio({ lanes: site.lanes, ...(inputs.gpioRoot ? { sysfsRoot: inputs.gpioRoot } : {}) }),
    model: () => checkModels({ sources: site.sources }),
  };
  const results: CheckResult[] = [];
  for (const name of selected) {
    let got: CheckResult[];
    try {
      got = await steps[name]();
    } catch (err) {
      // A check that throws is a bug in the check; the technician still gets the rest.
      got = [
        {
          id: name,
          title: name,
          status: 'fail',
          detail: `the check itself failed: ${err instanceof Error ? err.message : String(err)}`,
          fix: 'report this with the output of `zonegate doctor --json`',
        },
      ];
    }
    for (const r of got) {
      results.push(r);
      inputs.onResult?.(r);
    }
  }
  return results;
}

export function formatResult(r: CheckResult, width = 44): string {
  const line = `  ${CHECK_MARK[r.status]} ${r.title.padEnd(width)} ${r.detail}`;
  return r.fix ? `${line}\n      fix: ${r.fix}` : line;
}

export function summarise(results: readonly CheckResult[]): { text: string; failed: number } {
  const n = (s: CheckResult['status']): number => results.filter((r) => r.status === s).length;
  const failed = n('fail');
  return {
    failed,
    text: `${n('pass')} passed, ${n('warn')} warning${n('warn') === 1 ? '' : 's'}, ${failed} failed, ${n('skip')} skipped`,
  };
}
