import { accessSync, constants, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BollardConfig } from '../config/schema.js';
import { findGpioChip, SYSFS_GPIO_ROOT, type GpioChip } from './gpiochip.js';
import { positionOf, type BollardInputs, type BollardOutputs, type BollardPosition } from './types.js';

export interface PinProbe {
  /** 'positionDown', 'loops[1]', 'lower' … */
  readonly role: string;
  readonly bcm: number;
  /** sysfs line number: the chip's base + bcm. */
  readonly gpio: number;
  readonly input: boolean;
  /** As the kernel shows it; undefined when the pin could not be read (or is released). */
  readonly direction?: 'in' | 'out';
  /** Physical level; undefined when it could not be read (or an output nobody drives). */
  readonly high?: boolean;
  /** In the config's sense (activeLow / outputActiveLow applied). */
  readonly active?: boolean;
  /** An output that is not exported: no process drives it (after a reboot, say). */
  readonly released?: boolean;
  readonly error?: string;
}

export interface BollardProbe {
  readonly chip: GpioChip;
  readonly pins: readonly PinProbe[];
  readonly inputs: BollardInputs;
  readonly position: BollardPosition;
  /** Active outputs; an output without a pin or not driven reads false. */
  readonly outputs: BollardOutputs;
}

export interface ProbeOptions {
  /** /sys/class/gpio unless a container maps it elsewhere. */
  readonly root?: string;
  /** How long a pin this probe exports may take to become readable (udev runs after the export). */
  readonly exportTimeoutMs?: number;
}

const INPUT_ROLES = ['positionDown', 'positionUp', 'loops', 'emergency', 'controllerFault', 'manualOverride'] as const;
const OUTPUT_ROLES = ['lower', 'raise', 'openRequest', 'lightRed', 'lightGreen', 'warning', 'heartbeat'] as const;
const LINE_FILES = ['value', 'direction', 'active_low'] as const;

/**
 * Waits until a line this process just exported can be read: the kernel creates the files
 * during the export, but udev hands them to group gpio only afterwards, and a bind-mounted or
 * emulated tree may be later still. Bounded, so a pin that never appears is an error, not a hang.
 */
async function waitReadable(dir: string, gpio: number, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    try {
      for (const f of LINE_FILES) accessSync(join(dir, f), constants.R_OK);
      return;
    } catch {
      if (performance.now() >= deadline) throw new Error(`gpio${gpio} did not appear after export`);
      await sleep(10);
    }
  }
}

/**
 * Reads a bollard's pins as they are, driving nothing: for `zonegate bollard status`, `zonegate
 * doctor` and provisioning, while the gateway runs or not. An input that is not exported is
 * exported, read and unexported; an output is only read when exported (exporting it would not
 * show a level anyone drives). Levels are taken physically (value XOR active_low: the running
 * gateway's onoff sets active_low, so its value files already show logical levels) and then
 * given the config's polarity. A tree without the configured chip throws the driver's GpioError;
 * a pin that cannot be read carries its error instead of a level.
 */
export async function probeBollard(config: BollardConfig, options: ProbeOptions = {}): Promise<BollardProbe> {
  const root = options.root ?? SYSFS_GPIO_ROOT;
  const exportTimeoutMs = options.exportTimeoutMs ?? 2_000;
  const pins = config.pins;
  if (!pins) throw new Error('driver gpio needs a pin map');
  const chip = findGpioChip(root, config.chipLabel);
  const probes: PinProbe[] = [];
  const read = async (role: string, bcm: number, input: boolean): Promise<PinProbe> => {
    const gpio = chip.base + bcm;
    const dir = join(root, `gpio${gpio}`);
    let exported = false;
    try {
      if (!existsSync(dir)) {
        if (!input) return { role, bcm, gpio, input, released: true };
        writeFileSync(join(root, 'export'), String(gpio));
        exported = true;
        await waitReadable(dir, gpio, exportTimeoutMs);
      }
      const direction = readFileSync(join(dir, 'direction'), 'utf8').trim() === 'out' ? 'out' : 'in';
      const value = readFileSync(join(dir, 'value'), 'utf8').trim() === '1';
      const flag = readFileSync(join(dir, 'active_low'), 'utf8').trim() === '1';
      const high = value !== flag;
      const activeLow = input ? config.activeLow : config.outputActiveLow;
      return { role, bcm, gpio, input, direction, high, active: high !== activeLow };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      return {
        role,
        bcm,
        gpio,
        input,
        error:
          code === 'EBUSY'
            ? 'in use by a kernel driver or another program (EBUSY)'
            : (code ?? (err instanceof Error ? err.message : String(err))),
      };
    } finally {
      if (exported) {
        try {
          writeFileSync(join(root, 'unexport'), String(gpio));
        } catch {
          // Left exported: harmless, the driver exports it anyway.
        }
      }
    }
  };
  for (const role of INPUT_ROLES) {
    const v = pins[role];
    if (Array.isArray(v)) for (const [i, bcm] of v.entries()) probes.push(await read(`${role}[${i}]`, bcm, true));
    else if (v !== undefined) probes.push(await read(role, v, true));
  }
  for (const role of OUTPUT_ROLES) {
    const v = pins[role];
    if (v !== undefined) probes.push(await read(role, v, false));
  }
  const active = (role: string): boolean => probes.find((p) => p.role === role)?.active ?? false;
  const inputs: BollardInputs = {
    positionDown: active('positionDown'),
    positionUp: active('positionUp'),
    loops: pins.loops.map((_, i) => active(`loops[${i}]`)),
    emergency: active('emergency'),
    controllerFault: active('controllerFault'),
    manualOverride: active('manualOverride'),
  };
  const outputs = Object.fromEntries(OUTPUT_ROLES.map((r) => [r, active(r)])) as unknown as BollardOutputs;
  return { chip, pins: probes, inputs, position: positionOf(inputs), outputs };
}
