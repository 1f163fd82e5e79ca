import { DateTime } from 'luxon';

/** Every list time (windows, validity dates) is local time here, whatever the gateway's TZ is. */
export const LIST_TIME_ZONE = 'Europe/Amsterdam';

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/**
 * The UTC offset of Europe/Amsterdam changes only on whole UTC hours (01:00 UTC on the last Sunday of
 * March and October), so the offset found for one UTC hour holds for all of it. Remembering the last
 * hour keeps luxon's time-zone arithmetic (microseconds) off the hot path without changing results.
 */
let memoHour = Number.NaN;
let memoOffsetMs = 0;

function offsetMs(now: number): number {
  const hour = Math.floor(now / HOUR_MS);
  if (hour !== memoHour) {
    memoOffsetMs = DateTime.fromMillis(hour * HOUR_MS, { zone: LIST_TIME_ZONE }).offset * 60_000;
    memoHour = hour;
  }
  return memoOffsetMs;
}

export interface LocalMoment {
  /** ISO weekday, 1 = Monday … 7 = Sunday. */
  readonly weekday: number;
  /** Minutes after local midnight, 0–1439. */
  readonly minute: number;
}

/** Weekday and minute of the day in Europe/Amsterdam at `now` (ms epoch). */
export function localMoment(now: number): LocalMoment {
  const local = now + offsetMs(now);
  const day = Math.floor(local / DAY_MS);
  // 1970-01-01 was a Thursday (ISO weekday 4).
  const weekday = ((((day + 3) % 7) + 7) % 7) + 1;
  return { weekday, minute: Math.floor((local - day * DAY_MS) / 60_000) };
}

/** ms epoch of local midnight starting the given calendar date (YYYY-MM-DD) in Europe/Amsterdam. */
export function localDateStart(isoDate: string): number | undefined {
  const dt = DateTime.fromISO(isoDate, { zone: LIST_TIME_ZONE });
  return dt.isValid ? dt.startOf('day').toMillis() : undefined;
}

/** The local calendar date (YYYY-MM-DD) at `ms`, for messages and exports. */
export function localDate(ms: number): string {
  return DateTime.fromMillis(ms, { zone: LIST_TIME_ZONE }).toISODate() ?? '';
}

/**
 * Local midnight of the calendar date `years` before the local date of `now`: a vehicle first admitted
 * (at a local midnight) on or before it is at least `years` old at `now`. Depends only on the local
 * date, so it is computed once per day and age: luxon's calendar arithmetic stays off the hot path.
 */
const yearsMemo = new Map<number, { day: number; at: number }>();

export function yearsBefore(now: number, years: number): number {
  const day = Math.floor((now + offsetMs(now)) / DAY_MS);
  const m = yearsMemo.get(years);
  if (m && m.day === day) return m.at;
  const at = DateTime.fromMillis(now, { zone: LIST_TIME_ZONE }).startOf('day').minus({ years }).toMillis();
  yearsMemo.set(years, { day, at });
  return at;
}
