import { describe, expect, it } from 'vitest';
import { GatehouseError } from '../kit/errors.ts';
import { TimeErrors } from '../jobs/local-time.ts';
import {
  derivedStatus,
  endOfDay,
  hireStartInstant,
  joinerInstant,
  minusDays,
  startOfDay,
  terminationInstant,
} from './effective.ts';
import type { HrRecord } from './types.ts';

type Timing = Pick<HrRecord, 'status' | 'hireDate' | 'terminationDate' | 'timeZone'>;
const blank: Timing = { status: null, hireDate: null, terminationDate: null, timeZone: null };

describe('startOfDay / endOfDay', () => {
  it.each([
    // Ordinary days.
    ['2026-12-01', 'Europe/Berlin', '2026-11-30T23:00:00.000Z', '2026-12-01T22:59:59.000Z'],
    ['2026-07-01', 'Europe/Berlin', '2026-06-30T22:00:00.000Z', '2026-07-01T21:59:59.000Z'],
    ['2026-07-01', 'UTC', '2026-07-01T00:00:00.000Z', '2026-07-01T23:59:59.000Z'],
    ['2026-07-01', 'Asia/Kolkata', '2026-06-30T18:30:00.000Z', '2026-07-01T18:29:59.000Z'],
    // Berlin springs forward on 2026-03-29 (02:00 → 03:00): starts in CET, ends in CEST, 23 hours long.
    ['2026-03-29', 'Europe/Berlin', '2026-03-28T23:00:00.000Z', '2026-03-29T21:59:59.000Z'],
    // Berlin falls back on 2026-10-25: starts in CEST, ends in CET, 25 hours long.
    ['2026-10-25', 'Europe/Berlin', '2026-10-24T22:00:00.000Z', '2026-10-25T22:59:59.000Z'],
    // New York springs forward on 2026-03-08 and falls back on 2026-11-01.
    ['2026-03-08', 'America/New_York', '2026-03-08T05:00:00.000Z', '2026-03-09T03:59:59.000Z'],
    ['2026-11-01', 'America/New_York', '2026-11-01T04:00:00.000Z', '2026-11-02T04:59:59.000Z'],
    // Santiago skips midnight on 2026-09-06: the day starts at 01:00 local.
    ['2026-09-06', 'America/Santiago', '2026-09-06T04:00:00.000Z', '2026-09-07T02:59:59.000Z'],
  ])('%s in %s starts at %s and ends at %s', (date, zone, start, end) => {
    expect(startOfDay(date, zone).toISOString()).toBe(start);
    expect(endOfDay(date, zone).toISOString()).toBe(end);
  });

  it('the DST days really are 23 and 25 hours long', () => {
    const hours = (date: string, zone: string) =>
      (endOfDay(date, zone).getTime() + 1000 - startOfDay(date, zone).getTime()) / 3_600_000;
    expect(hours('2026-03-29', 'Europe/Berlin')).toBe(23);
    expect(hours('2026-10-25', 'Europe/Berlin')).toBe(25);
    expect(hours('2026-03-30', 'Europe/Berlin')).toBe(24);
  });

  it.each([
    ['2026-02-30', 'UTC', TimeErrors.badTime],
    ['2026-12-01T10:00', 'UTC', TimeErrors.badTime],
    ['2026-12-01', 'Mars/Olympus', TimeErrors.badZone],
  ])('refuses %s in %s', (date, zone, code) => {
    let err: unknown;
    try {
      startOfDay(date, zone);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(GatehouseError);
    expect((err as GatehouseError).code).toBe(code);
  });
});

describe('minusDays', () => {
  it.each([
    ['2026-03-10', 14, '2026-02-24'],
    ['2026-03-01', 1, '2026-02-28'],
    ['2028-03-01', 1, '2028-02-29'],
    ['2026-01-05', 0, '2026-01-05'],
  ])('%s − %i days = %s', (date, days, expected) => {
    expect(minusDays(date, days)).toBe(expected);
  });
});

describe('terminationInstant / hireStartInstant / joinerInstant', () => {
  it('a termination date means 23:59:59 that day in the person zone, else the default zone', () => {
    expect(
      terminationInstant({ terminationDate: '2026-03-29', timeZone: 'Europe/Berlin' }, 'UTC')?.toISOString(),
    ).toBe('2026-03-29T21:59:59.000Z');
    expect(
      terminationInstant(
        { terminationDate: '2026-11-01', timeZone: null },
        'America/New_York',
      )?.toISOString(),
    ).toBe('2026-11-02T04:59:59.000Z');
  });

  it('a termination instant is itself, whatever the zone', () => {
    expect(
      terminationInstant(
        { terminationDate: '2026-12-31T16:00:00.000Z', timeZone: 'Asia/Tokyo' },
        'UTC',
      )?.toISOString(),
    ).toBe('2026-12-31T16:00:00.000Z');
  });

  it('no date → null', () => {
    expect(terminationInstant(blank, 'UTC')).toBeNull();
    expect(hireStartInstant(blank, 'UTC')).toBeNull();
    expect(joinerInstant(blank, 7, 'UTC')).toBeNull();
  });

  it('hire start is 00:00 local on the hire date', () => {
    expect(
      hireStartInstant({ hireDate: '2026-03-29', timeZone: 'Europe/Berlin' }, 'UTC')?.toISOString(),
    ).toBe('2026-03-28T23:00:00.000Z');
  });

  it('joiner instant is 00:00 local lead-time days before the hire date, across a DST change', () => {
    // 2026-04-02 − 7 days = 2026-03-26, still CET (+01:00).
    expect(
      joinerInstant({ hireDate: '2026-04-02', timeZone: 'Europe/Berlin' }, 7, 'UTC')?.toISOString(),
    ).toBe('2026-03-25T23:00:00.000Z');
    expect(
      joinerInstant({ hireDate: '2026-11-03', timeZone: null }, 2, 'America/New_York')?.toISOString(),
    ).toBe('2026-11-01T04:00:00.000Z');
  });
});

describe('derivedStatus', () => {
  const now = new Date('2026-06-15T12:00:00Z');
  it.each<[string, Partial<Timing>, string]>([
    ['nothing given', {}, 'active'],
    ['HR active', { status: 'active' }, 'active'],
    ['hire date in the past', { hireDate: '2020-01-01' }, 'active'],
    ['hire date today', { hireDate: '2026-06-15' }, 'active'],
    ['hire date tomorrow', { hireDate: '2026-06-16' }, 'prehire'],
    ['HR prehire without a hire date', { status: 'prehire' }, 'prehire'],
    ['HR prehire but the hire date has passed', { status: 'prehire', hireDate: '2026-01-01' }, 'active'],
    ['HR terminated', { status: 'terminated' }, 'terminated'],
    [
      'HR terminated with a future date',
      { status: 'terminated', terminationDate: '2026-12-31' },
      'terminated',
    ],
    ['termination date passed', { terminationDate: '2026-06-14' }, 'terminated'],
    ['termination date today (ends tonight)', { terminationDate: '2026-06-15' }, 'active'],
    ['future termination keeps them active', { terminationDate: '2026-12-31' }, 'active'],
    ['termination instant passed', { terminationDate: '2026-06-15T11:59:59.000Z' }, 'terminated'],
    ['termination instant is now', { terminationDate: '2026-06-15T12:00:00.000Z' }, 'terminated'],
    ['termination instant ahead', { terminationDate: '2026-06-15T12:00:01.000Z' }, 'active'],
    ['on leave', { status: 'on_leave' }, 'on_leave'],
    [
      'on leave but the termination passed',
      { status: 'on_leave', terminationDate: '2026-01-31' },
      'terminated',
    ],
    ['on leave before the hire date', { status: 'on_leave', hireDate: '2026-07-01' }, 'on_leave'],
  ])('%s → %s', (_what, fields, expected) => {
    expect(derivedStatus({ ...blank, ...fields }, now, 'UTC')).toBe(expected);
  });

  it('uses the person zone: hire day already started in Tokyo, not yet in New York', () => {
    const at = new Date('2026-06-15T20:00:00Z'); // 16 June 05:00 in Tokyo, 15 June 16:00 in New York
    expect(derivedStatus({ ...blank, hireDate: '2026-06-16', timeZone: 'Asia/Tokyo' }, at, 'UTC')).toBe(
      'active',
    );
    expect(derivedStatus({ ...blank, hireDate: '2026-06-16', timeZone: 'America/New_York' }, at, 'UTC')).toBe(
      'prehire',
    );
    expect(derivedStatus({ ...blank, hireDate: '2026-06-16' }, at, 'Asia/Tokyo')).toBe('active');
  });
});
