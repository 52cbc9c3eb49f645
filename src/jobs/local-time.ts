import { DateTime, IANAZone } from 'luxon';
import { GatehouseError } from '../kit/errors.ts';

export const TimeErrors = {
  badZone: 'time_zone_unknown',
  badTime: 'local_time_invalid',
  nonexistent: 'local_time_nonexistent',
} as const;

const LOCAL_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?$/;
const ABSOLUTE_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * "2026-12-01T09:00" in "Europe/Berlin" → the instant. A time that carries its own offset (…Z, …+01:00) is already
 * an instant and the zone is not consulted. A local time inside a DST gap does not exist and is refused (naming the
 * gap); one inside a DST overlap happens twice and resolves to the first (earlier) occurrence.
 */
export function resolveLocalTime(local: string, timeZone: string): Date {
  const text = local.trim();
  if (ABSOLUTE_RE.test(text)) return new Date(text);
  if (!LOCAL_RE.test(text)) {
    throw new GatehouseError(
      TimeErrors.badTime,
      `"${local}" is not a local date-time like 2026-12-01T09:00`,
      {
        problems: [{ field: 'at', message: 'expected YYYY-MM-DDTHH:MM[:SS]', value: local }],
      },
    );
  }
  if (!IANAZone.isValidZone(timeZone)) {
    throw new GatehouseError(
      TimeErrors.badZone,
      `"${timeZone}" is not a known IANA time zone (e.g. Europe/Berlin, America/New_York)`,
      {
        problems: [{ field: 'timeZone', message: 'unknown IANA time zone', value: timeZone }],
      },
    );
  }
  const dt = DateTime.fromISO(text, { zone: timeZone });
  if (!dt.isValid) {
    throw new GatehouseError(
      TimeErrors.badTime,
      `"${local}" is not a valid date-time: ${dt.invalidExplanation ?? dt.invalidReason}`,
      {
        problems: [{ field: 'at', message: dt.invalidReason ?? 'invalid', value: local }],
      },
    );
  }
  const wanted = DateTime.fromISO(text, { zone: 'UTC' });
  const same = (d: DateTime) =>
    d.toFormat("yyyy-LL-dd'T'HH:mm:ss.SSS") === wanted.toFormat("yyyy-LL-dd'T'HH:mm:ss.SSS");
  if (!same(dt)) {
    throw new GatehouseError(
      TimeErrors.nonexistent,
      `${text} does not exist in ${timeZone}: the clocks skip that hour (daylight saving time starts)`,
      { problems: [{ field: 'at', message: 'falls in a daylight-saving gap', value: local }] },
    );
  }
  // Overlap (clocks go back): both offsets give the same wall time; take the earlier instant.
  const offsets = dt.getPossibleOffsets();
  if (offsets.length > 1) return new Date(Math.min(...offsets.map((o) => o.toMillis())));
  return dt.toJSDate();
}
