import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { closeSync, openSync, read, writeSync } from 'node:fs';

/**
 * A GPIO tree that behaves like the kernel's /sys/class/gpio, served over FUSE from the test
 * process and mounted in a private mount namespace of a child process, so that onoff (which
 * hard-codes /sys/class/gpio) runs unchanged against it.
 *
 * What makes it behave like the kernel rather than like a directory of files: every access is
 * a request this process answers the way gpiolib-sysfs does. Writing `export` creates gpioN
 * (synchronously, before the write returns) or fails with EBUSY when the line is already
 * exported or claimed by a kernel driver, and EINVAL for a number no chip has or text that is
 * not a number; `unexport` of a line that is not exported is EINVAL; `value` of an input is
 * EPERM to write; `direction` takes in/out/high/low (high and low set the raw level with the
 * direction); `edge` is EIO on an output or a line without an interrupt (whose edge file is
 * not there at all); `active_low` inverts value reads, writes and edges; read-only attributes
 * refuse to open for writing (EACCES even for root); a file of an unexported line is ENODEV.
 * poll(2) on `value` reports POLLPRI|POLLERR after an edge until the file is read again, and
 * the tree wakes pollers with FUSE poll notifications, so epoll (onoff's watch()) really fires.
 *
 * What it cannot cover: electrical behaviour (pull resistors, contact bounce at microsecond
 * scale, a floating line), interrupt latency of real hardware, pinctrl muxing, udev actually
 * running (its effect on modes and group is emulated with `group`), and the GPIO character
 * device (/dev/gpiochipN), which the driver does not use.
 */

export interface GpioChipSpec {
  readonly base: number;
  readonly ngpio: number;
  readonly label: string;
  /** Chip offsets whose lines have no interrupt (no edge file). */
  readonly noIrq?: readonly number[];
}

export interface GpioTreeOptions {
  readonly chips: readonly GpioChipSpec[];
  /** sysfs numbers claimed by a kernel driver: export is EBUSY. */
  readonly claimed?: readonly number[];
  /**
   * Emulate Raspberry Pi OS's udev rule (chgrp gpio, chmod g=u): files get this group and
   * group write. Without it, only root may write (as on a kernel without the rule).
   */
  readonly group?: number;
  /** How long after an export udev takes to apply `group` to the new line's files. */
  readonly udevDelayMs?: number;
  /** Only these lines (sysfs numbers) are that slow; default all. */
  readonly udevSlowLines?: readonly number[];
}

export interface GpioLineView {
  readonly gpio: number;
  readonly exported: boolean;
  readonly direction: 'in' | 'out';
  readonly activeLow: boolean;
  readonly edge: 'none' | 'rising' | 'falling' | 'both';
  /** Physical level on the wire. */
  readonly high: boolean;
}

/** A change of the physical level an output drives (or of its direction). */
export interface GpioWrite {
  readonly at: number;
  readonly gpio: number;
  readonly high: boolean;
  readonly via: 'value' | 'direction';
}

interface Line {
  readonly gpio: number;
  readonly chip: GpioChipSpec;
  readonly irq: boolean;
  out: boolean;
  /** Driven level (outputs). */
  outHigh: boolean;
  /** Level the outside world puts on the line (inputs). */
  wireHigh: boolean;
  activeLow: boolean;
  edge: 'none' | 'rising' | 'falling' | 'both';
  exported: boolean;
  generation: number;
  exportedAt: number;
  /** sysfs_notify counter: bumped on every edge that the edge setting selects. */
  events: number;
}

type NodeKind =
  | { kind: 'root' }
  | { kind: 'export' | 'unexport' }
  | { kind: 'chip'; chip: GpioChipSpec }
  | { kind: 'chip-attr'; chip: GpioChipSpec; attr: 'base' | 'label' | 'ngpio' }
  | { kind: 'line'; gpio: number; generation: number }
  | { kind: 'line-attr'; gpio: number; generation: number; attr: LineAttr };

