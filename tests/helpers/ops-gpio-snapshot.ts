import { chmodSync, chownSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { groupId } from '../../src/ops/doctor/serial.js';

/**
 * A directory shaped like /sys/class/gpio as the kernel shows it while a gateway runs: a gpiochip
 * with its base and label, export/unexport writable by the gpio group, and the given pins already
 * exported with active_low 0 (value files hold the physical levels). Pins not listed are not exported; writing their number
 * to `export` does nothing here, as on a kernel where another driver holds them.
 */
export function gpioSnapshotTree(
  dir: string,
  chip: { base: number; label: string; ngpio?: number },
  levels: Readonly<Record<number, '0' | '1'>>,
  outputs: readonly number[] = [],
): string {
  const root = join(dir, `gpio-${chip.label}-${chip.base}`);
  mkdirSync(join(root, `gpiochip${chip.base}`), { recursive: true });
  writeFileSync(join(root, `gpiochip${chip.base}`, 'base'), `${chip.base}\n`);
  writeFileSync(join(root, `gpiochip${chip.base}`, 'label'), `${chip.label}\n`);
  writeFileSync(join(root, `gpiochip${chip.base}`, 'ngpio'), `${chip.ngpio ?? 54}\n`);
  for (const f of ['export', 'unexport']) {
    writeFileSync(join(root, f), '');
    chownSync(join(root, f), 0, groupId('gpio') ?? groupId('dialout') ?? 0);
    chmodSync(join(root, f), 0o220);
  }
  for (const [bcm, v] of Object.entries(levels)) {
    const d = join(root, `gpio${chip.base + Number(bcm)}`);
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, 'direction'), outputs.includes(Number(bcm)) ? 'out\n' : 'in\n');
    writeFileSync(join(d, 'value'), `${v}\n`);
    writeFileSync(join(d, 'active_low'), '0\n');
  }
  return root;
}
