import { accessSync, closeSync, constants, existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Gpio as OnoffGpio } from 'onoff';
import type { Registry } from 'prom-client';
import type { BollardConfig } from '../config/schema.js';
import type { Clock, TimerHandle } from '../shared/clock.js';
import type { Logger } from '../shared/log.js';
import { counter } from '../shared/metrics.js';
import { InputDebouncer } from './debounce.js';
import { findGpioChip, GpioError, SYSFS_GPIO_ROOT, type GpioChip } from './gpiochip.js';
import { ALL_OFF, type BollardDriver, type BollardInputs, type BollardOutputs } from './types.js';

type OutputName = keyof BollardOutputs;
type InputName = 'positionDown' | 'positionUp' | 'loop0' | 'loop1' | 'emergency' | 'controllerFault' | 'manualOverride';

/** Inputs taken at once when they turn active: they only ever make the controller more careful. */
const IMMEDIATE_WHEN_ACTIVE: ReadonlySet<InputName> = new Set([
  'loop0',
  'loop1',
  'emergency',
  'controllerFault',
  'manualOverride',
]);

export interface GpioDriverOptions {
  readonly laneId: string;
  readonly config: BollardConfig;
  readonly clock: Clock;
  readonly log: Logger;
  readonly registry: Registry;
  /** Sample inputs on edge interrupts (epoll on the value file). Default true. */
  readonly interrupts?: boolean;
  /** Sample inputs every timing.scanMs as well. Default true; the two paths back each other up. */
  readonly scan?: boolean;
  /** Only for finding the chip; onoff itself always uses /sys/class/gpio. */
  readonly gpioRoot?: string;
}

interface InputPin {
  readonly name: InputName;
  readonly bcm: number;
  readonly gpio: OnoffGpio;
  readonly interrupt: boolean;
  readonly debouncer: InputDebouncer;
}

interface OutputPin {
  readonly name: OutputName;
  readonly bcm: number;
  readonly gpio: OnoffGpio;
}

/**
 * A bollard on GPIO through onoff and the kernel's sysfs interface. Pins are configured by BCM
 * number and mapped through the header chip's base (gpiochip512 on current Raspberry Pi OS).
 *
 * Outputs are exported with an inactive initial level ('low', or 'high' for active-low relay
 * boards) so exporting never pulses a relay, and an output that is already exported keeps its
 * level: after a crash and restart a bollard held down stays held down.
 *
 * Inputs are sampled on edge interrupts and by a periodic scan; a change counts once it has been
 * stable for debounceMs, except a loop, emergency, controller fault or manual switch turning
 * active, which is taken at once (it can only stop a rise, never cause one).
 */
export class GpioBollardDriver implements BollardDriver {
  readonly kind = 'gpio' as const;
  readonly loopCount: number;
  readonly #o: GpioDriverOptions;
  #inputs: InputPin[] = [];
  #outputs: OutputPin[] = [];
  #levels: BollardOutputs = ALL_OFF;
  #state: BollardInputs;
  #scanTimer: TimerHandle | undefined;
  #running = false;
  #chip: GpioChip | undefined;
  readonly #listeners = new Set<(inputs: BollardInputs) => void>();
  readonly #metrics;