type LineAttr = 'direction' | 'value' | 'edge' | 'active_low';
const LINE_ATTRS: readonly LineAttr[] = ['active_low', 'direction', 'edge', 'value'];

const E = {
  EPERM: 1,
  ENOENT: 2,
  EIO: 5,
  EBADF: 9,
  EACCES: 13,
  EBUSY: 16,
  ENODEV: 19,
  ENOTDIR: 20,
  EISDIR: 21,
  EINVAL: 22,
  ENOSYS: 38,
} as const;

class Errno extends Error {
  constructor(readonly errno: number) {
    super(`errno ${errno}`);
  }
}

/** Raspberry Pi 4 on Raspberry Pi OS with kernel 6.6+: the header chip starts at 512. */
export const RASPBERRY_PI_4_CHIPS: readonly GpioChipSpec[] = [
  { base: 512, ngpio: 58, label: 'pinctrl-bcm2711' },
  { base: 570, ngpio: 8, label: 'raspberrypi-exp-gpio', noIrq: [0, 1, 2, 3, 4, 5, 6, 7] },
];

export class GpioTree {
  readonly chips: readonly GpioChipSpec[];
  readonly group: number | undefined;
  readonly udevDelayMs: number;
  readonly #udevSlow: ReadonlySet<number> | undefined;
  readonly writes: GpioWrite[] = [];
  readonly #lines = new Map<number, Line>();
  readonly #claimed: Set<number>;
  readonly #nodes = new Map<number, NodeKind>();
  readonly #nodeIds = new Map<string, number>();
  #nextNode = 2;
  readonly #connections = new Set<FuseConnection>();
  readonly #writeListeners = new Set<(write: GpioWrite) => void>();

  constructor(options: GpioTreeOptions = { chips: RASPBERRY_PI_4_CHIPS }) {
    this.chips = options.chips;
    this.group = options.group;
    this.udevDelayMs = options.udevDelayMs ?? 0;
    this.#udevSlow = options.udevSlowLines ? new Set(options.udevSlowLines) : undefined;
    this.#claimed = new Set(options.claimed ?? []);
    this.#nodes.set(1, { kind: 'root' });
    this.#nodeIds.set('root', 1);
  }

  /** sysfs number of a BCM pin on the header chip (the first chip). */
  bcm(pin: number): number {
    return this.chips[0]!.base + pin;
  }

