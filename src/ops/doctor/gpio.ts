import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { GpioError, SYSFS_GPIO_ROOT as SYSFS_GPIO } from '../../bollard/gpiochip.js';
import { probeBollard, type BollardProbe, type PinProbe } from '../../bollard/probe.js';
import type { LaneConfig } from '../../config/schema.js';
import { groupId } from './serial.js';
import { result, type CheckResult } from './types.js';

/**
 * One line of pin levels for a check's detail or the provisioning record: the physical level
 * (what a meter on the pin shows) and, for inputs, whether the config reads it as active.
 */
export function formatReadings(readings: readonly PinProbe[]): string {
  return readings
    .map((r) => {
      const pin = `${r.role}(BCM${r.bcm})`;
      if (r.error) return `${pin}=? ${r.error}`;
      if (r.released) return `${pin} released`;
      const level = r.high ? 1 : 0;
      return r.input ? `${pin}=${level}${r.active ? ' active' : ''}` : `${pin} out=${level}`;
    })
    .join(', ');
}

/**
 * GPIO of every bollard lane: the sysfs interface is there and the service user (group gpio)
 * may export pins; every pin reads; the position inputs do not contradict each other.
 */
export async function checkGpio(input: {
  lanes: readonly LaneConfig[];
  sysfsRoot?: string;
  groupFile?: string;
  serviceGroup?: string;
  /** How long a freshly exported pin may take to appear (udev sets its permissions first). */
  exportTimeoutMs?: number;
}): Promise<CheckResult[]> {
  const lanes = input.lanes.filter((l) => l.bollard?.driver === 'gpio');
  if (lanes.length === 0) return [result('gpio', 'bollard GPIO', 'skip', 'no lane drives a bollard over GPIO')];
  const root = input.sysfsRoot ?? SYSFS_GPIO;
  if (!existsSync(join(root, 'export')))
    return [
      result(
        'gpio',
        'bollard GPIO',
        'fail',
        `${root}/export is missing: the kernel has no sysfs GPIO interface`,
        'use a Raspberry Pi OS kernel (CONFIG_GPIO_SYSFS=y); inside a container, bind-mount /sys/class/gpio',
      ),
    ];
  const out: CheckResult[] = [];
  const groupName = input.serviceGroup ?? 'gpio';
  const gid = groupId(groupName, input.groupFile);
  const st = statSync(join(root, 'export'));
  const groupWritable = (st.mode & 0o020) !== 0 && gid !== undefined && st.gid === gid;
  let writable = true;
  try {
    accessSync(join(root, 'export'), constants.W_OK);
  } catch {
    writable = false;
  }
  out.push(
    groupWritable || (st.mode & 0o002) !== 0
      ? result(
          'gpio-access',
          'GPIO access for the service user',
          'pass',
          `${root}/export writable by group ${groupName}`,
        )
      : result(
          'gpio-access',
          'GPIO access for the service user',
          'fail',
          `${root}/export is not writable by group ${groupName} (mode ${(st.mode & 0o777).toString(8)}, gid ${st.gid})${writable ? '' : '; not writable for this user either'}`,
          'install the udev rule systemd/udev/99-zonegate-gpio.rules (scripts/install does) and reboot, ' +
            'or on Raspberry Pi OS make sure the stock rule /etc/udev/rules.d/99-com.rules is present',
        ),
  );
  for (const lane of lanes) {
    const id = `gpio:${lane.id}`;
    const title = `bollard pins of lane ${lane.id}`;
    let probe: BollardProbe;
    try {
      probe = await probeBollard(lane.bollard!, {
        root,
        ...(input.exportTimeoutMs !== undefined ? { exportTimeoutMs: input.exportTimeoutMs } : {}),
      });
    } catch (err) {
      if (!(err instanceof GpioError)) throw err;
      out.push(
        result(
          id,
          title,
          'fail',
          err.message,
          err.code === 'chip-not-found'
            ? 'set lanes[].bollard.chipLabel to the gpiochip the pins are on (see the chips listed)'
            : 'see docs/operations.md, GPIO',
        ),
      );
      continue;
    }
    const errors = probe.pins.filter((r) => r.error);
    const shown = formatReadings(probe.pins);
    if (errors.length > 0) {
      out.push(
        result(
          id,
          title,
          'fail',
          `cannot read ${errors.map((e) => `${e.role}(BCM${e.bcm}): ${e.error}`).join('; ')}`,
          'check the pin numbers in lanes[].bollard.pins (BCM numbering, not header positions) and that no other program holds them',
        ),
      );
      continue;
    }
    if (probe.position === 'unknown')
      out.push(
        result(
          id,
          title,
          'fail',
          `position down and up are both active: ${shown}`,
          'the position contacts contradict each other: check their wiring and lanes[].bollard.activeLow',
        ),
      );
    else if (probe.position === 'moving')
      out.push(
        result(
          id,
          title,
          'warn',
          `neither position contact is active (moving, or not wired): ${shown}`,
          "if the bollard stands still, check the position contacts' wiring and lanes[].bollard.activeLow",
        ),
      );
    else out.push(result(id, title, 'pass', `bollard ${probe.position}: ${shown}`));
  }
  return out;
}