  constructor(options: GpioDriverOptions) {
    this.#o = options;
    const pins = options.config.pins;
    if (!pins) throw new GpioError('invalid-pin', `lane ${options.laneId}: driver gpio needs a pin map`);
    this.loopCount = pins.loops.length;
    this.#state = {
      positionDown: false,
      positionUp: false,
      loops: pins.loops.map(() => false),
      emergency: false,
      controllerFault: false,
      manualOverride: false,
    };
    const r = options.registry;
    this.#metrics = {
      errors: counter(r, 'zonegate_gpio_errors_total', 'GPIO failures, by lane and reason', ['lane', 'reason']),
      samples: counter(r, 'zonegate_gpio_samples_total', 'Input samples taken, by lane and path', ['lane', 'via']),
      changes: counter(r, 'zonegate_gpio_input_changes_total', 'Debounced input changes, by lane and input', [
        'lane',
        'input',
      ]),
      bounces: counter(r, 'zonegate_gpio_bounces_total', 'Input changes that did not last debounceMs', [
        'lane',
        'input',
      ]),
    };
  }

  /** The chip the BCM numbers were mapped through (after start). */
  get chip(): GpioChip | undefined {
    return this.#chip;
  }

  async start(): Promise<void> {
    if (this.#running) return;
    const { config, laneId, log } = this.#o;
    const pins = config.pins!;
    let Gpio: typeof OnoffGpio;
    try {
      ({ Gpio } = await import('onoff'));
    } catch (err) {
      throw this.#fail(
        new GpioError('gpio-missing', `cannot load onoff/epoll: ${err instanceof Error ? err.message : String(err)}`),
      );
    }
    const root = this.#o.gpioRoot ?? SYSFS_GPIO_ROOT;
    let chip: GpioChip;
    try {
      chip = findGpioChip(root, config.chipLabel);
    } catch (err) {
      throw this.#fail(err);
    }
    this.#chip = chip;
    const sysfs = (name: string, bcm: number): number => {
      if (bcm >= chip.ngpio)
        throw new GpioError(
          'invalid-pin',
          `pin ${name}: BCM ${bcm} is beyond ${chip.name} "${chip.label}", which has ${chip.ngpio} lines`,
        );
      return chip.base + bcm;
    };
    const open = async (name: string, bcm: number, make: (n: number) => OnoffGpio): Promise<OnoffGpio> => {
      const n = sysfs(name, bcm);
      try {
        return make(n);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        const dir = join(root, `gpio${n}`);
        if ((code !== 'EACCES' && code !== 'EPERM') || !existsSync(dir))
          throw describeOpenError(err, name, bcm, n, root);
        // Exported, but udev has not yet handed the new files to group gpio (it does so a few
        // milliseconds after the export): wait for that, then open again.
        if (!(await this.#waitWritable(dir))) throw describeOpenError(err, name, bcm, n, root);
        try {
          return make(n);
        } catch (again) {
          throw describeOpenError(again, name, bcm, n, root);
        }
      }
    };
    try {
      const outputPins: [OutputName, number | undefined][] =
        config.mode === 'open-pulse'
          ? [['openRequest', pins.openRequest]]
          : [
              ['lower', pins.lower],
              ['raise', pins.raise],
            ];
      outputPins.push(
        ['lightRed', pins.lightRed],
        ['lightGreen', pins.lightGreen],
        ['warning', pins.warning],
        ['heartbeat', pins.heartbeat],
      );
      const activeLow = config.outputActiveLow;
      for (const [name, bcm] of outputPins) {
        if (bcm === undefined) continue;
        // 'high'/'low' set the raw level with the direction: the inactive level, so no relay
        // clicks on export. reconfigureDirection false keeps an output that is already driven.
        const gpio = await open(
          name,
          bcm,
          (n) => new Gpio(n, activeLow ? 'high' : 'low', undefined, { activeLow, reconfigureDirection: false }),
        );
        this.#outputs.push({ name, bcm, gpio });
      }
      const inputPins: [InputName, number | undefined][] = [
        ['positionDown', pins.positionDown],
        ['positionUp', pins.positionUp],
        ...pins.loops.map((bcm, i): [InputName, number] => [i === 0 ? 'loop0' : 'loop1', bcm]),
        ['emergency', pins.emergency],
        ['controllerFault', pins.controllerFault],
        ['manualOverride', pins.manualOverride],
      ];
      const wantInterrupts = this.#o.interrupts ?? true;
      for (const [name, bcm] of inputPins) {
        if (bcm === undefined) continue;
        let interrupt = wantInterrupts;
        const gpio = await open(name, bcm, (n) => {
          if (!interrupt) return new Gpio(n, 'in', undefined, { activeLow: config.activeLow });
          try {
            return new Gpio(n, 'in', 'both', { activeLow: config.activeLow });
          } catch (err) {
            // Lines without an interrupt have no usable edge file: scan them instead.
            const code = (err as NodeJS.ErrnoException).code;
            if (code !== 'EIO' && code !== 'ENOENT' && code !== 'EINVAL') throw err;
            interrupt = false;
            log.warn({ lane: laneId, input: name, bcm, code }, 'no edge interrupt on this line; scanning it');
            return new Gpio(n, 'in', undefined, { activeLow: config.activeLow });
          }
        });
        const pinName = name;
        const debouncer = new InputDebouncer(gpio.readSync() === 1, {
          clock: this.#o.clock,
          ms: config.timing.debounceMs,
          ...(IMMEDIATE_WHEN_ACTIVE.has(name) ? { immediateLevel: true } : {}),
          read: () => gpio.readSync() === 1,
          onChange: () => this.#changed(pinName),
          onBounce: () => this.#metrics.bounces.inc({ lane: laneId, input: pinName }),
        });
        this.#inputs.push({ name, bcm, gpio, interrupt, debouncer });
      }
    } catch (err) {
      this.#release();
      throw this.#fail(err);
    }
    this.#levels = this.#readBackOutputs();
    this.#state = this.#compose();
    this.#running = true;
    for (const pin of this.#inputs) {
      if (pin.interrupt) {
        pin.gpio.watch((err) => {
          if (err) {
            this.#metrics.errors.inc({ lane: laneId, reason: 'io' });
            return;
          }
          this.#metrics.samples.inc({ lane: laneId, via: 'interrupt' });
          this.#sample(pin);
        });
      }
    }
    if (this.#o.scan ?? true) this.#scheduleScan();
    log.info(
      {
        lane: laneId,
        chip: `${chip.name} "${chip.label}" base ${chip.base}`,
        outputs: this.#outputs.map((p) => `${p.name}=BCM${p.bcm}/gpio${chip.base + p.bcm}`),
        inputs: this.#inputs.map(
          (p) => `${p.name}=BCM${p.bcm}/gpio${chip.base + p.bcm}${p.interrupt ? '' : ' (scan)'}`,
        ),
      },
      'GPIO bollard driver started',
    );
  }

  /**
   * Waits (up to 250 × 20 ms) until a freshly exported line's files are writable for this
   * process. A hardware wait at the edge, on real timers that keep the process alive.
   */
  async #waitWritable(dir: string): Promise<boolean> {
    for (let attempt = 0; attempt < 250; attempt++) {
      const files = ['value', 'direction', 'active_low', 'edge'].map((f) => join(dir, f)).filter((f) => existsSync(f));
      try {
        for (const f of files) accessSync(f, constants.R_OK | constants.W_OK);
        return true;
      } catch {
        await sleep(20);
      }
    }
    return false;
  }

  async stop(): Promise<void> {
    this.#running = false;
    this.#scanTimer?.cancel();
    this.#scanTimer = undefined;
    this.#release();
  }

  write(outputs: BollardOutputs): void {
    if (!this.#running) throw new GpioError('io', 'GPIO driver not started');
    const changed = this.#outputs.filter((p) => outputs[p.name] !== this.#levels[p.name]);
    // Release before activating, so lower and raise are never active together, not even for a write.
    const ordered = [...changed.filter((p) => !outputs[p.name]), ...changed.filter((p) => outputs[p.name])];
    for (const p of ordered) {
      try {
        p.gpio.writeSync(outputs[p.name] ? 1 : 0);
      } catch (err) {
        this.#metrics.errors.inc({ lane: this.#o.laneId, reason: 'io' });
        throw new GpioError(
          'io',
          `writing ${p.name} (BCM ${p.bcm}) failed: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
          (err as NodeJS.ErrnoException).code,
        );
      }
      this.#levels = { ...this.#levels, [p.name]: outputs[p.name] };
    }
    this.#levels = { ...outputs };
  }

  readOutputs(): BollardOutputs {
    return this.#levels;
  }

  read(): BollardInputs {
    return this.#state;
  }

  onInputs(listener: (inputs: BollardInputs) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #readBackOutputs(): BollardOutputs {
    const levels: Record<OutputName, boolean> = { ...ALL_OFF };
    for (const p of this.#outputs) levels[p.name] = p.gpio.readSync() === 1;
    return levels;
  }

  #scheduleScan(): void {
    const { clock, config, laneId } = this.#o;
    this.#scanTimer = clock.setTimer(config.timing.scanMs, () => {
      if (!this.#running) return;
      this.#metrics.samples.inc({ lane: laneId, via: 'scan' });
      for (const pin of this.#inputs) this.#sample(pin);
      this.#scheduleScan();
    });
  }

  #sample(pin: InputPin): void {
    if (!this.#running) return;
    let raw: boolean;
    try {
      raw = pin.gpio.readSync() === 1;
    } catch {
      this.#metrics.errors.inc({ lane: this.#o.laneId, reason: 'io' });
      // A loop the gateway can no longer read might have a vehicle on it: its last level must not
      // stand, so an unreadable careful input counts as active until a read shows otherwise.
      if (IMMEDIATE_WHEN_ACTIVE.has(pin.name)) pin.debouncer.sample(true);
      return;
    }
    pin.debouncer.sample(raw);
  }

  #changed(name: InputName): void {
    this.#metrics.changes.inc({ lane: this.#o.laneId, input: name });
    this.#state = this.#compose();
    if (!this.#running) return;
    for (const l of [...this.#listeners]) l(this.#state);
  }

  #compose(): BollardInputs {
    const get = (name: InputName): boolean => this.#inputs.find((p) => p.name === name)?.debouncer.level ?? false;
    return {
      positionDown: get('positionDown'),
      positionUp: get('positionUp'),
      loops: Array.from({ length: this.loopCount }, (_, i) => get(i === 0 ? 'loop0' : 'loop1')),
      emergency: get('emergency'),
      controllerFault: get('controllerFault'),
      manualOverride: get('manualOverride'),
    };
  }

  /**
   * Lets go of the pins. Inputs are unexported. Outputs are closed but stay exported: sysfs keeps
   * an exported output's level after the process lets go, and that level is the fail state the
   * controller put there; unexporting would return the line to an input and let the relay drop.
   */
  #release(): void {
    for (const pin of this.#inputs) {
      pin.debouncer.dispose();
      try {
        pin.gpio.unexport();
      } catch {
        // The line may already be gone; nothing else to release.
      }
    }
    for (const pin of this.#outputs) closeOutput(pin.gpio);
    this.#inputs = [];
    this.#outputs = [];
  }

  #fail(err: unknown): unknown {
    const reason = err instanceof GpioError ? err.code : 'io';
    this.#metrics.errors.inc({ lane: this.#o.laneId, reason });
    return err;
  }
}

/** onoff has no close-without-unexport; its value fd is the only resource an output holds. */
function closeOutput(gpio: OnoffGpio): void {
  const fd = (gpio as unknown as { _valueFd?: unknown })._valueFd;
  if (typeof fd === 'number') {
    try {
      closeSync(fd);
    } catch {
      // Already closed.
    }
  }
}

function describeOpenError(err: unknown, name: string, bcm: number, n: number, root: string): GpioError {
  if (err instanceof GpioError) return err;
  const code = (err as NodeJS.ErrnoException).code;
  const what = `pin ${name} (BCM ${bcm}, ${root}/gpio${n})`;
  switch (code) {
    case 'EBUSY':
      return new GpioError(
        'pin-busy',
        `${what} is busy: a kernel driver (1-wire, I2C, SPI, UART overlay in config.txt) or another program has claimed it`,
        code,
      );
    case 'EACCES':
    case 'EPERM':
      return new GpioError(
        'permission',
        `${what}: permission denied (${code}); run as root or add the service user to group "gpio" and install systemd/udev/99-zonegate-gpio.rules`,
        code,
      );
    case 'ENOENT':
      return new GpioError('gpio-missing', `${what}: the GPIO sysfs interface disappeared (${code})`, code);
    case 'EINVAL':
      return new GpioError('invalid-pin', `${what}: the kernel rejects this line number (${code})`, code);
    default:
      return new GpioError('io', `${what}: ${code ?? (err instanceof Error ? err.message : String(err))}`, code);
  }
}
