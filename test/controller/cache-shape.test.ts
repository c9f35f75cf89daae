import { describe, expect, it } from 'vitest';
import { comparable, isAppliedIn } from '../../src/controller/cache-shape.js';
import type { ApiObject } from '../../src/controller/kube-client.js';

const cm = (name: string, data: Record<string, string>): ApiObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: {
    name,
    namespace: 'ns',
    labels: { 'flashsale.dev/stack': 'shop' },
    managedFields: [{ manager: 'x' }],
  },
  data,
});

describe('the informer cache keeps digests of config payloads and still detects drift exactly', () => {
  it('replaces ConfigMap values by digests and drops managedFields', () => {
    const cached = comparable(cm('shop-nginx', { 'nginx.conf': 'worker_processes auto;' }));
    expect(cached.metadata.managedFields).toBeUndefined();
    expect((cached.data as Record<string, string>)['nginx.conf']).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('an unchanged desired object matches its cached form; a changed value does not', () => {
    const live = comparable(cm('shop-nginx', { 'nginx.conf': 'worker_processes auto;' }));
    expect(isAppliedIn(comparable(cm('shop-nginx', { 'nginx.conf': 'worker_processes auto;' })), live)).toBe(
      true,
    );
    expect(isAppliedIn(comparable(cm('shop-nginx', { 'nginx.conf': 'worker_processes 1;' })), live)).toBe(
      false,
    );
  });

  it('keeps the generated secrets and the PostgreSQL config whole (the operator reads them back)', () => {
    const secret: ApiObject = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'shop-operator-secrets', namespace: 'ns', labels: { 'flashsale.dev/stack': 'shop' } },
      data: { redisPassword: 'c2VjcmV0' },
    };
    expect(comparable(secret).data).toEqual({ redisPassword: 'c2VjcmV0' });
    expect(comparable(cm('shop-postgres', { 'postgresql.conf': 'work_mem = 4MB' })).data).toEqual({
      'postgresql.conf': 'work_mem = 4MB',
    });
  });
});
