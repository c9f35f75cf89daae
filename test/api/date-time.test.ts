/**
 * Date-times (src/api/formats.ts parseDateTime): one rule for the CRD-side validator
 * (spec.postgres.bootstrap.fromBackup.targetTime), the backup drill's --target-time and the API service's
 * sale window: RFC 3339 with a zone, a real calendar day, years 2000-2999.
 */
import { describe, expect, it } from 'vitest';
import { checkDateTime, parseDateTime } from '../../src/api/formats.js';
import { validateStack } from '../../src/api/validate.js';
import { parseSaleBody } from '../../src/service/validate.js';

const stackWithTarget = (targetTime: string) => ({
  apiVersion: 'flashsale.dev/v1alpha1',
  kind: 'FlashSaleStack',
  metadata: { name: 'shop' },
  spec: { postgres: { bootstrap: { fromBackup: { claimName: 'old-pitr', targetTime } } } },
});

describe('parseDateTime', () => {
  it('accepts RFC 3339 date-times with a zone and returns the instant', () => {
    for (const [text, iso] of [
      ['2025-11-11T00:00:00Z', '2025-11-11T00:00:00.000Z'],
      ['2024-02-29T23:59:59.123456789Z', '2024-02-29T23:59:59.123Z'],
      ['2025-11-11T08:00:00+08:00', '2025-11-11T00:00:00.000Z'],
      ['2000-01-01T00:00:00-00:30', '2000-01-01T00:30:00.000Z'],
    ] as const) {
      const r = parseDateTime(text);
      expect('date' in r && r.date.toISOString(), text).toBe(iso);
    }
  });

  it('refuses days the calendar does not have instead of rolling them over', () => {
    expect(checkDateTime('2025-02-30T00:00:00Z')).toMatch(/2025-02-30 does not exist/);
    expect(checkDateTime('2025-02-29T00:00:00Z')).toMatch(/2025-02-29 does not exist/);
    expect(checkDateTime('2100-02-29T00:00:00Z')).toMatch(/does not exist/);
    expect(checkDateTime('2025-04-31T00:00:00Z')).toMatch(/does not exist/);
    expect(checkDateTime('2025-13-01T00:00:00Z')).toMatch(/month 13 does not exist/);
    expect(checkDateTime('2025-00-10T00:00:00Z')).toMatch(/month 00 does not exist/);
    expect(checkDateTime('2025-01-00T00:00:00Z')).toMatch(/does not exist/);
    expect(checkDateTime('2025-01-01T24:00:00Z')).toMatch(/time 24:00:00 does not exist/);
    expect(checkDateTime('2016-12-31T23:59:60Z')).toMatch(/does not exist/);
    expect(checkDateTime('2025-01-01T00:00:00+24:00')).toMatch(/zone offset \+24:00/);
  });

  it('refuses years outside 2000-2999, year 0000 included', () => {
    expect(checkDateTime('0000-01-01T00:00:00Z')).toMatch(
      /year 0000 is out of range; use a year from 2000 to 2999/,
    );
    expect(checkDateTime('1999-12-31T23:59:59Z')).toMatch(/year 1999 is out of range/);
    expect(checkDateTime('3000-01-01T00:00:00Z')).toMatch(/year 3000 is out of range/);
    expect(checkDateTime('2999-12-31T23:59:59Z')).toBeUndefined();
  });

  it('refuses what is not RFC 3339: no zone, no seconds, a space, extended years, other syntaxes', () => {
    for (const text of [
      '2025-11-11T00:00:00',
      '2025-11-11T00:00Z',
      '2025-11-11 00:00:00Z',
      '+002025-11-11T00:00:00Z',
      '2025-11-11',
      'tomorrow',
      '1731283200',
      '2025-11-11T00:00:00.Z',
      '2025-11-11T00:00:00.1234567890Z',
    ]) {
      expect(checkDateTime(text), text).toMatch(
        /is not a date-time; write an RFC 3339 date-time with a zone/,
      );
    }
  });
});

describe('one date rule on both sides', () => {
  it('the stack validator names spec.postgres.bootstrap.fromBackup.targetTime', () => {
    expect(validateStack(stackWithTarget('2025-11-11T00:00:05Z'))).toEqual([]);
    for (const [t, why] of [
      ['2025-02-30T00:00:00Z', /2025-02-30 does not exist/],
      ['0000-01-01T00:00:00Z', /year 0000 is out of range/],
    ] as const) {
      const problems = validateStack(stackWithTarget(t));
      expect(problems.map((p) => p.path)).toContain('spec.postgres.bootstrap.fromBackup.targetTime');
      expect(problems.find((p) => p.path.endsWith('targetTime'))?.message).toMatch(why);
    }
  });

  it('the service names startsAt / endsAt', () => {
    const body = {
      productId: 'p',
      stock: 1,
      startsAt: '2025-11-11T00:00:00Z',
      endsAt: '2025-11-12T00:00:00Z',
    };
    expect(parseSaleBody(body).startsAt.toISOString()).toBe('2025-11-11T00:00:00.000Z');
    expect(() => parseSaleBody({ ...body, startsAt: '2025-02-30T00:00:00Z' })).toThrow(
      /^startsAt: 2025-02-30 does not exist/,
    );
    expect(() => parseSaleBody({ ...body, endsAt: '0000-01-01T00:00:00Z' })).toThrow(
      /^endsAt: year 0000 is out of range/,
    );
    expect(() => parseSaleBody({ ...body, endsAt: 20251112 })).toThrow(/^endsAt must be a string/);
  });
});
