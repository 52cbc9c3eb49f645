/**
 * Effective dates of HR records: when a day starts and ends in a person's time zone, when a hire or termination
 * takes effect, and which status follows from a record at a given moment. Pure (the clock is an argument), and
 * DST-correct: days are computed in the zone with luxon, never as 24-hour steps.
 */
import { DateTime, IANAZone } from 'luxon';
import { GatehouseError } from '../kit/errors.ts';
import { TimeErrors } from '../jobs/local-time.ts';
import type { HrRecord, PersonStatus } from './types.ts';

const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;

/**
 * Luxon's zone lookups cost ~100 µs each (Intl under the hood); an import asks for the same few zones and days
 * over and over. The results are pure, so they are memoised in small bounded maps.
 */
const MEMO_LIMIT = 10_000;
const zoneValidity = new Map<string, boolean>();
const dayBounds = new Map<string, number>();
const earlierDays = new Map<string, string>();

function remember<V>(memo: Map<string, V>, key: string, value: V): V {
  if (memo.size >= MEMO_LIMIT) memo.clear();
  memo.set(key, value);
  return value;
}

/** IANAZone.isValidZone, memoised. */
export function isValidZone(zone: string): boolean {
  return zoneValidity.get(zone) ?? remember(zoneValidity, zone, IANAZone.isValidZone(zone));
}

function localDay(date: string, zone: string): DateTime {
  if (!isValidZone(zone)) {
    throw new GatehouseError(
      TimeErrors.badZone,
      `"${zone}" is not a known IANA time zone (e.g. Europe/Berlin, America/New_York)`,
      { problems: [{ field: 'timeZone', message: 'unknown IANA time zone', value: zone }] },
    );
  }
  const day = DATE_RE.test(date) ? DateTime.fromISO(date, { zone }) : null;
  if (day === null || !day.isValid) {
    throw new GatehouseError(TimeErrors.badTime, `"${date}" is not a date like 2026-12-01`, {
      problems: [{ field: 'date', message: 'expected YYYY-MM-DD', value: date }],
    });
  }
  return day;
}

/**
 * The first instant of `date` in `zone`: 00:00 local, or the first minute that exists when the clocks skip
 * midnight (e.g. America/Santiago on the day DST starts).
 */
export function startOfDay(date: string, zone: string): Date {
  const key = `s|${zone}|${date}`;
  const ms = dayBounds.get(key) ?? remember(dayBounds, key, localDay(date, zone).startOf('day').toMillis());
  return new Date(ms);
}

/** 23:59:59 local on `date` in `zone` (the design's "end of that day"). */
export function endOfDay(date: string, zone: string): Date {
  const key = `e|${zone}|${date}`;
  const ms =
    dayBounds.get(key) ??
    remember(
      dayBounds,
      key,
      localDay(date, zone).set({ hour: 23, minute: 59, second: 59, millisecond: 0 }).toMillis(),
    );
  return new Date(ms);
}

/** `date` minus `days` calendar days (`YYYY-MM-DD`), memoised: a file has a few thousand hire dates at most. */
export function minusDays(date: string, days: number): string {
  const key = `${days}|${date}`;
  return earlierDays.get(key) ?? remember(earlierDays, key, daysBefore(date, days));
}

function daysBefore(date: string, days: number): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  const real =
    m !== null &&
    new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))).toISOString().slice(0, 10) === date;
  if (m === null || !real || !Number.isInteger(days)) {
    throw new GatehouseError(TimeErrors.badTime, `"${date}" is not a date like 2026-12-01`);
  }
  return new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]) - days)).toISOString().slice(0, 10);
}

function zoneOf(record: Pick<HrRecord, 'timeZone'>, defaultZone: string): string {
  return record.timeZone ?? defaultZone;
}

/**
 * When a termination takes effect: a date means 23:59:59 that day in the person's zone; an instant (`…Z`) is
 * itself. Null when there is no termination.
 */
export function terminationInstant(
  record: Pick<HrRecord, 'terminationDate' | 'timeZone'>,
  defaultZone: string,
): Date | null {
  const value = record.terminationDate;
  if (value === null) return null;
  if (DATE_RE.test(value)) return endOfDay(value, zoneOf(record, defaultZone));
  const instant = new Date(value);
  if (Number.isNaN(instant.getTime())) {
    throw new GatehouseError(TimeErrors.badTime, `"${value}" is neither a date nor an instant`);
  }
  return instant;
}

/** 00:00 on the hire date in the person's zone; null without a hire date. */
export function hireStartInstant(
  record: Pick<HrRecord, 'hireDate' | 'timeZone'>,
  defaultZone: string,
): Date | null {
  return record.hireDate === null ? null : startOfDay(record.hireDate, zoneOf(record, defaultZone));
}

/**
 * When a joiner's accounts are created (disabled): 00:00 on `hire date − leadTimeDays` in the person's zone. Null
 * without a hire date.
 */
export function joinerInstant(
  record: Pick<HrRecord, 'hireDate' | 'timeZone'>,
  leadTimeDays: number,
  defaultZone: string,
): Date | null {
  if (record.hireDate === null) return null;
  return startOfDay(minusDays(record.hireDate, leadTimeDays), zoneOf(record, defaultZone));
}

/**
 * The status Gatehouse keeps for a record at `now`:
 * HR says terminated → terminated; the termination instant has passed → terminated; HR says on leave → on_leave;
 * the hire day has not started → prehire (also HR's `prehire` without a hire date); otherwise active. A future
 * termination keeps the person active until it takes effect.
 */
export function derivedStatus(
  record: Pick<HrRecord, 'status' | 'hireDate' | 'terminationDate' | 'timeZone'>,
  now: Date,
  defaultZone: string,
): PersonStatus {
  if (record.status === 'terminated') return 'terminated';
  const termination = terminationInstant(record, defaultZone);
  if (termination !== null && termination.getTime() <= now.getTime()) return 'terminated';
  if (record.status === 'on_leave') return 'on_leave';
  const start = hireStartInstant(record, defaultZone);
  if (start !== null && start.getTime() > now.getTime()) return 'prehire';
  if (start === null && record.status === 'prehire') return 'prehire';
  return 'active';
}
