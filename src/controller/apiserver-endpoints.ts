/**
 * Where the Kubernetes API server really listens, for the NetworkPolicy that lets a clustered RabbitMQ's peer
 * discovery reach it (RenderInputs.kubernetesApiServer). CNIs judge egress after kube-proxy has translated the
 * `kubernetes` Service's address, so the policy must name the API server's own addresses and ports: the
 * EndpointSlice `kubernetes` in `default`, which kube-apiserver keeps up to date itself.
 *
 * When that object cannot be read (an install without the Role that grants it, or a cluster that has none),
 * the fallback is the address the operator itself talks to (its kubeconfig's server, an IP in-cluster), with a
 * warning: right where the CNI judges egress before translation, or where that address is the API server's.
 */
import { KubeApiError, type KubeClient } from './kube-client.js';
import { resourceTypeByKind } from './resources.js';
import type { ApiServerEndpoints } from '../render/common.js';

export const API_SERVER_SLICE = { namespace: 'default', name: 'kubernetes' } as const;

/** The ready addresses and TCP ports of an EndpointSlice; undefined when it names none. */
export function endpointsOfSlice(slice: unknown): ApiServerEndpoints | undefined {
  const s = slice as {
    endpoints?: { addresses?: string[]; conditions?: { ready?: boolean } }[];
    ports?: { port?: number; protocol?: string }[];
  };
  const addresses = (s.endpoints ?? [])
    .filter((e) => e.conditions?.ready !== false)
    .flatMap((e) => e.addresses ?? []);
  const ports = (s.ports ?? [])
    .filter((p) => (p.protocol ?? 'TCP') === 'TCP' && typeof p.port === 'number')
    .map((p) => p.port!);
  return addresses.length && ports.length ? { addresses, ports } : undefined;
}

/** The host and port of a server URL when the host is an IP address (a name cannot go into an ipBlock). */
export function endpointsOfServerUrl(server: string | undefined): ApiServerEndpoints | undefined {
  if (!server) return undefined;
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    return undefined;
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const isIp = /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || host.includes(':');
  if (!isIp) return undefined;
  const port = url.port ? Number(url.port) : url.protocol === 'http:' ? 80 : 443;
  return { addresses: [host], ports: [port] };
}

export interface ApiServerLookup {
  endpoints: ApiServerEndpoints | undefined;
  /** Why the EndpointSlice was not used (then `endpoints` is the fallback), for one warning. */
  problem?: string;
}

export async function readApiServerEndpoints(
  client: KubeClient,
  serverUrl: string | undefined,
): Promise<ApiServerLookup> {
  let why: string;
  try {
    const slices = resourceTypeByKind('EndpointSlice');
    const slice = await client.get(slices, API_SERVER_SLICE.namespace, API_SERVER_SLICE.name);
    const found = endpointsOfSlice(slice);
    if (found) return { endpoints: found };
    why = 'it names no ready address';
  } catch (err) {
    if (!(err instanceof KubeApiError) || ![403, 404].includes(err.code)) throw err;
    why = err.code === 403 ? 'the operator may not read it' : 'it does not exist';
  }
  const endpoints = endpointsOfServerUrl(serverUrl);
  const using = endpoints
    ? `using the operator's own API server address ${endpoints.addresses[0]}:${endpoints.ports[0]}`
    : 'a clustered RabbitMQ gets no egress to the API server';
  return {
    endpoints,
    problem: `EndpointSlice ${API_SERVER_SLICE.namespace}/${API_SERVER_SLICE.name} not used (${why}): ${using}`,
  };
}
