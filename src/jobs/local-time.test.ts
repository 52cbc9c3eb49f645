import { describe, expect, it } from 'vitest';
import { GatehouseError } from '../kit/errors.ts';
import { TimeErrors, resolveLocalTime } from './local-time.ts';

describe('resolveLocalTime', () => {
  it.each([
    ['2026-12-01T09:00', 'Europe/Berlin', '2026-12-01T08:00:00.000Z'], // CET, +01:00
    ['2026-07-01T09:00', 'Europe/Berlin', '2026-07-01T07:00:00.000Z'], // CEST, +02:00
    ['2026-12-01T09:00:30', 'America/New_York', '2026-12-01T14:00:30.000Z'],
    ['2026-12-01T09:00', 'Asia/Kolkata', '2026-12-01T03:30:00.000Z'],
    ['2026-12-01T09:00', 'UTC', '2026-12-01T09:00:00.000Z'],
    // Fall back in Berlin: 02:30 happens twice; the first is still CEST (+02:00).
    ['2026-10-25T02:30', 'Europe/Berlin', '2026-10-25T00:30:00.000Z'],
    // An explicit offset is already an instant: the zone is not consulted.
    ['2026-12-01T09:00+05:00', 'Europe/Berlin', '2026-12-01T04:00:00.000Z'],
    ['2026-12-01T09:00Z', 'Europe/Berlin', '2026-12-01T09:00:00.000Z'],
  ])('%s in %s is %s', (local, zone, iso) => {
    expect(resolveLocalTime(local, zone).toISOString()).toBe(iso);
  });

  it.each([
    ['2026-03-29T02:30', 'Europe/Berlin', TimeErrors.nonexistent], // spring forward: 02:00 → 03:00
    ['2026-12-01T09:00', 'Mars/Olympus', TimeErrors.badZone],
    ['tomorrow at nine', 'UTC', TimeErrors.badTime],
    ['2026-02-30T09:00', 'UTC', TimeErrors.badTime],
    ['2026-12-01 09:00', 'UTC', TimeErrors.badTime],
  ])('refuses %s in %s with %s', (local, zone, code) => {
    let err: unknown;
    try {
      resolveLocalTime(local, zone);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(GatehouseError);
    expect((err as GatehouseError).code).toBe(code);
    expect((err as GatehouseError).problems.length).toBeGreaterThan(0);
  });
});
