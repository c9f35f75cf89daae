/**
 * A small NetworkPolicy evaluator with the semantics of networking.k8s.io/v1 (the API reference and
 * kubernetes/api networking/v1/types.go), for tests that ask "who may reach what":
 *   - a pod is isolated for a direction when some policy in its namespace selects it (spec.podSelector) and
 *     lists that direction in policyTypes; a pod no policy isolates allows everything in that direction;
 *   - an isolated pod allows a connection when any selecting policy has a rule whose peers and ports match
 *     (policies are additive; absent `from`/`to` = every peer, absent `ports` = every port);
 *   - a peer is a podSelector (pods of the policy's namespace), a namespaceSelector (every pod of those
 *     namespaces), both (the pods matching in the namespaces matching), or an ipBlock (cidr minus except);
 *   - a port is a number or a container port name of the destination pod, TCP when no protocol is given,
 *     up to endPort when set;
 *   - a connection happens when the source's egress AND the destination's ingress allow it; endpoints outside
 *     the cluster (the internet, the API server's host network) have no policies of their own.
 * Label selectors support matchLabels and matchExpressions (In, NotIn, Exists, DoesNotExist).
 */
import type { KubeObject } from '../../src/render/common.js';

export interface Endpoint {
  /** Readable name used in the allowed set. */
  name: string;
  ip: string;
  /** Pods only: their namespace and labels. Absent for hosts outside the pod network. */
  pod?: { namespace: string; labels: Record<string, string>; ports: ContainerPort[] };
}

export interface ContainerPort {
  name?: string;
  containerPort: number;
  protocol?: string;
}

export interface Connection {
  from: Endpoint;
  to: Endpoint;
  port: number;
  protocol: 'TCP' | 'UDP';
}

interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}
interface PolicyPeer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: { cidr: string; except?: string[] };
}
interface PolicyPort {
  protocol?: string;
  port?: number | string;
  endPort?: number;
}
interface PolicyRule {
  from?: PolicyPeer[];
  to?: PolicyPeer[];
  ports?: PolicyPort[];
}
interface PolicySpec {
  podSelector: LabelSelector;
  policyTypes?: string[];
  ingress?: PolicyRule[];
  egress?: PolicyRule[];
}

export function selectorMatches(sel: LabelSelector, labels: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const inValues = has && (e.values ?? []).includes(labels[e.key]!);
    const ok =
      e.operator === 'In'
        ? inValues
        : e.operator === 'NotIn'
          ? !inValues
          : e.operator === 'Exists'
            ? has
            : e.operator === 'DoesNotExist'
              ? !has
              : undefined;
    if (ok === undefined) throw new Error(`unknown selector operator ${e.operator}`);
    if (!ok) return false;
  }
  return true;
}

function ipv4(ip: string): number {
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255))
    throw new Error(`not an IPv4 address: ${ip}`);
  return parts.reduce((n, p) => n * 256 + p, 0);
}

export function cidrContains(cidr: string, ip: string): boolean {
  const [base, bits] = cidr.split('/');
  if (base === undefined || bits === undefined) throw new Error(`not a CIDR: ${cidr}`);
  if (base.includes(':') || ip.includes(':')) return base.includes(':') && ip === base && bits === '128';
  const size = 2 ** (32 - Number(bits));
  return Math.floor(ipv4(ip) / size) === Math.floor(ipv4(base) / size);
}

export class PolicyEvaluator {
  private readonly policies: { namespace: string; spec: PolicySpec }[];

  constructor(
    policies: KubeObject[],
    /** Labels of every namespace (each carries kubernetes.io/metadata.name, as the API server sets it). */
    private readonly namespaces: Record<string, Record<string, string>>,
  ) {
    this.policies = policies.map((p) => {
      if (p.kind !== 'NetworkPolicy') throw new Error(`${p.kind} is not a NetworkPolicy`);
      const namespace = p.metadata.namespace;
      if (!namespace) throw new Error(`NetworkPolicy ${p.metadata.name} has no namespace`);
      return { namespace, spec: p.spec as unknown as PolicySpec };
    });
  }

  allows(c: Connection): boolean {
    return this.side(c, 'Egress') && this.side(c, 'Ingress');
  }

  private side(c: Connection, direction: 'Ingress' | 'Egress'): boolean {
    const subject = direction === 'Ingress' ? c.to : c.from;
    const peer = direction === 'Ingress' ? c.from : c.to;
    const pod = subject.pod;
    if (!pod) return true;
    const selecting = this.policies.filter(
      (p) =>
        p.namespace === pod.namespace &&
        selectorMatches(p.spec.podSelector, pod.labels) &&
        // policyTypes defaults to Ingress, plus Egress when egress rules exist (the API server fills it in).
        (p.spec.policyTypes ?? ['Ingress', ...(p.spec.egress ? ['Egress'] : [])]).includes(direction),
    );
    if (selecting.length === 0) return true;
    return selecting.some((p) =>
      ((direction === 'Ingress' ? p.spec.ingress : p.spec.egress) ?? []).some(
        (rule) =>
          this.peersMatch(direction === 'Ingress' ? rule.from : rule.to, peer, p.namespace) &&
          portsMatch(rule.ports, c),
      ),
    );
  }

  private peersMatch(peers: PolicyPeer[] | undefined, peer: Endpoint, policyNamespace: string): boolean {
    if (peers === undefined || peers.length === 0) return true;
    return peers.some((p) => {
      if (p.ipBlock) {
        return (
          cidrContains(p.ipBlock.cidr, peer.ip) &&
          !(p.ipBlock.except ?? []).some((e) => cidrContains(e, peer.ip))
        );
      }
      const pod = peer.pod;
      if (!pod) return false;
      const nsLabels = this.namespaces[pod.namespace];
      if (!nsLabels) throw new Error(`namespace ${pod.namespace} is not declared`);
      const nsOk = p.namespaceSelector
        ? selectorMatches(p.namespaceSelector, nsLabels)
        : pod.namespace === policyNamespace;
      const podOk = p.podSelector ? selectorMatches(p.podSelector, pod.labels) : true;
      return nsOk && podOk;
    });
  }
}

function portsMatch(ports: PolicyPort[] | undefined, c: Connection): boolean {
  if (ports === undefined || ports.length === 0) return true;
  return ports.some((p) => {
    if ((p.protocol ?? 'TCP') !== c.protocol) return false;
    if (p.port === undefined) return true;
    if (typeof p.port === 'string') {
      const named = c.to.pod?.ports.find((cp) => cp.name === p.port && (cp.protocol ?? 'TCP') === c.protocol);
      return named?.containerPort === c.port;
    }
    return p.endPort === undefined ? p.port === c.port : c.port >= p.port && c.port <= p.endPort;
  });
}
