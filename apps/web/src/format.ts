const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
const dateOnly = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });
const clock = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
const number = new Intl.NumberFormat();

function parse(iso: string | null | undefined): Date | null {
  if (!iso) return null;
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** "21 Nov 2025, 14:03:12" in the operator's locale and time zone. */
export function formatDateTime(iso: string | null | undefined, empty = '—'): string {
  const d = parse(iso);
  return d ? dateTime.format(d) : empty;
}

export function formatDate(iso: string | null | undefined, empty = '—'): string {
  const d = parse(iso);
  return d ? dateOnly.format(d) : empty;
}

/** "14:05" (24-hour clock, local time). */
export function formatClock(iso: string | null | undefined): string {
  const d = parse(iso);
  return d ? clock.format(d) : '';
}

/** "3 minutes ago", "in 2 days". */
export function formatRelative(iso: string | null | undefined, now = Date.now()): string {
  const d = parse(iso);
  if (!d) return '';
  const seconds = Math.round((d.getTime() - now) / 1000);
  const abs = Math.abs(seconds);
  if (abs < 45) return relative.format(seconds, 'second');
  if (abs < 45 * 60) return relative.format(Math.round(seconds / 60), 'minute');
  if (abs < 22 * 3600) return relative.format(Math.round(seconds / 3600), 'hour');
  if (abs < 26 * 86400) return relative.format(Math.round(seconds / 86400), 'day');
  if (abs < 320 * 86400) return relative.format(Math.round(seconds / (30 * 86400)), 'month');
  return relative.format(Math.round(seconds / (365 * 86400)), 'year');
}

export function formatNumber(n: number | null | undefined): string {
  return typeof n === 'number' ? number.format(n) : '—';
}

/** ISO date-time → value for <input type="datetime-local"> in local time ("2025-11-21T14:05"). */
export function isoToLocalInput(iso: string | null | undefined): string {
  const d = parse(iso);
  if (!d) return '';
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** <input type="datetime-local"> value (local time) → ISO date-time with offset (UTC "Z"). */
export function localInputToIso(value: string): string {
  if (!value) return '';
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? '' : d.toISOString();
}

/** "JBSWY3DPEHPK3PXP" → "JBSW Y3DP EHPK 3PXP". */
export function groupInFours(secret: string): string {
  return (secret.replace(/\s+/g, '').match(/.{1,4}/g) ?? []).join(' ');
}

export const ROLE_LABELS: Record<string, string> = {
  administrator: 'Administrator',
  agent: 'Agent',
  auditor: 'Auditor',
};

export const ROLE_COLORS: Record<string, string> = {
  administrator: 'grape',
  agent: 'blue',
  auditor: 'teal',
};
