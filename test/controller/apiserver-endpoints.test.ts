/**
 * Where the API server listens, as the operator learns it for a clustered RabbitMQ's peer-discovery egress:
 * the `kubernetes` EndpointSlice in `default` (read as the operator's ServiceAccount with the generated RBAC),
 * else the operator's own server address when that is an IP.
 */
import { describe, expect, it } from 'vitest';
import { endpointsOfServerUrl, endpointsOfSlice } from '../../src/controller/apiserver-endpoints.js';
import { resourceTypeByKind } from '../../src/controller/resources.js';
import { API_SERVER_ADDRESS } from '../support/rest.js';
import type { Logger } from '../../src/controller/logger.js';
import { eventually, loadExample, startOperator, useOperatorTestEnv, waitReady } from './harness.js';

const POLICIES = resourceTypeByKind('NetworkPolicy');
const SLICES = resourceTypeByKind('EndpointSlice');

describe('reading the API server addresses', () => {
  it('takes the ready addresses and TCP ports of the EndpointSlice', () => {
    expect(
      endpointsOfSlice({
        endpoints: [
          { addresses: ['10.0.0.1'], conditions: { ready: true } },
          { addresses: ['10.0.0.2'], conditions: { ready: false } },
          { addresses: ['10.0.0.3'] },
        ],
        ports: [{ name: 'https', port: 6443, protocol: 'TCP' }],
      }),
    ).toEqual({ addresses: ['10.0.0.1', '10.0.0.3'], ports: [6443] });
    expect(endpointsOfSlice({ endpoints: [], ports: [{ port: 6443 }] })).toBeUndefined();
  });

  it('falls back to the server URL only when its host is an IP address', () => {
    expect(endpointsOfServerUrl('https://10.96.0.1:443')).toEqual({ addresses: ['10.96.0.1'], ports: [443] });
    expect(endpointsOfServerUrl('https://[fd00::1]')).toEqual({ addresses: ['fd00::1'], ports: [443] });
    expect(endpointsOfServerUrl('https://api.example.com:6443')).toBeUndefined();
    expect(endpointsOfServerUrl(undefined)).toBeUndefined();
  });
});

describe('a clustered RabbitMQ on the stand-in', () => {
  const env = useOperatorTestEnv({ operator: { resyncMs: 500 } });

  it('may reach the API server at the addresses of the kubernetes EndpointSlice, and follows a change', async () => {
    const stack = loadExample('minimal.yaml');
    stack.spec = { rabbitmq: { replicas: 3 } };
    await env.c.create(stack);
    await waitReady(env.c);
    const egress = async () =>
      ((await env.c.getOrNull(POLICIES, 'default', 'shop-network-rabbitmq-to-apiserver'))?.spec as any)
        ?.egress;
    expect(await egress()).toEqual([
      { to: [{ ipBlock: { cidr: `${API_SERVER_ADDRESS}/32` } }], ports: [{ protocol: 'TCP', port: 6443 }] },
    ]);

    // The control plane moves: the next resync renders the new address.
    const slice = await env.c.get(SLICES, 'default', 'kubernetes');
    await env.c.update({ ...slice, endpoints: [{ addresses: ['172.18.0.9'], conditions: { ready: true } }] });
    await eventually(
      async () => JSON.stringify(await egress()).includes('172.18.0.9/32'),
      'the policy to follow the new API server address',
    );
  }, 60_000);
});

describe('without the kubernetes EndpointSlice', () => {
  const env = useOperatorTestEnv({ operator: false });

  it("falls back to the operator's own API server address, with one warning", async () => {
    await env.c.delete(SLICES, 'default', 'kubernetes');
    const warnings: string[] = [];
    const log: Logger = {
      debug: () => {},
      info: () => {},
      warn: (m) => void warnings.push(m),
      error: () => {},
      child: () => log,
    };
    env.op = await startOperator(env.operatorKc, { resyncMs: 300 }, undefined, log);
    const stack = loadExample('minimal.yaml');
    stack.spec = { rabbitmq: { replicas: 3 } };
    await env.c.create(stack);
    await waitReady(env.c);
    const server = new URL(env.operatorKc.getCurrentCluster()!.server);
    const policy = await env.c.get(POLICIES, 'default', 'shop-network-rabbitmq-to-apiserver');
    expect((policy.spec as any).egress).toEqual([
      {
        to: [{ ipBlock: { cidr: `${server.hostname}/32` } }],
        ports: [{ protocol: 'TCP', port: Number(server.port) }],
      },
    ]);
    await new Promise((r) => setTimeout(r, 1_000)); // a few resyncs: still one warning
    expect(warnings.filter((w) => w.includes('EndpointSlice default/kubernetes'))).toEqual([
      `EndpointSlice default/kubernetes not used (it does not exist): using the operator's own API server address ${server.hostname}:${server.port}`,
    ]);
  }, 60_000);
});
