import { describe, expect, it } from 'vitest';
import { applyDefaults } from '../../src/api/defaults.js';
import { render } from '../../src/render/index.js';
import { apiServiceEndpoint, stackProbeTargets } from '../../src/controller/health-integration.js';
import { inputs } from '../golden/fixtures.js';

describe('where the operator reaches a stack API', () => {
  const stack = applyDefaults({
    apiVersion: 'flashsale.dev/v1alpha1',
    kind: 'FlashSaleStack',
    metadata: { name: 'shop', namespace: 'default', uid: 'u' },
    spec: { api: { port: 9000 } },
  });

  it('is a port the rendered API Service serves, also when spec.api.port names another container port', () => {
    const service = render(stack, inputs()).objects.find(
      (o) => o.kind === 'Service' && o.metadata.name === 'shop-api',
    ) as unknown as { spec: { ports: { name: string; port: number; targetPort: unknown }[] } };
    const http = service.spec.ports.find((p) => p.name === 'http')!;
    expect(apiServiceEndpoint(stack)).toEqual({ host: 'shop-api.default.svc', port: http.port });
    expect(stackProbeTargets(stack, inputs().secrets).apiUrl).toBe(
      `http://shop-api.default.svc:${http.port}`,
    );
    expect(http.port).not.toBe(9000);
  });
});
