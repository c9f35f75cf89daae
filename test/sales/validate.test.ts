import { describe, expect, it } from 'vitest';
import type { FlashSale } from '../../src/api/types.js';
import { checkLiveChange, validateSale } from '../../src/sales/validate.js';

const good = {
  apiVersion: 'flashsale.dev/v1alpha1',
  kind: 'FlashSale',
  metadata: { name: 'xmas', namespace: 'default' },
  spec: {
    stackName: 'shop',
    productId: 'sku-42',
    stock: 10_000,
    startsAt: '2026-12-24T20:00:00Z',
    endsAt: '2026-12-24T20:15:00Z',
    expectedPeakOrdersPerSecond: 30_000,
  },
};

describe('FlashSale validation', () => {
  it('accepts a complete sale', () => {
    expect(validateSale(good)).toEqual([]);
  });

  it('refuses an end before the start, naming spec.endsAt', () => {
    const p = validateSale({ ...good, spec: { ...good.spec, endsAt: '2026-12-24T19:00:00Z' } });
    expect(p).toEqual([
      { path: 'spec.endsAt', message: 'must be after spec.startsAt (2026-12-24T20:00:00Z)' },
    ]);
  });

  it('names a missing required field, a bad time, a bad duration and a negative stock', () => {
    const { productId: _p, ...rest } = good.spec;
    const p = validateSale({
      ...good,
      spec: { ...rest, startsAt: 'tonight', leadTime: '10 minutes', stock: -1 },
    });
    const paths = p.map((x) => x.path);
    expect(paths).toContain('spec.productId');
    expect(paths).toContain('spec.startsAt');
    expect(paths).toContain('spec.leadTime');
    expect(paths).toContain('spec.stock');
  });

  it('a Live sale keeps its stock and start and may only extend its end', () => {
    const sale = good as unknown as FlashSale;
    const api = { stock: 10_000, startsAt: '2026-12-24T20:00:00.000Z', endsAt: '2026-12-24T20:15:00.000Z' };
    expect(checkLiveChange(sale, api)).toEqual([]);
    expect(checkLiveChange({ ...sale, spec: { ...sale.spec, endsAt: '2026-12-24T20:30:00Z' } }, api)).toEqual(
      [],
    );
    const changed = checkLiveChange(
      { ...sale, spec: { ...sale.spec, stock: 5, endsAt: '2026-12-24T20:10:00Z' } },
      api,
    ).map((x) => x.path);
    expect(changed).toEqual(['spec.stock', 'spec.endsAt']);
  });
});

describe('examples/sales', () => {
  it('every example sale validates', async () => {
    const { readdirSync, readFileSync } = await import('node:fs');
    const { parse } = await import('yaml');
    const dir = new URL('../../examples/sales/', import.meta.url);
    const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) expect(validateSale(parse(readFileSync(new URL(f, dir), 'utf8'))), f).toEqual([]);
  });
});
