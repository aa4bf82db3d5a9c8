/** The one time rule: local with its offset, or UTC marked; a typed time without a zone is read in the same zone. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { formatTime, offsetMinutes, parseTime, zoneFor } from '../../src/util/time.js';

const BERLIN = { timeZone: 'Europe/Berlin' };
const T = Date.UTC(2026, 10, 23, 7, 23, 17); // 2026-11-23 07:23:17 UTC

describe('time', () => {
  it('formats local time with its offset, UTC marked', () => {
    assert.equal(formatTime(T, BERLIN), '2026-11-23 08:23 +01:00');
    assert.equal(formatTime(T, { timeZone: 'America/New_York' }), '2026-11-23 02:23 -05:00');
    assert.equal(formatTime(T, { timeZone: 'Asia/Kolkata' }, { seconds: true }), '2026-11-23 12:53:17 +05:30');
    assert.equal(formatTime(T, zoneFor(true)), '2026-11-23 07:23 UTC');
    assert.equal(formatTime(Date.UTC(2026, 6, 1, 12), BERLIN), '2026-07-01 14:00 +02:00', 'summer time');
  });
  it('reads a time without a zone in the zone given, one with a zone as that', () => {
    assert.equal(parseTime('2026-11-23 08:23:17', BERLIN), T);
    assert.equal(parseTime('2026-11-23T08:23:17', BERLIN), T);
    assert.equal(parseTime('2026-11-23T07:23:17Z', BERLIN), T);
    assert.equal(parseTime('2026-11-23 07:23:17 UTC', BERLIN), T);
    assert.equal(parseTime('2026-11-23 02:23:17 -05:00', BERLIN), T);
    assert.equal(parseTime('2026-11-23T12:53:17+0530', BERLIN), T);
    assert.equal(parseTime('2026-11-23 07:23:17', zoneFor(true)), T);
    assert.equal(parseTime('2026-11-23T07:23:17.250Z'), T + 250);
  });
  it('reads what it prints', () => {
    for (const z of [BERLIN, { timeZone: 'America/New_York' }, zoneFor(true)]) assert.equal(parseTime(formatTime(T, z, { seconds: true }), {}), T);
  });
  it('a date alone is the start of that day, or its end for --at; a minute likewise', () => {
    assert.equal(parseTime('2026-11-01', BERLIN), Date.UTC(2026, 9, 31, 23));
    assert.equal(parseTime('2026-11-01', BERLIN, { end: true }), Date.UTC(2026, 10, 1, 22, 59, 59, 999));
    assert.equal(parseTime('2026-11-23 08:23 +01:00', {}, { end: true }), Date.UTC(2026, 10, 23, 7, 23, 59, 999));
    assert.equal(parseTime('2026-11-23 08:23:17 +01:00', {}, { end: true }), T + 999);
  });
  it('clock changes: a repeated hour reads as its first, a skipped one moves forward', () => {
    // Berlin 2026-10-25: 03:00 CEST becomes 02:00 CET, so 02:30 happens twice.
    assert.equal(parseTime('2026-10-25 02:30', BERLIN), Date.UTC(2026, 9, 25, 0, 30));
    // Berlin 2026-03-29: 02:00 CET jumps to 03:00 CEST; 02:30 does not exist.
    assert.equal(formatTime(parseTime('2026-03-29 02:30', BERLIN) as number, BERLIN), '2026-03-29 03:30 +02:00');
    assert.equal(offsetMinutes(Date.UTC(2026, 2, 29, 0, 59), BERLIN), 60);
    assert.equal(offsetMinutes(Date.UTC(2026, 2, 29, 1, 0), BERLIN), 120);
  });
  it('refuses what is not a time', () => {
    for (const bad of ['soon', '2026-13-01', '2026-02-30', '2026-11-01 25:00', '2026-11-01 10:00 +15:00', '1/11/2026']) assert.equal(parseTime(bad), null, bad);
  });
  it('local means the process zone (TZ)', () => {
    const mod = fileURLToPath(new URL('../../src/util/time.js', import.meta.url));
    const script = `import(${JSON.stringify(mod)}).then((t) => console.log(t.formatTime(${T}) + '|' + t.parseTime('2026-11-23 08:23:17')))`;
    const out = execFileSync(process.execPath, ['-e', script], { env: { ...process.env, TZ: 'Europe/Berlin' }, encoding: 'utf8' }).trim();
    assert.equal(out, `2026-11-23 08:23 +01:00|${T}`);
  });
});
