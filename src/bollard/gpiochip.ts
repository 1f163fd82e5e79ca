import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Where the kernel's sysfs GPIO interface lives; onoff uses this path and no other. */
export const SYSFS_GPIO_ROOT = '/sys/class/gpio';

/**
 * Chips that carry the Raspberry Pi's 40-pin header, in order of preference: RP1 on the Pi 5,
 * the BCM2711 on the Pi 4/400/CM4, the BCM2835 family on older boards. On current kernels their
 * sysfs numbers start at a dynamic base (512 for the Pi 4 header chip on 6.6), no longer at 0:
 * the base is read from the chip, never assumed.
 */
export const HEADER_CHIP_LABELS = ['pinctrl-rp1', 'pinctrl-bcm2711', 'pinctrl-bcm2835'] as const;

export type GpioErrorCode = 'gpio-missing' | 'chip-not-found' | 'invalid-pin' | 'pin-busy' | 'permission' | 'io';

/** A GPIO problem with a message a technician can act on; `code` is counted as the metric reason. */
export class GpioError extends Error {
  override name = 'GpioError';
  constructor(
    readonly code: GpioErrorCode,
    message: string,
    readonly errno?: string,
  ) {
    super(message);
  }
}

export interface GpioChip {
  /** Directory name, e.g. gpiochip512. */
  readonly name: string;
  readonly base: number;
  readonly ngpio: number;
  readonly label: string;
}

export function listGpioChips(root = SYSFS_GPIO_ROOT): GpioChip[] {
  let names: string[];
  try {
    names = readdirSync(root).filter((n) => /^gpiochip\d+$/.test(n));
  } catch (err) {
    throw missing(root, err);
  }
  const chips: GpioChip[] = [];
  for (const name of names) {
    const read = (attr: string): string => readFileSync(join(root, name, attr), 'utf8').trim();
    try {
      const base = Number.parseInt(read('base'), 10);
      const ngpio = Number.parseInt(read('ngpio'), 10);
      if (!Number.isInteger(base) || !Number.isInteger(ngpio)) continue;
      chips.push({ name, base, ngpio, label: read('label') });
    } catch {
      // A chip directory without readable attributes is not one we can use.
    }
  }
  return chips.sort((a, b) => a.base - b.base);
}

/**
 * The chip the configured BCM numbers refer to: the one labelled `label` when given, otherwise
 * the Raspberry Pi header chip. The sysfs number of BCM pin n is then `base + n`.
 */
export function findGpioChip(root = SYSFS_GPIO_ROOT, label?: string): GpioChip {
  if (!existsSync(join(root, 'export'))) throw missing(root);
  const chips = listGpioChips(root);
  const found = label
    ? chips.find((c) => c.label === label)
    : HEADER_CHIP_LABELS.map((l) => chips.find((c) => c.label === l)).find((c) => c !== undefined);
  if (found) return found;
  const seen = chips.length > 0 ? chips.map((c) => `${c.name} "${c.label}" (${c.ngpio} lines)`).join(', ') : 'none';
  throw new GpioError(
    'chip-not-found',
    label
      ? `no gpiochip labelled "${label}" under ${root}; chips found: ${seen}`
      : `no Raspberry Pi header gpiochip (${HEADER_CHIP_LABELS.join(', ')}) under ${root}; chips found: ${seen}. ` +
          'Set bollard.chipLabel to the chip your pins are on.',
  );
}

function missing(root: string, err?: unknown): GpioError {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'EACCES' || code === 'EPERM')
    return new GpioError('permission', `no permission to read ${root} (${code})`, code);
  return new GpioError(
    'gpio-missing',
    `no GPIO sysfs interface at ${root}: the kernel needs CONFIG_GPIO_SYSFS (Raspberry Pi OS has it); ` +
      'in a container, bind-mount /sys/class/gpio',
    code,
  );
}
