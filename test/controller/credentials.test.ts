import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Operator } from '../../src/controller/operator.js';
import type { KubeClient } from '../../src/controller/kube-client.js';
import { resourceTypeByKind } from '../../src/controller/resources.js';
import type { FakeApiServer } from '../support/server.js';
import {
  client,
  condition,
  eventually,
  getStack,
  loadExample,
  startOperator,
  startServer,
} from './harness.js';

const SECRETS = resourceTypeByKind('Secret');

describe('spec.postgres.credentialsSecret', () => {
  let srv: FakeApiServer;
  let kc: KubeConfig;
  let op: Operator;
  let c: KubeClient;

  beforeEach(async () => {
    ({ srv, kc } = await startServer());
    c = client(kc);
    op = await startOperator(kc);
  });

  afterEach(async () => {
    await op?.stop();
    await srv.stop();
  });

  const userSecret = (data: Record<string, string>) =>
    c.create({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'shop-db', namespace: 'default' },
      stringData: data,
    });

  it('waits, with a message saying what to create, until the Secret exists; then uses its password', async () => {
    const stack = loadExample('minimal.yaml');
    stack.spec = { postgres: { credentialsSecret: 'shop-db' } };
    await c.create(stack);
    const waiting = await eventually(async () => {
      const s = await getStack(c, 'shop');
      return condition(s, 'Progressing')?.reason === 'CredentialsSecretMissing' ? s : undefined;
    }, 'CredentialsSecretMissing');
    expect(condition(waiting, 'Progressing')?.message).toMatch(
      /default\/shop-db .*does not exist; create it/,
    );
    expect(await c.getOrNull(resourceTypeByKind('Deployment'), 'default', 'shop-api')).toBeNull();

    await userSecret({ username: 'postgres', password: 'users-own-password' });
    // The operator re-checks on its own (requeue), no event on the stack is needed.
    await eventually(
      async () => condition(await getStack(c, 'shop'), 'Ready')?.status === 'True',
      'Ready',
      60_000,
    );
    const api = await c.get(SECRETS, 'default', 'shop-api');
    const url = Buffer.from((api.data as Record<string, string>).DATABASE_URL!, 'base64').toString();
    expect(url).toContain(':users-own-password@');
    const status = JSON.stringify((await getStack(c, 'shop')).status);
    expect(status).not.toContain('users-own-password');
  }, 90_000);

  it('refuses a Secret whose username is not the stack database user, and says why', async () => {
    await userSecret({ username: 'shop_app', password: 'x' });
    const stack = loadExample('minimal.yaml');
    stack.spec = { postgres: { credentialsSecret: 'shop-db' } };
    await c.create(stack);
    const s = await eventually(async () => {
      const got = await getStack(c, 'shop');
      return condition(got, 'Progressing')?.reason === 'CredentialsSecretMissing' ? got : undefined;
    }, 'CredentialsSecretMissing');
    expect(condition(s, 'Progressing')?.message).toMatch(/username "shop_app".*set username to "postgres"/);
  });
});
