/**
 * canonicalQuantity must give exactly what a kube-apiserver stores (apimachinery resource.Quantity, parsed and
 * marshalled again): a quantity the operator renders in any other form comes back changed and looks like drift.
 */
import { describe, expect, it } from 'vitest';
import { canonicalQuantity, parseQuantity } from '../../src/api/quantity.js';

describe('canonicalQuantity: the form the API server stores', () => {
  it.each([
    // cpu as users write it
    ['0.5', '500m'],
    ['1000m', '1'],
    ['1500m', '1500m'],
    ['1.5', '1500m'],
    ['0.1', '100m'],
    ['2', '2'],
    ['2000', '2k'],
    ['100', '100'],
    ['1.0', '1'],
    ['0.0001', '100u'],
    // memory and storage
    ['1024Mi', '1Gi'],
    ['1.5Gi', '1536Mi'],
    ['0.5Gi', '512Mi'],
    ['512Mi', '512Mi'],
    ['8Gi', '8Gi'],
    ['1536Ki', '1536Ki'],
    ['1.5Ki', '1536'],
    ['0.5Ki', '512'],
    ['1000M', '1G'],
    ['100M', '100M'],
    ['1073741824', '1073741824'],
    ['1000000', '1M'],
    // exponents stay exponents
    ['1e3', '1e3'],
    ['10e3', '10e3'],
    ['1000e0', '1e3'],
    ['1.5e3', '1500'],
    // sub-unit binary values and rounding up to 1n (apimachinery's own table)
    ['.001Ki', '1024m'],
    ['.000001Ki', '1024u'],
    ['.000000001Ki', '1024n'],
    ['.000000000001Ki', '2n'],
    ['0.0000000001', '1n'],
    // zero in any spelling
    ['0', '0'],
    ['0Mi', '0'],
    ['0.0', '0'],
    ['-0', '0'],
    // negative values keep their sign
    ['-0.5', '-500m'],
    ['-1024Mi', '-1Gi'],
    // strings already canonical come back as written, even with a sign or an upper-case exponent
    ['+1', '+1'],
    ['1E3', '1E3'],
    ['1.', '1.'],
  ])('%s → %s', (input, stored) => {
    expect(canonicalQuantity(input)).toBe(stored);
  });

  it('never changes the value, and is idempotent', () => {
    for (const q of ['0.5', '1024Mi', '1.5Gi', '2000', '1e3', '0.25', '3Ti', '1.25Mi', '999m', '7k']) {
      const c = canonicalQuantity(q)!;
      expect(parseQuantity(c)).toBeCloseTo(parseQuantity(q)!, 6);
      expect(canonicalQuantity(c)).toBe(c);
    }
  });

  it('refuses what is not a quantity', () => {
    for (const bad of ['', '1.2.3', 'Gi', '12ki', ' 1', '1 Gi', 'abc']) {
      expect(canonicalQuantity(bad)).toBeUndefined();
    }
  });
});
