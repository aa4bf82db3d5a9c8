/**
 * Times as a person reads and types them, one rule for every command: local time with its offset
 * shown, as `ls -l` and `date` do (`2026-11-23 08:23 +01:00`), or UTC marked as such
 * (`2026-11-23 07:23 UTC`) under `--utc`. A time typed without a zone is read in the same zone;
 * one with `Z`, `UTC` or an offset is read as that. JSON keeps ISO 8601 in UTC.
 *
 * Pure: the zone is an argument (`undefined` is the process's local zone, as TZ sets it; `'UTC'`;
 * or an IANA name), so tests need no TZ of their own.
 */

export interface TimeZoneChoice {
  /** `'UTC'`, an IANA name, or undefined for the local zone. */
  timeZone?: string | undefined;
}

/** The zone `--utc` asks for: UTC when set, else local. */
export function zoneFor(utc: boolean | undefined): TimeZoneChoice {
  return utc ? { timeZone: 'UTC' } : {};
}

function isUtc(z: TimeZoneChoice): boolean {
  return z.timeZone !== undefined && /^(utc|etc\/utc|z)$/i.test(z.timeZone);
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** Wall-clock fields of an instant in a zone. */
function wall(ms: number, z: TimeZoneChoice): { y: number; mo: number; d: number; h: number; mi: number; s: number } {
  if (isUtc(z)) {
    const t = new Date(ms);
    return { y: t.getUTCFullYear(), mo: t.getUTCMonth() + 1, d: t.getUTCDate(), h: t.getUTCHours(), mi: t.getUTCMinutes(), s: t.getUTCSeconds() };
  }
  if (z.timeZone === undefined) {
    const t = new Date(ms);
    return { y: t.getFullYear(), mo: t.getMonth() + 1, d: t.getDate(), h: t.getHours(), mi: t.getMinutes(), s: t.getSeconds() };
  }
  let f = formatters.get(z.timeZone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: z.timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
    formatters.set(z.timeZone, f);
  }
  const p: Record<string, number> = {};
  for (const part of f.formatToParts(ms)) if (part.type !== 'literal') p[part.type] = Number(part.value);
  return { y: p.year ?? 1970, mo: p.month ?? 1, d: p.day ?? 1, h: (p.hour ?? 0) % 24, mi: p.minute ?? 0, s: p.second ?? 0 };
}

/** The zone's offset from UTC at an instant, in minutes (east positive: +60 for Paris in winter). */
export function offsetMinutes(ms: number, z: TimeZoneChoice = {}): number {
  if (isUtc(z)) return 0;
  const whole = Math.floor(ms / 1000) * 1000;
  const w = wall(whole, z);
  return Math.round((Date.UTC(w.y, w.mo - 1, w.d, w.h, w.mi, w.s) - whole) / 60_000);
}

const two = (n: number): string => String(n).padStart(2, '0');

/** `+01:00`, `-05:30`, or `UTC`. */
export function zoneMark(ms: number, z: TimeZoneChoice = {}): string {
  if (isUtc(z)) return 'UTC';
  const off = offsetMinutes(ms, z);
  const a = Math.abs(off);
  return `${off < 0 ? '-' : '+'}${two(Math.floor(a / 60))}:${two(a % 60)}`;
}

/** `2026-11-23 08:23 +01:00` (or `… UTC`); `seconds` adds `:SS`. */
export function formatTime(ms: number, z: TimeZoneChoice = {}, o: { seconds?: boolean } = {}): string {
  const w = wall(ms, z);
  const hm = `${two(w.h)}:${two(w.mi)}${o.seconds ? `:${two(w.s)}` : ''}`;
  return `${String(w.y).padStart(4, '0')}-${two(w.mo)}-${two(w.d)} ${hm} ${zoneMark(ms, z)}`;
}

/** The date part alone: `2026-11-23`. */
export function formatDate(ms: number, z: TimeZoneChoice = {}): string {
  const w = wall(ms, z);
  return `${String(w.y).padStart(4, '0')}-${two(w.mo)}-${two(w.d)}`;
}

/** The clock part with the zone: `08:23 +01:00`. */
export function formatClock(ms: number, z: TimeZoneChoice = {}): string {
  const w = wall(ms, z);
  return `${two(w.h)}:${two(w.mi)} ${zoneMark(ms, z)}`;
}

/** The instant whose wall clock in the zone reads these fields (the earlier one when a clock change repeats it). */
function fromWall(y: number, mo: number, d: number, h: number, mi: number, s: number, msPart: number, z: TimeZoneChoice): number {
  const naive = Date.UTC(y, mo - 1, d, h, mi, s, msPart);
  if (isUtc(z)) return naive;
  // The offsets in force a day before and a day after bound the candidates; the earlier one that
  // reads back as this wall time wins (a repeated hour), and a skipped hour moves forward, as Date does.
  const before = naive - offsetMinutes(naive - 86_400_000, z) * 60_000;
  const after = naive - offsetMinutes(naive + 86_400_000, z) * 60_000;
  for (const guess of [Math.min(before, after), Math.max(before, after)]) if (guess + offsetMinutes(guess, z) * 60_000 === naive) return guess;
  return before;
}

const TIME = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?\s*(Z|UTC|[+-]\d{2}(?::?\d{2})?)?$/i;

/**
 * Reads `2026-11-01`, `2026-11-01 18:00`, `2026-11-01T18:00:30`, each with an optional zone (`Z`,
 * `UTC`, `+01:00`, `+0100`, `-05`). Without a zone the time is read in `z` (local by default). What
 * it names is a span — a day, a minute, a second — and the result is its first millisecond, or its
 * last with `end` (so `--at` with a time copied from `list`, shown to the minute, includes that
 * minute's backups). Null when it is none of these.
 */
export function parseTime(text: string, z: TimeZoneChoice = {}, o: { end?: boolean } = {}): number | null {
  const m = TIME.exec(text.trim());
  if (!m) return null;
  const fill = (part: string | undefined, first: number, last: number): number => (part !== undefined ? Number(part) : o.end ? last : first);
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const h = fill(m[4], 0, 23);
  const mi = fill(m[5], 0, 59);
  const s = fill(m[6], 0, 59);
  const frac = m[7] !== undefined ? Math.floor(Number(`0.${m[7]}`) * 1000) : o.end ? 999 : 0;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59) return null;
  if (new Date(Date.UTC(y, mo - 1, d)).getUTCDate() !== d) return null; // 2026-02-30
  const zone = m[8];
  if (zone === undefined) return fromWall(y, mo, d, h, mi, s, frac, z);
  const naive = Date.UTC(y, mo - 1, d, h, mi, s, frac);
  if (/^(z|utc)$/i.test(zone)) return naive;
  const zm = /^([+-])(\d{2}):?(\d{2})?$/.exec(zone) as RegExpExecArray;
  const off = (Number(zm[2]) * 60 + Number(zm[3] ?? 0)) * (zm[1] === '-' ? -1 : 1);
  if (Math.abs(off) > 14 * 60) return null;
  return naive - off * 60_000;
}
