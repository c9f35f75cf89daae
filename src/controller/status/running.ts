/**
 * What actually runs, read from the live workloads (not from the spec): the image tag of each component's
 * main container and the API's ready/desired replicas as the HPA scaled them. Shown by `kubectl get fss -o wide`.
 */
import type { FlashSaleStackStatus } from '../../api/types.js';
import type { ApiObject } from '../kube-client.js';
import type { LiveWorkloads } from './components.js';

type Versions = NonNullable<FlashSaleStackStatus['versions']>;
const VERSIONED: readonly (keyof Versions)[] = ['postgres', 'pgbouncer', 'redis', 'rabbitmq', 'api', 'nginx'];

/** `postgres:18.1-bookworm` → `18.1-bookworm`; a digest reference keeps its first 12 hex digits. */
export function imageTag(image: string): string {
  const at = image.indexOf('@');
  if (at >= 0) return image.slice(at + 1).replace(/^(sha256:[0-9a-f]{12})[0-9a-f]*$/, '$1');
  const lastSlash = image.lastIndexOf('/');
  const colon = image.indexOf(':', lastSlash + 1);
  return colon >= 0 ? image.slice(colon + 1) : 'latest';
}

function mainImage(workload: ApiObject, container: string): string | undefined {
  const pod = (workload.spec as { template?: { spec?: { containers?: { name: string; image?: string }[] } } })
    ?.template?.spec;
  const containers = pod?.containers ?? [];
  return (containers.find((c) => c.name === container) ?? containers[0])?.image;
}

export function runningVersions(live: LiveWorkloads): Versions {
  const out: Versions = {};
  for (const component of VERSIONED) {
    const w = live[component];
    const image = w ? mainImage(w, component) : undefined;
    if (image) out[component] = imageTag(image);
  }
  return out;
}

/** `ready/desired` of the live API Deployment, e.g. `8/10`. */
export function apiReplicas(live: LiveWorkloads): string | undefined {
  const api = live.api;
  if (!api) return undefined;
  const desired = (api.spec as { replicas?: number } | undefined)?.replicas ?? 1;
  const ready = (api.status as { readyReplicas?: number } | undefined)?.readyReplicas ?? 0;
  return `${ready}/${desired}`;
}
