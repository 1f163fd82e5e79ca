import type { TimeWindow } from './types.js';
import type { LocalMoment } from './local-time.js';

export const DAY_NAMES = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type DayName = (typeof DAY_NAMES)[number];

/**
 * Whether any window is open at the local moment. A window that runs past midnight belongs to the
 * day it starts on: its part after midnight is open on the following day.
 */
export function windowOpen(windows: readonly TimeWindow[], at: LocalMoment): boolean {
  const yesterday = at.weekday === 1 ? 7 : at.weekday - 1;
  for (const w of windows) {
    if (w.fromMinute < w.untilMinute) {
      if (at.minute >= w.fromMinute && at.minute < w.untilMinute && w.days.includes(at.weekday)) return true;
    } else {
      if (at.minute >= w.fromMinute && w.days.includes(at.weekday)) return true;
      if (at.minute < w.untilMinute && w.days.includes(yesterday)) return true;
    }
  }
  return false;
}

const HHMM = /^(\d{1,2}):(\d{2})$/;

/** "07:30" → 450; "24:00" → 1440 when `allowEndOfDay`; undefined when not a time. */
export function parseMinute(text: string, allowEndOfDay = false): number | undefined {
  const m = HHMM.exec(text.trim());
  if (!m) return undefined;
  const h = Number(m[1]);
  const min = Number(m[2]);
  if (min > 59) return undefined;
  if (h === 24 && min === 0 && allowEndOfDay) return 1440;
  if (h > 23) return undefined;
  return h * 60 + min;
}

export function formatMinute(minute: number): string {
  return `${String(Math.floor(minute / 60)).padStart(2, '0')}:${String(minute % 60).padStart(2, '0')}`;
}

function parseDays(text: string): number[] | string {
  const t = text.trim().toLowerCase();
  if (t === 'daily' || t === '*') return [1, 2, 3, 4, 5, 6, 7];
  const days = new Set<number>();
  for (const part of t.split(',')) {
    const range = part.split('-');
    if (range.length > 2) return `"${part}" is not a day or a day range`;
    const idx = range.map((d) => DAY_NAMES.indexOf(d as DayName) + 1);
    const bad = range.find((_, i) => idx[i] === 0);
    if (bad !== undefined) return `"${bad}" is not a day (use ${DAY_NAMES.join(', ')}, a range like mon-fri, or daily)`;
    const [a, b = a] = idx as [number, number?];
    // A range may wrap over Sunday (sat-mon).
    for (let d = a; ; d = (d % 7) + 1) {
      days.add(d);
      if (d === b) break;
    }
  }
  return [...days].sort((x, y) => x - y);
}

/**
 * Parses the list format of windows: `DAYS HH:MM-HH:MM`, several separated by `;`, e.g.
 * `mon-fri 07:00-11:00; sat 08:00-10:00` or `fri,sat 22:00-02:00` (past midnight) or `daily 00:00-24:00`.
 * Returns the windows or a message saying what is wrong.
 */
export function parseWindows(text: string): TimeWindow[] | string {
  const out: TimeWindow[] = [];
  for (const raw of text.split(';')) {
    const part = raw.trim();
    if (!part) continue;
    const m = /^(\S+)\s+(\d{1,2}:\d{2})\s*-\s*(\d{1,2}:\d{2})$/.exec(part);
    if (!m) return `window "${part}" is not "DAYS HH:MM-HH:MM" (e.g. "mon-fri 07:00-11:00")`;
    const days = parseDays(m[1]!);
    if (typeof days === 'string') return `window "${part}": ${days}`;
    const from = parseMinute(m[2]!);
    const until = parseMinute(m[3]!, true);
    if (from === undefined) return `window "${part}": "${m[2]}" is not a time 00:00–23:59`;
    if (until === undefined) return `window "${part}": "${m[3]}" is not a time 00:00–24:00`;
    if (from === until) return `window "${part}" is empty: from and until are equal`;
    out.push({ days, fromMinute: from, untilMinute: until });
  }
  return out;
}

/** The list format of windows (inverse of parseWindows). */
export function formatWindows(windows: readonly TimeWindow[]): string {
  return windows
    .map(
      (w) =>
        `${w.days.map((d) => DAY_NAMES[d - 1]).join(',')} ${formatMinute(w.fromMinute)}-${formatMinute(w.untilMinute)}`,
    )
    .join('; ');
}

/** Windows from the site config's `{ days: [mon, …], from: 'HH:MM', until: 'HH:MM' }` form. */
export function windowsFromConfig(
  windows: readonly { readonly days: readonly DayName[]; readonly from: string; readonly until: string }[],
): TimeWindow[] {
  return windows.map((w) => ({
    days: w.days.map((d) => DAY_NAMES.indexOf(d) + 1).sort((a, b) => a - b),
    fromMinute: parseMinute(w.from)!,
    untilMinute: parseMinute(w.until, true)!,
  }));
}
