/**
 * Rollout state per component, read from the live workloads in the informer cache: `status.components` and
 * one `<Component>Ready` condition each.
 */
import type { ComponentName, ComponentStatus, ResolvedFlashSaleStack } from '../../api/types.js';
import type { ApiObject } from '../kube-client.js';
import type { ConditionInput } from '../conditions.js';

export const WORKLOAD_COMPONENTS: readonly {
  component: ComponentName;
  kind: 'Deployment' | 'StatefulSet';
}[] = [
  { component: 'postgres', kind: 'StatefulSet' },
  { component: 'pgbouncer', kind: 'Deployment' },
  { component: 'redis', kind: 'StatefulSet' },
  { component: 'rabbitmq', kind: 'StatefulSet' },
  { component: 'api', kind: 'Deployment' },
  { component: 'consumer', kind: 'Deployment' },
  { component: 'nginx', kind: 'Deployment' },
];

const COMPONENT_CONDITION: Record<ComponentName, string> = {
  postgres: 'PostgresReady',
  pgbouncer: 'PgBouncerReady',
  redis: 'RedisReady',
  rabbitmq: 'RabbitMQReady',
  api: 'ApiReady',
  consumer: 'ConsumerReady',
  nginx: 'NginxReady',
};

/** The components a stack runs (PgBouncer only when enabled). */
export function stackComponents(stack: ResolvedFlashSaleStack): typeof WORKLOAD_COMPONENTS {
  return WORKLOAD_COMPONENTS.filter((w) => w.component !== 'pgbouncer' || stack.spec.pgbouncer.enabled);
}

/** The live workload of each component, as found in the cache (absent until created). */
export type LiveWorkloads = Partial<Record<ComponentName, ApiObject>>;

export type ComponentStatuses = Partial<Record<ComponentName, ComponentStatus>>;

export function componentStatuses(stack: ResolvedFlashSaleStack, live: LiveWorkloads): ComponentStatuses {
  const out: ComponentStatuses = {};
  const ns = stack.metadata.namespace;
  for (const { component, kind } of stackComponents(stack)) {
    const w = live[component];
    if (!w) {
      out[component] = { ready: false, replicas: 0, readyReplicas: 0, message: `${kind} not created yet` };
      continue;
    }
    const spec = (w.spec ?? {}) as { replicas?: number };
    const st = (w.status ?? {}) as { replicas?: number; readyReplicas?: number; observedGeneration?: number };
    const desiredReplicas = spec.replicas ?? st.replicas ?? 1;
    const readyReplicas = st.readyReplicas ?? 0;
    const current = (st.observedGeneration ?? 0) >= (w.metadata.generation ?? 0);
    const ready = current && readyReplicas >= desiredReplicas && desiredReplicas > 0;
    const service = `${stack.metadata.name}-${component === 'consumer' ? 'api' : component}`;
    out[component] = {
      ready,
      replicas: desiredReplicas,
      readyReplicas,
      ...(component === 'consumer' ? {} : { endpoint: `${service}.${ns}.svc` }),
      ...(ready
        ? {}
        : {
            message: current ? `${readyReplicas}/${desiredReplicas} replicas ready` : 'rollout in progress',
          }),
    };
  }
  return out;
}

export function componentConditions(components: ComponentStatuses): ConditionInput[] {
  return (Object.keys(components) as ComponentName[]).map((n) => {
    const c = components[n]!;
    return {
      type: COMPONENT_CONDITION[n],
      status: c.ready ? 'True' : 'False',
      reason: c.ready ? 'Available' : 'NotReady',
      message: c.ready ? `${c.readyReplicas}/${c.replicas} replicas ready` : (c.message ?? 'not ready'),
    };
  });
}

export function notReadyComponents(components: ComponentStatuses): ComponentName[] {
  return (Object.keys(components) as ComponentName[]).filter((n) => !components[n]?.ready);
}
