import { existsSync } from 'node:fs';
import type { OpsConfig } from '../config/schema.js';
import { result, type CheckResult } from './doctor/types.js';
import type { CommandRunner } from './run-command.js';

/**
 * Is the wall clock synchronised? Time windows (venstertijden), grant validity and list age all
 * read the wall clock, and a Raspberry Pi has no battery-backed clock: after a power cut without
 * network it starts at the last saved time, hours or days off. Several sources can tell:
 * chrony (offset and leap status), systemd-timedated (NTPSynchronized), and the kernel itself
 * (adjtimex: STA_UNSYNC and the maximum error), which every NTP daemon keeps up to date. The
 * first source that answers decides; the others are not consulted.
 */
export interface ClockFacts {
  /** undefined: no source could tell. */
  readonly synchronized: boolean | undefined;
  readonly source: 'chrony' | 'timedatectl' | 'kernel' | 'timesyncd' | 'none';
  /** Estimated offset from true time, ms (chrony's system time offset). */
  readonly offsetMs?: number;
  readonly detail: string;
}

/** Kernel timex status bit: the clock is not synchronised to a reference. */
const STA_UNSYNC = 0x0040;
/** adjtimex() return value when the clock is not synchronised. */
const TIME_ERROR = 5;

/**
 * Reads struct timex through libc's adjtimex(2) (read-only: modes = 0). Node has no binding for
 * it, Python's ctypes does, and python3 is on every Raspberry Pi OS image. The struct is padded
 * well beyond the kernel's size; only fields before `time` are read, whose layout is the same on
 * 32- and 64-bit ABIs.
 */
const ADJTIMEX_PY = String.raw`
import ctypes, ctypes.util, json
L = ctypes.c_long
class timex(ctypes.Structure):
    _fields_ = [("modes", ctypes.c_uint), ("offset", L), ("freq", L), ("maxerror", L), ("esterror", L),
                ("status", ctypes.c_int), ("rest", ctypes.c_byte * 512)]
libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
t = timex()
state = libc.adjtimex(ctypes.byref(t))
print(json.dumps({"state": state, "errno": ctypes.get_errno(), "status": t.status, "maxerror": t.maxerror}))
`;

export function parseChronyTracking(text: string): ClockFacts | undefined {
  const field = (name: string): string | undefined => new RegExp(`^${name}\\s*:\\s*(.+)$`, 'm').exec(text)?.[1]?.trim();
  const leap = field('Leap status');
  if (leap === undefined) return undefined;
  const sys = /^([\d.]+) seconds (fast|slow)/.exec(field('System time') ?? '');
  const offsetMs = sys ? Number(sys[1]) * 1000 : undefined;
  const synced = leap !== 'Not synchronised';
  return {
    synchronized: synced,
    source: 'chrony',
    ...(offsetMs !== undefined ? { offsetMs } : {}),
    detail: synced
      ? `chrony: leap status ${leap}, reference ${field('Reference ID') ?? '?'}${sys ? `, ${sys[1]} s ${sys[2]}` : ''}`
      : 'chrony: not synchronised to any source',
  };
}

export function parseAdjtimex(json: string): ClockFacts | undefined {
  try {
    const t = JSON.parse(json) as { state: number; status: number; maxerror: number };
    if (typeof t.state !== 'number' || t.state < 0) return undefined;
    const synced = t.state !== TIME_ERROR && (t.status & STA_UNSYNC) === 0;
    const maxErrorMs = t.maxerror / 1000;
    // maxerror is a bound that grows between NTP updates, not an offset: reported, not judged.
    return {
      synchronized: synced,
      source: 'kernel',
      detail: synced
        ? `kernel: synchronised, maximum error ${maxErrorMs.toFixed(1)} ms`
        : `kernel: clock not synchronised (STA_UNSYNC), maximum error ${Math.round(maxErrorMs / 1000)} s`,
    };
  } catch {
    return undefined;
  }
}

export async function probeClockSync(run: CommandRunner, options: { timesyncFile?: string } = {}): Promise<ClockFacts> {
  const chrony = await run('chronyc', ['-n', 'tracking']);
  if (chrony.code === 0) {
    const facts = parseChronyTracking(chrony.stdout);
    if (facts) return facts;
  }
  const timedatectl = await run('timedatectl', ['show', '-p', 'NTPSynchronized', '--value']);
  if (timedatectl.code === 0 && /^(yes|no)$/.test(timedatectl.stdout.trim())) {
    const synced = timedatectl.stdout.trim() === 'yes';
    return {
      synchronized: synced,
      source: 'timedatectl',
      detail: synced ? 'systemd-timedated: NTP synchronised' : 'systemd-timedated: NTP not synchronised',
    };
  }
  const kernel = await run('python3', ['-c', ADJTIMEX_PY]);
  if (kernel.code === 0) {
    const facts = parseAdjtimex(kernel.stdout);
    if (facts) return facts;
  }
  const file = options.timesyncFile ?? '/run/systemd/timesync/synchronized';
  if (existsSync(file))
    return { synchronized: true, source: 'timesyncd', detail: `systemd-timesyncd: ${file} present` };
  return {
    synchronized: undefined,
    source: 'none',
    detail: 'no time source answered (chronyc, timedatectl, adjtimex)',
  };
}

const CLOCK_FIX =
  'give the gateway a time source: network access to NTP (chrony or systemd-timesyncd, `timedatectl set-ntp true`), ' +
  'or a GPS/RTC module; check with `chronyc tracking` or `timedatectl`. ' +
  'Until then time windows and grant validity are judged on a clock that may be wrong.';

/** The site's policy decides whether an unsynchronised clock fails the gateway or only warns. */
export function judgeClock(facts: ClockFacts, policy: OpsConfig['clock']): CheckResult {
  const bad = policy.unsynchronized === 'fault' ? 'fail' : 'warn';
  const title = 'clock synchronisation';
  if (facts.synchronized === undefined) return result('clock', title, bad, facts.detail, CLOCK_FIX);
  if (!facts.synchronized)
    return result('clock', title, bad, `${facts.detail} (site policy: ${policy.unsynchronized})`, CLOCK_FIX);
  if (facts.offsetMs !== undefined && facts.offsetMs > policy.maxOffsetMs)
    return result(
      'clock',
      title,
      bad,
      `${facts.detail}; offset ${Math.round(facts.offsetMs)} ms exceeds ops.clock.maxOffsetMs ${policy.maxOffsetMs}`,
      'wait for the NTP daemon to converge (minutes), or check the NTP servers it uses (`chronyc sources`)',
    );
  return result('clock', title, 'pass', facts.detail);
}
