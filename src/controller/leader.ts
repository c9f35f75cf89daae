/**
 * Leader election on a coordination.k8s.io/v1 Lease, with client-go's semantics: a candidate takes the
 * lease when it is free or its holder has not renewed within leaseDuration; the leader renews every
 * retryPeriod and gives up leadership if it cannot renew within renewDeadline; on shutdown it releases the
 * lease (empty holder) so a standby takes over at once instead of waiting for expiry.
 */
import { isConflict, isNotFound, type ApiObject, type KubeClient } from './kube-client.js';
import { sleep } from './informer.js';
import type { Logger } from './logger.js';
import { resourceTypeByKind } from './resources.js';

export interface LeaderElectionOptions {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

const LEASE = resourceTypeByKind('Lease');

/** MicroTime, as Lease fields are (RFC 3339 with microseconds). */
function microTime(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export class LeaderElector {
  private leading = false;
  private readonly stopping = new AbortController();
  private lastRenew = 0;

  constructor(
    private readonly client: KubeClient,
    private readonly opts: LeaderElectionOptions,
    private readonly log: Logger,
  ) {}

  isLeader(): boolean {
    return this.leading;
  }

  /**
   * Blocks until this process leads (resolves true) or `stop()` is called first (false). Then keeps renewing in
   * the background; `onLost` is called once if leadership is lost.
   */
  async run(onLost: () => void): Promise<boolean> {
    while (!this.stopping.signal.aborted) {
      if (await this.tryAcquireOrRenew()) {
        this.leading = true;
        this.log.info('became leader', { lease: `${this.opts.namespace}/${this.opts.name}` });
        void this.renewLoop(onLost);
        return true;
      }
      await sleep(this.opts.retryPeriodMs * (1 + Math.random() * 0.2), this.stopping.signal);
    }
    return false;
  }

  private async renewLoop(onLost: () => void): Promise<void> {
    while (!this.stopping.signal.aborted && this.leading) {
      await sleep(this.opts.retryPeriodMs, this.stopping.signal);
      if (this.stopping.signal.aborted) return;
      const ok = await this.tryAcquireOrRenew();
      if (!ok && Date.now() - this.lastRenew > this.opts.renewDeadlineMs) {
        this.leading = false;
        this.log.error('lost leadership: could not renew the lease within the renew deadline');
        onLost();
        return;
      }
    }
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const now = new Date();
    const desired: LeaseSpec = {
      holderIdentity: this.opts.identity,
      leaseDurationSeconds: Math.ceil(this.opts.leaseDurationMs / 1000),
      renewTime: microTime(now),
    };
    try {
      const lease = await this.client.getOrNull(LEASE, this.opts.namespace, this.opts.name);
      if (!lease) {
        await this.client.create({
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name: this.opts.name, namespace: this.opts.namespace },
          spec: { ...desired, acquireTime: microTime(now), leaseTransitions: 0 },
        });
        this.lastRenew = Date.now();
        return true;
      }
      const spec = (lease.spec ?? {}) as LeaseSpec;
      const holder = spec.holderIdentity ?? '';
      const renewedAt = spec.renewTime ? Date.parse(spec.renewTime) : 0;
      const duration = (spec.leaseDurationSeconds ?? 0) * 1000;
      const held = holder !== '' && holder !== this.opts.identity && renewedAt + duration > now.getTime();
      if (held) return false;
      const taking = holder !== this.opts.identity;
      const next: ApiObject = {
        ...lease,
        spec: {
          ...spec,
          ...desired,
          acquireTime: taking ? microTime(now) : spec.acquireTime,
          leaseTransitions: (spec.leaseTransitions ?? 0) + (taking && holder !== '' ? 1 : 0),
        },
      };
      await this.client.update(next); // resourceVersion in `lease` makes a racing update fail with 409
      this.lastRenew = Date.now();
      return true;
    } catch (err) {
      if (!isConflict(err) && !isNotFound(err)) {
        this.log.warn('lease update failed', { error: err instanceof Error ? err.message : String(err) });
      }
      return false;
    }
  }

  /** Stops campaigning/renewing and, if leading, releases the lease for a fast hand-over. */
  async stop(): Promise<void> {
    this.stopping.abort();
    if (!this.leading) return;
    this.leading = false;
    try {
      const lease = await this.client.get(LEASE, this.opts.namespace, this.opts.name);
      const spec = (lease.spec ?? {}) as LeaseSpec;
      if (spec.holderIdentity !== this.opts.identity) return;
      await this.client.update({
        ...lease,
        spec: { ...spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: microTime(new Date()) },
      });
      this.log.info('released leader lease');
    } catch (err) {
      this.log.warn('could not release the lease', {
        error: err instanceof Error ? err.message : String(err),
      });
    }
  }
}
