import { describe, expect, it } from 'vitest';
import { resourceTypeByKind } from '../../src/controller/resources.js';
import { condition, eventually, getStack, loadExample, useOperatorTestEnv, waitReady } from './harness.js';

const SECRETS = resourceTypeByKind('Secret');

describe('spec.postgres.credentialsSecret', () => {
  const env = useOperatorTestEnv();

  const userSecret = (data: Record<string, string>) =>
    env.c.create({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'shop-db', namespace: 'default' },
      stringData: data,
    });

  it('waits, with a message saying what to create, until the Secret exists; then uses its password', async () => {
    const stack = loadExample('minimal.yaml');
    stack.spec = { postgres: { credentialsSecret: 'shop-db' } };
    await env.c.create(stack);
    const waiting = await eventually(async () => {
      const s = await getStack(env.c, 'shop');
      return condition(s, 'Progressing')?.reason === 'CredentialsSecretMissing' ? s : undefined;
    }, 'CredentialsSecretMissing');
    expect(condition(waiting, 'Progressing')?.message).toMatch(
      /default\/shop-db .*does not exist; create it/,
    );
    expect(await env.c.getOrNull(resourceTypeByKind('Deployment'), 'default', 'shop-api')).toBeNull();

    await userSecret({ username: 'postgres', password: 'users-own-password' });
    // The operator re-checks on its own (requeue), no event on the stack is needed.
    await waitReady(env.c, 'shop', 60_000);
    const api = await env.c.get(SECRETS, 'default', 'shop-api');
    const url = Buffer.from((api.data as Record<string, string>).DATABASE_URL!, 'base64').toString();
    expect(url).toContain(':users-own-password@');
    const status = JSON.stringify((await getStack(env.c, 'shop')).status);
    expect(status).not.toContain('users-own-password');
  }, 90_000);

  it('refuses a Secret whose username is not the stack database user, and says why', async () => {
    await userSecret({ username: 'shop_app', password: 'x' });
    const stack = loadExample('minimal.yaml');
    stack.spec = { postgres: { credentialsSecret: 'shop-db' } };
    await env.c.create(stack);
    const s = await eventually(async () => {
      const got = await getStack(env.c, 'shop');
      return condition(got, 'Progressing')?.reason === 'CredentialsSecretMissing' ? got : undefined;
    }, 'CredentialsSecretMissing');
    expect(condition(s, 'Progressing')?.message).toMatch(/username "shop_app".*set username to "postgres"/);
  });
});
