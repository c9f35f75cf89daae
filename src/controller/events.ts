/**
 * Kubernetes Events on the FlashSaleStack, emitted on transitions only (never every reconcile), so
 * `kubectl describe fss` tells the story: Created, Updated, InvalidSpec, Ready, Degraded, BackupFailed...
 */
import { randomBytes } from 'node:crypto';
import type { ApiObject, KubeClient } from './kube-client.js';
import type { Logger } from './logger.js';

export type EventType = 'Normal' | 'Warning';

export interface EventRecorder {
  record(stack: ApiObject, type: EventType, reason: string, message: string): Promise<void>;
}

export class KubeEventRecorder implements EventRecorder {
  constructor(
    private readonly client: KubeClient,
    private readonly instance: string,
    private readonly log: Logger,
  ) {}

  async record(stack: ApiObject, type: EventType, reason: string, message: string): Promise<void> {
    const now = new Date().toISOString();
    const name = `${stack.metadata.name}.${Date.now().toString(16)}${randomBytes(3).toString('hex')}`;
    try {
      await this.client.create({
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name, namespace: stack.metadata.namespace },
        involvedObject: {
          apiVersion: stack.apiVersion,
          kind: stack.kind,
          name: stack.metadata.name,
          namespace: stack.metadata.namespace,
          uid: stack.metadata.uid,
          resourceVersion: stack.metadata.resourceVersion,
        },
        reason,
        message: message.length > 1024 ? `${message.slice(0, 1021)}...` : message,
        type,
        source: { component: 'flash-sale-operator' },
        reportingComponent: 'flash-sale-operator',
        reportingInstance: this.instance,
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      });
    } catch (err) {
      // An event is best effort: losing one must not fail a reconcile.
      this.log.warn('could not record event', {
        reason,
        error: err instanceof Error ? err.message : String(err),
      });
    }
  }
}
