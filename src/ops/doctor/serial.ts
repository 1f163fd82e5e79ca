import { readFileSync, realpathSync, statSync } from 'node:fs';
import type { SourceConfig } from '../../config/schema.js';
import { result, type CheckResult } from './types.js';

/** The gid of a group from an /etc/group file, undefined when there is no such group. */
export function groupId(name: string, groupFile = '/etc/group'): number | undefined {
  try {
    for (const line of readFileSync(groupFile, 'utf8').split('\n')) {
      const [n, , gid] = line.split(':');
      if (n === name && gid !== undefined) return Number(gid);
    }
  } catch {
    // no group file: treated as no such group
  }
  return undefined;
}

/**
 * Each serial camera's device: present, a character device, and readable and writable by the
 * service user through the dialout group (as root every access() succeeds, so the mode bits are
 * what is checked). The line itself is checked by `zonegate probe serial`.
 */
export function checkSerialDevices(input: {
  sources: readonly SourceConfig[];
  serviceGroup?: string;
  groupFile?: string;
}): CheckResult[] {
  const serial = input.sources.filter((s) => s.kind === 'serial');
  if (serial.length === 0) return [result('serial', 'serial cameras', 'skip', 'no serial sources configured')];
  const groupName = input.serviceGroup ?? 'dialout';
  const gid = groupId(groupName, input.groupFile);
  return serial.map((s) => {
    const id = `serial:${s.id}`;
    const title = `serial device of ${s.id} (${s.device})`;
    const device = s.device!;
    let st;
    try {
      st = statSync(device);
    } catch (err) {
      return result(
        id,
        title,
        'fail',
        `${device} is not there (${(err as NodeJS.ErrnoException).code})`,
        `check the camera's cable and USB adapter (\`dmesg | tail\`, \`ls -l /dev/serial/by-path/\`); ` +
          'prefer a /dev/serial/by-path/… name in sources[].device: ttyUSB numbers change when adapters are replugged',
      );
    }
    const real = (() => {
      try {
        return realpathSync(device);
      } catch {
        return device;
      }
    })();
    if (!st.isCharacterDevice())
      return result(
        id,
        title,
        'fail',
        `${device} is not a character device`,
        'sources[].device must name the serial port, e.g. /dev/ttyUSB0',
      );
    const groupRw = (st.mode & 0o060) === 0o060 && gid !== undefined && st.gid === gid;
    const otherRw = (st.mode & 0o006) === 0o006;
    const mode = (st.mode & 0o777).toString(8).padStart(3, '0');
    if (!groupRw && !otherRw)
      return result(
        id,
        title,
        'fail',
        `${real} has mode ${mode}, group ${st.gid}: the service user (group ${groupName}) cannot open it`,
        `install the udev rule (scripts/install puts systemd/udev/60-zonegate-serial.rules in /etc/udev/rules.d) and replug, ` +
          `or \`chgrp ${groupName} ${real} && chmod 660 ${real}\` for now`,
      );
    return result(
      id,
      title,
      'pass',
      `${real}, character device, mode ${mode}${groupRw ? `, group ${groupName}` : ''}, ${s.baudRate} baud`,
    );
  });
}