  /** Puts a physical level on a line from outside (a limit switch, a loop detector relay). */
  setInput(gpio: number, high: boolean): void {
    const line = this.#line(gpio);
    if (!line) throw new Error(`no GPIO ${gpio} on any chip`);
    const before = this.#logical(line);
    line.wireHigh = high;
    const after = this.#logical(line);
    if (line.out || before === after || !line.exported) return;
    const rising = after && !before;
    if (line.edge === 'both' || (line.edge === 'rising' && rising) || (line.edge === 'falling' && !rising)) {
      line.events++;
      for (const c of this.#connections) c.notifyValue(gpio);
    }
  }

  /** Physical level an output drives, or undefined while the line is an input. */
  level(gpio: number): boolean | undefined {
    const line = this.#lines.get(gpio);
    return line?.out ? line.outHigh : undefined;
  }

  line(gpio: number): GpioLineView {
    const l = this.#line(gpio);
    if (!l) throw new Error(`no GPIO ${gpio} on any chip`);
    return {
      gpio,
      exported: l.exported,
      direction: l.out ? 'out' : 'in',
      activeLow: l.activeLow,
      edge: l.edge,
      high: l.out ? l.outHigh : l.wireHigh,
    };
  }

  /** Called whenever an output's physical level changes (what a relay would see). */
  onWrite(listener: (write: GpioWrite) => void): () => void {
    this.#writeListeners.add(listener);
    return () => this.#writeListeners.delete(listener);
  }

  exported(): number[] {
    return [...this.#lines.values()].filter((l) => l.exported).map((l) => l.gpio);
  }

  /**
   * Runs `command args…` in a private mount namespace where this tree is /sys/class/gpio. Each
   * child gets its own FUSE connection; the tree (and so the lines) is shared between them.
   */
  spawn(
    command: string,
    args: readonly string[],
    options: SpawnOptions = {},
    namespace: { readonly gpio?: boolean } = {},
  ): ChildProcess {
    const stdio = options.stdio ?? ['pipe', 'pipe', 'pipe'];
    const base = Array.isArray(stdio) ? [...stdio] : [stdio, stdio, stdio];
    while (base.length < 3) base.push('pipe');
    if (namespace.gpio === false) {
      // A machine without the sysfs GPIO interface: /sys/class exists, /sys/class/gpio does not.
      const script = 'set -e; mount -t tmpfs zg-sys-class /sys/class; exec "$@"';
      return spawn('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script, 'sh', command, ...args], {
        ...options,
        stdio: base.slice(0, 3),
      });
    }
    let fd: number;
    try {
      fd = openSync('/dev/fuse', 'r+');
    } catch (err) {
      throw new Error(
        `the GPIO tree needs FUSE (/dev/fuse) and root (for unshare -m and mount): ${(err as Error).message}`,
        { cause: err },
      );
    }
    const mountOptions = 'fd=3,rootmode=40000,user_id=0,group_id=0,default_permissions,allow_other';
    const script =
      'set -e; mount -t tmpfs zg-sys-class /sys/class; mkdir /sys/class/gpio; ' +
      `mount -t fuse -o ${mountOptions} zg-gpio /sys/class/gpio; exec 3>&-; exec "$@"`;
    const child = spawn('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script, 'sh', command, ...args], {
      ...options,
      stdio: [...base.slice(0, 3), fd, ...base.slice(4)],
    });
    const conn = new FuseConnection(this, fd);
    this.#connections.add(conn);
    void conn.closed.then(() => this.#connections.delete(conn));
    child.once('exit', () => conn.childExited());
    conn.run();
    return child;
  }

  // ---- the kernel's side, used by the FUSE connection ----

  /** @internal */
  nodeOf(id: number): NodeKind | undefined {
    return this.#nodes.get(id);
  }

  /** @internal */
  idOf(node: NodeKind): number {
    const key = nodeKey(node);
    let id = this.#nodeIds.get(key);
    if (id === undefined) {
      id = this.#nextNode++;
      this.#nodeIds.set(key, id);
      this.#nodes.set(id, node);
    }
    return id;
  }

  /** @internal Children of a directory node, or undefined when it is not a directory. */
  children(node: NodeKind): [string, NodeKind][] | undefined {
    switch (node.kind) {
      case 'root': {
        const out: [string, NodeKind][] = [
          ['export', { kind: 'export' }],
          ['unexport', { kind: 'unexport' }],
        ];
        for (const chip of this.chips) out.push([`gpiochip${chip.base}`, { kind: 'chip', chip }]);
        for (const l of [...this.#lines.values()].filter((x) => x.exported).sort((a, b) => a.gpio - b.gpio))
          out.push([`gpio${l.gpio}`, { kind: 'line', gpio: l.gpio, generation: l.generation }]);
        return out;
      }
      case 'chip':
        return (['base', 'label', 'ngpio'] as const).map((attr) => [
          attr,
          { kind: 'chip-attr', chip: node.chip, attr },
        ]);
      case 'line': {
        const l = this.#live(node);
        return LINE_ATTRS.filter((attr) => attr !== 'edge' || l.irq).map((attr) => [
          attr,
          { kind: 'line-attr', gpio: node.gpio, generation: node.generation, attr },
        ]);
      }
      default:
        return undefined;
    }
  }

  /** @internal Mode bits and group of a node, as sysfs (and udev, with `group`) would set them. */
  modeOf(node: NodeKind): { mode: number; gid: number } {
    let g = this.group;
    if (g !== undefined && (node.kind === 'line' || node.kind === 'line-attr')) {
      // Until udev has run for a new line, its files have the kernel's modes (root only).
      const l = this.#lines.get(node.gpio);
      const slow = this.#udevSlow === undefined || this.#udevSlow.has(node.gpio);
      if (l && slow && Date.now() - l.exportedAt < this.udevDelayMs) g = undefined;
    }
    const gid = g ?? 0;
    switch (node.kind) {
      case 'root':
      case 'chip':
      case 'line':
        return { mode: 0o40755, gid };
      case 'export':
      case 'unexport':
        return { mode: g === undefined ? 0o100200 : 0o100220, gid };
      case 'chip-attr':
        return { mode: 0o100444, gid };
      case 'line-attr':
        return { mode: g === undefined ? 0o100644 : 0o100664, gid };
    }
  }

  /** @internal Whether a node still exists (a line's files vanish on unexport). */
  exists(node: NodeKind): boolean {
    if (node.kind !== 'line' && node.kind !== 'line-attr') return true;
    const l = this.#lines.get(node.gpio);
    if (!l || !l.exported || l.generation !== node.generation) return false;
    return node.kind === 'line' || node.attr !== 'edge' || l.irq;
  }

  /** @internal The file's content, as the attribute's show() prints it. */
  show(node: NodeKind): string {
    switch (node.kind) {
      case 'chip-attr':
        return node.attr === 'label' ? `${node.chip.label}\n` : `${node.chip[node.attr]}\n`;
      case 'line-attr': {
        const l = this.#live(node);
        switch (node.attr) {
          case 'value':
            return `${this.#logical(l) ? 1 : 0}\n`;
          case 'direction':
            return l.out ? 'out\n' : 'in\n';
          case 'edge':
            return `${l.edge}\n`;
          case 'active_low':
            return l.activeLow ? '1\n' : '0\n';
        }
        break;
      }
      default:
        break;
    }
    throw new Errno(E.EACCES);
  }

  /** @internal The attribute's store(): what the kernel does with a write. */
  store(node: NodeKind, text: string): void {
    switch (node.kind) {
      case 'export':
        return this.#export(kstrtol(text));
      case 'unexport':
        return this.#unexport(kstrtol(text));
      case 'line-attr':
        break;
      default:
        throw new Errno(E.EACCES);
    }
    const l = this.#live(node);
    switch (node.attr) {
      case 'direction': {
        const v = sysfsStr(text);
        if (v === 'high' || v === 'low' || v === 'out') {
          l.out = true;
          l.outHigh = v === 'high';
          this.#recordWrite({ at: Date.now(), gpio: l.gpio, high: l.outHigh, via: 'direction' });
        } else if (v === 'in') {
          l.out = false;
        } else throw new Errno(E.EINVAL);
        return;
      }
      case 'value': {
        const v = kstrtol(text);
        if (!l.out) throw new Errno(E.EPERM);
        const high = (v !== 0) !== l.activeLow;
        const changed = high !== l.outHigh;
        l.outHigh = high;
        if (changed) this.#recordWrite({ at: Date.now(), gpio: l.gpio, high, via: 'value' });
        return;
      }
      case 'edge': {
        const v = sysfsStr(text);
        if (v !== 'none' && v !== 'rising' && v !== 'falling' && v !== 'both') throw new Errno(E.EINVAL);
        if (v !== 'none' && (l.out || !l.irq)) throw new Errno(E.EIO);
        l.edge = v;
        return;
      }
      case 'active_low':
        l.activeLow = kstrtol(text) !== 0;
        return;
    }
  }

  /** @internal Edge events since boot for a value file (sysfs_notify count). */
  events(node: NodeKind): number {
    if (node.kind !== 'line-attr' || node.attr !== 'value') return 0;
    return this.#lines.get(node.gpio)?.events ?? 0;
  }

  #recordWrite(write: GpioWrite): void {
    this.writes.push(write);
    for (const l of [...this.#writeListeners]) l(write);
  }

  #export(gpio: number): void {
    const line = this.#line(gpio);
    if (!line) throw new Errno(E.EINVAL);
    if (line.exported || this.#claimed.has(gpio)) throw new Errno(E.EBUSY);
    line.exported = true;
    line.exportedAt = Date.now();
    line.generation++;
    line.edge = 'none';
  }

  #unexport(gpio: number): void {
    const line = this.#line(gpio);
    if (!line || !line.exported) throw new Errno(E.EINVAL);
    line.exported = false;
    // gpiod_free clears the flags; the hardware keeps its direction and level.
    line.activeLow = false;
    line.edge = 'none';
  }

  #line(gpio: number): Line | undefined {
    let line = this.#lines.get(gpio);
    if (line) return line;
    const chip = this.chips.find((c) => gpio >= c.base && gpio < c.base + c.ngpio);
    if (!chip) return undefined;
    line = {
      gpio,
      chip,
      irq: !(chip.noIrq ?? []).includes(gpio - chip.base),
      out: false,
      outHigh: false,
      wireHigh: false,
      activeLow: false,
      edge: 'none',
      exported: false,
      generation: 0,
      exportedAt: 0,
      events: 0,
    };
    this.#lines.set(gpio, line);
    return line;
  }

  #live(node: { gpio: number; generation: number }): Line {
    const l = this.#lines.get(node.gpio);
    if (!l || !l.exported || l.generation !== node.generation) throw new Errno(E.ENODEV);
    return l;
  }

  #logical(l: Line): boolean {
    return (l.out ? l.outHigh : l.wireHigh) !== l.activeLow;
  }
}

