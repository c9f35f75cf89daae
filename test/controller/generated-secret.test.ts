/**
 * The generated Secret `<stack>-operator-secrets` when someone left it half-filled: the operator completes it
 * with a resourceVersion-checked merge patch (its RBAC has no `update` on Secrets), keeps every value that was
 * there (a password behind a running database is never rotated) and the labels others put on it.
 */
import { describe, expect, it } from 'vitest';
import { resourceTypeByKind } from '../../src/controller/resources.js';
import { decodeSecretData, generatedSecretName } from '../../src/controller/secrets.js';
import { STACK_SECRET_KEYS } from '../../src/render/common.js';
import { loadExample, useOperatorTestEnv, waitReady } from './harness.js';

const SECRETS = resourceTypeByKind('Secret');

describe('a half-filled generated Secret', () => {
  const env = useOperatorTestEnv();

  it('is completed by a patch, keeping the value and the label that were there', async () => {
    await env.c.create({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: generatedSecretName('shop'),
        namespace: 'default',
        labels: {
          'app.kubernetes.io/managed-by': 'flash-sale-operator',
          'flashsale.dev/stack': 'shop',
          team: 'a',
        },
      },
      stringData: { redisPassword: 'kept-value' },
    });
    await env.c.create(loadExample('minimal.yaml'));
    await waitReady(env.c);
    const secret = await env.c.get(SECRETS, 'default', generatedSecretName('shop'));
    const data = decodeSecretData(secret.data);
    expect(data.redisPassword).toBe('kept-value');
    for (const key of STACK_SECRET_KEYS) expect(data[key], key).toMatch(/.{8,}/);
    expect(secret.metadata.labels?.team).toBe('a');
    expect(secret.metadata.ownerReferences?.[0]?.kind).toBe('FlashSaleStack');
    const secretWrites = env.srv
      .requests()
      .filter((r) => r.resource === 'secrets' && r.name === generatedSecretName('shop') && r.verb !== 'get')
      .map((r) => r.verb);
    expect(secretWrites).not.toContain('update');
    expect(secretWrites).toContain('patch');
  }, 60_000);
});
