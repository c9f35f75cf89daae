/**
 * Quantities come back from the API server in apimachinery's canonical form; a client that compares what it
 * sent with what is stored must expect these (table checked against quantity.go's rules and examples).
 */
import { describe, expect, it } from 'vitest';
import { canonicalQuantity } from '../support/quantity.js';

describe('canonical quantities', () => {
  it.each([
    ['0.5', '500m'],
    ['1024Mi', '1Gi'],
    ['1.5Gi', '1536Mi'],
    ['1000m', '1'],
    ['2000', '2k'],
    ['1500', '1500'],
    ['1.5', '1500m'],
    ['1e3', '1e3'],
    ['1.5e3', '1500'],
    ['1E6', '1e6'],
    ['100Ki', '100Ki'],
    ['1024Ki', '1Mi'],
    ['0.5Gi', '512Mi'],
    ['512', '512'],
    ['0.1m', '100u'],
    ['0.0000000001', '1n'],
    ['0', '0'],
    ['0Gi', '0'],
    ['+3', '3'],
    ['-1.5', '-1500m'],
    ['0.5Ki', '512'],
    ['1.1Ki', '1126400m'],
    ['12e-1', '1200e-3'],
    ['1000000k', '1G'],
    ['1000E', '1000E'],
  ])('%s is stored as %s', (input, stored) => {
    expect(canonicalQuantity(input)).toBe(stored);
  });

  it('reads JSON numbers as their decimal text', () => {
    expect(canonicalQuantity(0.5)).toBe('500m');
    expect(canonicalQuantity(2)).toBe('2');
    expect(canonicalQuantity(1000)).toBe('1k');
  });

  it.each(['', 'abc', '1.2.3', '5 Gi', '1GB', 'Gi', '--1'])('refuses %j', (bad) => {
    expect(canonicalQuantity(bad)).toBeUndefined();
  });
});