function nodeKey(n: NodeKind): string {
  switch (n.kind) {
    case 'root':
    case 'export':
    case 'unexport':
      return n.kind;
    case 'chip':
      return `chip:${n.chip.base}`;
    case 'chip-attr':
      return `chip:${n.chip.base}:${n.attr}`;
    case 'line':
      return `line:${n.gpio}:${n.generation}`;
    case 'line-attr':
      return `line:${n.gpio}:${n.generation}:${n.attr}`;
  }
}

/** The kernel's kstrtol(buf, 0): decimal, 0x hex or 0 octal, one trailing newline allowed. */
function kstrtol(text: string): number {
  const s = text.endsWith('\n') ? text.slice(0, -1) : text;
  const m = /^([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.exec(s);
  if (!m) throw new Errno(E.EINVAL);
  const body = m[2]!;
  const v =
    body.startsWith('0x') || body.startsWith('0X')
      ? Number.parseInt(body.slice(2), 16)
      : body.length > 1 && body.startsWith('0')
        ? Number.parseInt(body, 8)
        : Number.parseInt(body, 10);
  return m[1] === '-' ? -v : v;
}

/** sysfs_streq: equal up to one trailing newline. */
function sysfsStr(text: string): string {
  return text.endsWith('\n') ? text.slice(0, -1) : text;
}

// ---- FUSE ----

const OP = {
  LOOKUP: 1,
  FORGET: 2,
  GETATTR: 3,
  SETATTR: 4,
  MKNOD: 8,
  MKDIR: 9,
  UNLINK: 10,
  RMDIR: 11,
  RENAME: 12,
  LINK: 13,
  OPEN: 14,
  READ: 15,
  WRITE: 16,
  STATFS: 17,
  RELEASE: 18,
  FSYNC: 20,
  FLUSH: 25,
  INIT: 26,
  OPENDIR: 27,
  READDIR: 28,
  RELEASEDIR: 29,
  ACCESS: 34,
  CREATE: 35,
  INTERRUPT: 36,
  DESTROY: 38,
  POLL: 40,
  BATCH_FORGET: 42,
  RENAME2: 45,
} as const;

const FUSE_ATOMIC_O_TRUNC = 1 << 3;
const FOPEN_DIRECT_IO = 1 << 0;
const FUSE_POLL_SCHEDULE_NOTIFY = 1 << 0;
const FUSE_NOTIFY_POLL = 1;
const O_ACCMODE = 3;
const O_WRONLY = 1;
const O_RDWR = 2;
/** DEFAULT_POLLMASK: EPOLLIN | EPOLLOUT | EPOLLRDNORM | EPOLLWRNORM. */
const POLL_DEFAULT = 0x001 | 0x004 | 0x040 | 0x100;
const POLLPRI = 0x002;
const POLLERR = 0x008;

interface Handle {
  readonly node: NodeKind;
  /** sysfs: the event count seen by this open file (updated when it is read). */
  seen: number;
  pollKh: bigint | undefined;
}

/** One mount's connection: reads requests from /dev/fuse and answers them from the tree. */
class FuseConnection {
  readonly #tree: GpioTree;
  readonly #fd: number;
  readonly #buf = Buffer.alloc(1 << 16);
  readonly #handles = new Map<bigint, Handle>();
  #nextHandle = 1n;
  #open = true;
  #exited = false;
  #resolveClosed!: () => void;
  readonly closed = new Promise<void>((r) => (this.#resolveClosed = r));

  constructor(tree: GpioTree, fd: number) {
    this.#tree = tree;
    this.#fd = fd;
  }

  run(): void {
    read(this.#fd, this.#buf, 0, this.#buf.length, null, (err, n) => {
      if (err) {
        // EPERM until the child has mounted; ENODEV once the namespace (and the mount) is gone.
        if (err.code === 'EPERM' && !this.#exited) {
          setTimeout(() => this.run(), 5);
          return;
        }
        this.#close();
        return;
      }
      try {
        this.#handle(this.#buf.subarray(0, n));
      } catch {
        // A reply to a request the kernel already dropped (interrupted) fails: nothing to do.
      }
      this.run();
    });
  }

  childExited(): void {
    this.#exited = true;
    // A child that exits before mounting leaves the read waiting on EPERM retries; end them.
    setTimeout(() => {
      if (this.#open && this.#handles.size === 0) this.#close();
    }, 200).unref();
  }

  notifyValue(gpio: number): void {
    for (const h of this.#handles.values()) {
      if (h.pollKh === undefined || h.node.kind !== 'line-attr' || h.node.gpio !== gpio || h.node.attr !== 'value')
        continue;
      const kh = h.pollKh;
      h.pollKh = undefined;
      const out = Buffer.alloc(24);
      out.writeUInt32LE(24, 0);
      out.writeInt32LE(FUSE_NOTIFY_POLL, 4);
      out.writeBigUInt64LE(0n, 8);
      out.writeBigUInt64LE(kh, 16);
      try {
        writeSync(this.#fd, out);
      } catch {
        // The mount is going away.
      }
    }
  }

  #close(): void {
    if (!this.#open) return;
    this.#open = false;
    try {
      closeSync(this.#fd);
    } catch {
      // Already closed.
    }
    this.#resolveClosed();
  }

  #reply(unique: bigint, error: number, body?: Buffer): void {
    const h = Buffer.alloc(16);
    const len = 16 + (body?.length ?? 0);
    h.writeUInt32LE(len, 0);
    h.writeInt32LE(-error, 4);
    h.writeBigUInt64LE(unique, 8);
    writeSync(this.#fd, body ? Buffer.concat([h, body]) : h);
  }

  #attr(id: number, node: NodeKind): Buffer {
    const a = Buffer.alloc(88);
    const { mode, gid } = this.#tree.modeOf(node);
    const dir = (mode & 0o170000) === 0o40000;
    a.writeBigUInt64LE(BigInt(id), 0);
    a.writeBigUInt64LE(dir ? 0n : 4096n, 8);
    a.writeUInt32LE(mode, 60);
    a.writeUInt32LE(dir ? 2 : 1, 64);
    a.writeUInt32LE(0, 68);
    a.writeUInt32LE(gid, 72);
    a.writeUInt32LE(4096, 80);
    return a;
  }

  #entry(id: number, node: NodeKind): Buffer {
    // Zero validity: the kernel asks again every time, so unexport is seen at once.
    return Buffer.concat([writeU64(id), Buffer.alloc(32), this.#attr(id, node)]);
  }

  #handle(req: Buffer): void {
    const opcode = req.readUInt32LE(4);
    const unique = req.readBigUInt64LE(8);
    const nodeid = Number(req.readBigUInt64LE(16));
    const body = req.subarray(40);
    const tree = this.#tree;
    const node = tree.nodeOf(nodeid);
    const fail = (errno: number): void => this.#reply(unique, errno);
    try {
      switch (opcode) {
        case OP.INIT: {
          const minor = Math.min(body.readUInt32LE(4), 31);
          const out = Buffer.alloc(64);
          out.writeUInt32LE(7, 0);
          out.writeUInt32LE(minor, 4);
          out.writeUInt32LE(body.readUInt32LE(8), 8);
          out.writeUInt32LE(FUSE_ATOMIC_O_TRUNC, 12);
          out.writeUInt16LE(16, 16);
          out.writeUInt16LE(12, 18);
          out.writeUInt32LE(4096, 20);
          out.writeUInt32LE(1, 24);
          return this.#reply(unique, 0, out);
        }
        case OP.FORGET:
        case OP.BATCH_FORGET:
        case OP.INTERRUPT:
        case OP.DESTROY:
          return;
        case OP.LOOKUP: {
          if (!node || !tree.exists(node)) return fail(E.ENOENT);
          const name = body.subarray(0, body.indexOf(0)).toString();
          const kids = tree.children(node);
          if (!kids) return fail(E.ENOTDIR);
          const hit = kids.find(([n]) => n === name);
          if (!hit) return fail(E.ENOENT);
          return this.#reply(unique, 0, this.#entry(tree.idOf(hit[1]), hit[1]));
        }
        case OP.GETATTR:
        case OP.SETATTR: {
          if (!node || !tree.exists(node)) return fail(E.ENOENT);
          return this.#reply(unique, 0, Buffer.concat([Buffer.alloc(16), this.#attr(nodeid, node)]));
        }
        case OP.OPEN: {
          if (!node || !tree.exists(node)) return fail(E.ENOENT);
          const flags = body.readUInt32LE(0);
          const acc = flags & O_ACCMODE;
          const wantsWrite = acc === O_WRONLY || acc === O_RDWR;
          const wantsRead = acc !== O_WRONLY;
          const writable = node.kind === 'export' || node.kind === 'unexport' || node.kind === 'line-attr';
          const readable = node.kind !== 'export' && node.kind !== 'unexport';
          // kernfs refuses an open the attribute cannot serve, whatever the caller's privileges.
          if ((wantsWrite && !writable) || (wantsRead && !readable)) return fail(E.EACCES);
          const fh = this.#nextHandle++;
          this.#handles.set(fh, { node, seen: tree.events(node), pollKh: undefined });
          const out = Buffer.alloc(16);
          out.writeBigUInt64LE(fh, 0);
          out.writeUInt32LE(FOPEN_DIRECT_IO, 8);
          return this.#reply(unique, 0, out);
        }
        case OP.READ: {
          const h = this.#handles.get(body.readBigUInt64LE(0));
          if (!h) return fail(E.EBADF);
          const offset = Number(body.readBigUInt64LE(8));
          const size = body.readUInt32LE(16);
          if (!tree.exists(h.node)) return fail(E.ENODEV);
          const text = Buffer.from(tree.show(h.node));
          h.seen = tree.events(h.node);
          return this.#reply(unique, 0, text.subarray(offset, offset + size));
        }
        case OP.WRITE: {
          const h = this.#handles.get(body.readBigUInt64LE(0));
          if (!h) return fail(E.EBADF);
          const size = body.readUInt32LE(16);
          const data = body.subarray(40, 40 + size).toString('latin1');
          if (!tree.exists(h.node)) return fail(E.ENODEV);
          tree.store(h.node, data);
          const out = Buffer.alloc(8);
          out.writeUInt32LE(size, 0);
          return this.#reply(unique, 0, out);
        }
        case OP.POLL: {
          const h = this.#handles.get(body.readBigUInt64LE(0));
          if (!h) return fail(E.EBADF);
          const kh = body.readBigUInt64LE(8);
          const flags = body.readUInt32LE(16);
          let revents = POLL_DEFAULT;
          if (h.node.kind === 'line-attr' && h.node.attr === 'value') {
            if (!tree.exists(h.node)) revents |= POLLERR;
            else if (h.seen !== tree.events(h.node)) revents |= POLLPRI | POLLERR;
            if (flags & FUSE_POLL_SCHEDULE_NOTIFY) h.pollKh = kh;
          }
          const out = Buffer.alloc(8);
          out.writeUInt32LE(revents, 0);
          return this.#reply(unique, 0, out);
        }
        case OP.RELEASE:
        case OP.RELEASEDIR:
          this.#handles.delete(body.readBigUInt64LE(0));
          return this.#reply(unique, 0);
        case OP.FLUSH:
        case OP.FSYNC:
        case OP.ACCESS:
          return this.#reply(unique, 0);
        case OP.OPENDIR: {
          if (!node || !tree.exists(node)) return fail(E.ENOENT);
          if (!tree.children(node)) return fail(E.ENOTDIR);
          const fh = this.#nextHandle++;
          this.#handles.set(fh, { node, seen: 0, pollKh: undefined });
          const out = Buffer.alloc(16);
          out.writeBigUInt64LE(fh, 0);
          return this.#reply(unique, 0, out);
        }
        case OP.READDIR: {
          const h = this.#handles.get(body.readBigUInt64LE(0));
          if (!h) return fail(E.EBADF);
          const offset = Number(body.readBigUInt64LE(8));
          const size = body.readUInt32LE(16);
          const kids = tree.exists(h.node) ? (tree.children(h.node) ?? []) : [];
          const all: [string, number, number][] = [
            ['.', nodeid, 4],
            ['..', 1, 4],
            ...kids.map(([n, k]): [string, number, number] => [
              n,
              tree.idOf(k),
              k.kind === 'chip' || k.kind === 'line' ? 4 : 8,
            ]),
          ];
          const parts: Buffer[] = [];
          let used = 0;
          for (let i = offset; i < all.length; i++) {
            const [name, ino, type] = all[i]!;
            const nb = Buffer.from(name);
            const len = (24 + nb.length + 7) & ~7;
            if (used + len > size) break;
            const d = Buffer.alloc(len);
            d.writeBigUInt64LE(BigInt(ino), 0);
            d.writeBigUInt64LE(BigInt(i + 1), 8);
            d.writeUInt32LE(nb.length, 16);
            d.writeUInt32LE(type, 20);
            nb.copy(d, 24);
            parts.push(d);
            used += len;
          }
          return this.#reply(unique, 0, Buffer.concat(parts));
        }
        case OP.STATFS: {
          const out = Buffer.alloc(80);
          out.writeUInt32LE(4096, 40);
          out.writeUInt32LE(255, 44);
          out.writeUInt32LE(4096, 48);
          return this.#reply(unique, 0, out);
        }
        case OP.CREATE:
        case OP.MKNOD:
        case OP.MKDIR:
          return fail(E.EACCES);
        case OP.UNLINK:
        case OP.RMDIR:
        case OP.RENAME:
        case OP.RENAME2:
        case OP.LINK:
          return fail(E.EPERM);
        default:
          return fail(E.ENOSYS);
      }
    } catch (err) {
      if (err instanceof Errno) return fail(err.errno);
      return fail(E.EIO);
    }
  }
}

function writeU64(v: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(v), 0);
  return b;
}
