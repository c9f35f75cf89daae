/**
 * Objects come back the way a real API server stores them: empty `omitempty` fields dropped, quantities
 * canonical, the usual defaults filled. A client that re-applies the same object must see a no-op (no new
 * resourceVersion, managedFields unchanged), even if what it sends differs from what is stored only in those
 * ways; a client that compares what it sent with what it reads back must expect these differences.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeApiServer } from '../support/server.js';
import { http, start } from './helpers.js';

let srv: FakeApiServer;
beforeAll(async () => {
  ({ srv } = await start());
});
afterAll(() => srv.stop());

const apply = (path: string, body: unknown, manager = 'flash-sale-operator') =>
  http(srv, 'PATCH', `${path}?fieldManager=${manager}&force=true`, body, 'application/apply-patch+yaml');

const denyAll = {
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name: 'default-deny', labels: {} },
  spec: { podSelector: {}, policyTypes: ['Ingress'], ingress: [] },
};

const api = (cpu: string | number, memory: string) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'api', annotations: {} },
  spec: {
    selector: { matchLabels: { app: 'api' } },
    template: {
      metadata: { labels: { app: 'api' } },
      spec: {
        containers: [
          {
            name: 'api',
            image: 'flash-sale-api:0.1.0',
            env: [],
            ports: [{ name: 'http', containerPort: 8080 }],
            resources: { requests: { cpu, memory }, limits: { memory } },
            readinessProbe: { httpGet: { path: '/readyz', port: 'http' } },
          },
        ],
        volumes: [{ name: 'tmp', emptyDir: { sizeLimit: '1024Mi' } }],
      },
    },
  },
});

describe('stored form', () => {
  it('a NetworkPolicy with ingress: [] comes back without it, and re-applying it is a no-op', async () => {
    const path = '/apis/networking.k8s.io/v1/namespaces/default/networkpolicies/default-deny';
    const first = await apply(path, denyAll);
    expect(first.status).toBe(201);
    expect(first.json.spec).toEqual({ podSelector: {}, policyTypes: ['Ingress'] });
    expect(first.json.metadata.labels).toBeUndefined();
    const again = await apply(path, denyAll);
    expect(again.status).toBe(200);
    expect(again.json.metadata.resourceVersion).toBe(first.json.metadata.resourceVersion);
    expect(again.json.metadata.managedFields).toEqual(first.json.metadata.managedFields);
  });

  it('quantities are canonical, and re-applying the non-canonical form is a no-op', async () => {
    const path = '/apis/apps/v1/namespaces/default/deployments/api';
    const first = await apply(path, api('0.5', '1024Mi'));
    expect(first.status).toBe(201);
    const c = first.json.spec.template.spec.containers[0];
    expect(c.resources).toEqual({ requests: { cpu: '500m', memory: '1Gi' }, limits: { memory: '1Gi' } });
    expect(first.json.spec.template.spec.volumes[0].emptyDir.sizeLimit).toBe('1Gi');
    expect(c.env).toBeUndefined();
    expect(first.json.metadata.annotations).toBeUndefined();
    const again = await apply(path, api('0.5', '1024Mi'));
    expect(again.json.metadata.resourceVersion).toBe(first.json.metadata.resourceVersion);
    const numeric = await apply(path, api(0.5, '1Gi'));
    expect(numeric.json.metadata.resourceVersion).toBe(first.json.metadata.resourceVersion);
  });

  it('a Deployment gets the defaults of apps/v1 and core/v1 pod templates', async () => {
    const d = (await http(srv, 'GET', '/apis/apps/v1/namespaces/default/deployments/api')).json;
    expect(d.spec).toMatchObject({
      replicas: 1,
      revisionHistoryLimit: 10,
      progressDeadlineSeconds: 600,
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
    });
    const pod = d.spec.template.spec;
    expect(pod).toMatchObject({
      restartPolicy: 'Always',
      dnsPolicy: 'ClusterFirst',
      schedulerName: 'default-scheduler',
      terminationGracePeriodSeconds: 30,
      securityContext: {},
    });
    expect(d.spec.template.metadata.creationTimestamp).toBeNull();
    expect(pod.containers[0]).toMatchObject({
      imagePullPolicy: 'IfNotPresent',
      terminationMessagePath: '/dev/termination-log',
      terminationMessagePolicy: 'File',
      ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }],
      readinessProbe: {
        httpGet: { path: '/readyz', port: 'http', scheme: 'HTTP' },
        timeoutSeconds: 1,
        periodSeconds: 10,
        successThreshold: 1,
        failureThreshold: 3,
      },
    });
  });

  it('an untagged image is pulled Always (latest), a tagged one IfNotPresent', async () => {
    const path = '/api/v1/namespaces/default/pods/p';
    const r = await apply(path, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p' },
      spec: {
        containers: [
          { name: 'a', image: 'busybox' },
          { name: 'b', image: 'registry:5000/busybox:1.36' },
        ],
      },
    });
    expect(r.json.spec.containers.map((c: { imagePullPolicy: string }) => c.imagePullPolicy)).toEqual([
      'Always',
      'IfNotPresent',
    ]);
    expect(r.json.spec.enableServiceLinks).toBe(true);
  });

  it('Services, StatefulSets, Jobs, CronJobs, PVCs, HPAs and NetworkPolicies get theirs', async () => {
    const svc = await apply('/api/v1/namespaces/default/services/db', {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'db' },
      spec: { selector: { app: 'db' }, ports: [{ name: 'pg', port: 5432 }] },
    });
    expect(svc.json.spec).toMatchObject({
      type: 'ClusterIP',
      sessionAffinity: 'None',
      ipFamilies: ['IPv4'],
      ipFamilyPolicy: 'SingleStack',
      internalTrafficPolicy: 'Cluster',
      ports: [{ name: 'pg', port: 5432, protocol: 'TCP', targetPort: 5432 }],
    });
    expect(svc.json.spec.clusterIPs).toEqual([svc.json.spec.clusterIP]);

    const lb = await apply('/api/v1/namespaces/default/services/edge', {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'edge' },
      spec: { type: 'LoadBalancer', selector: { app: 'nginx' }, ports: [{ port: 80 }] },
    });
    expect(lb.json.spec).toMatchObject({
      externalTrafficPolicy: 'Cluster',
      allocateLoadBalancerNodePorts: true,
    });
    expect(lb.json.spec.ports[0].nodePort).toBeGreaterThanOrEqual(30000);

    const sts = await apply('/apis/apps/v1/namespaces/default/statefulsets/db', {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'db' },
      spec: {
        serviceName: 'db',
        selector: { matchLabels: { app: 'db' } },
        template: {
          metadata: { labels: { app: 'db' } },
          spec: { containers: [{ name: 'db', image: 'postgres:16' }] },
        },
        volumeClaimTemplates: [
          {
            metadata: { name: 'data' },
            spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
          },
        ],
      },
    });
    expect(sts.json.spec).toMatchObject({
      replicas: 1,
      podManagementPolicy: 'OrderedReady',
      revisionHistoryLimit: 10,
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 0 } },
      persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' },
    });
    expect(sts.json.spec.volumeClaimTemplates[0]).toMatchObject({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      spec: { volumeMode: 'Filesystem' },
      status: { phase: 'Pending' },
    });

    const cron = await apply('/apis/batch/v1/namespaces/default/cronjobs/backup', {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'backup' },
      spec: {
        schedule: '0 2 * * *',
        jobTemplate: {
          spec: {
            template: {
              spec: { restartPolicy: 'OnFailure', containers: [{ name: 'b', image: 'postgres:16' }] },
            },
          },
        },
      },
    });
    expect(cron.json.spec).toMatchObject({
      concurrencyPolicy: 'Allow',
      suspend: false,
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 1,
    });
    expect(cron.json.spec.jobTemplate.spec).toMatchObject({
      backoffLimit: 6,
      completionMode: 'NonIndexed',
      suspend: false,
    });
    // JobPodReplacementPolicy is off by default before 1.29.
    expect(cron.json.spec.jobTemplate.spec.podReplacementPolicy).toBeUndefined();

    const claim = await apply('/api/v1/namespaces/default/persistentvolumeclaims/dumps', {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'dumps' },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '5Gi' } } },
    });
    expect(claim.json.spec).toMatchObject({ volumeMode: 'Filesystem', storageClassName: 'standard' });
    const noClass = await apply('/api/v1/namespaces/default/persistentvolumeclaims/static', {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'static' },
      spec: {
        storageClassName: '',
        accessModes: ['ReadWriteOnce'],
        resources: { requests: { storage: '5Gi' } },
      },
    });
    expect(noClass.json.spec.storageClassName).toBe('');

    const hpa = await apply('/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers/api', {
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name: 'api' },
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'api' },
        maxReplicas: 10,
        behavior: { scaleDown: { stabilizationWindowSeconds: 300 } },
      },
    });
    expect(hpa.json.spec).toMatchObject({
      minReplicas: 1,
      metrics: [
        {
          type: 'Resource',
          resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } },
        },
      ],
      behavior: {
        scaleUp: {
          stabilizationWindowSeconds: 0,
          selectPolicy: 'Max',
          policies: [
            { type: 'Pods', value: 4, periodSeconds: 15 },
            { type: 'Percent', value: 100, periodSeconds: 15 },
          ],
        },
        scaleDown: {
          stabilizationWindowSeconds: 300,
          selectPolicy: 'Max',
          policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }],
        },
      },
    });

    const np = await apply('/apis/networking.k8s.io/v1/namespaces/default/networkpolicies/dns', {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'dns' },
      spec: { podSelector: {}, egress: [{ ports: [{ port: 53 }] }] },
    });
    expect(np.json.spec).toEqual({
      podSelector: {},
      policyTypes: ['Ingress', 'Egress'],
      egress: [{ ports: [{ port: 53, protocol: 'TCP' }] }],
    });
  });

  it('defaults are owned by nobody: dropping a field from the apply resets it to its default', async () => {
    const path = '/apis/apps/v1/namespaces/default/deployments/scaled';
    const dep = (replicas?: number) => ({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'scaled' },
      spec: {
        ...(replicas === undefined ? {} : { replicas }),
        selector: { matchLabels: { app: 's' } },
        template: { metadata: { labels: { app: 's' } }, spec: { containers: [{ name: 's', image: 's:1' }] } },
      },
    });
    const first = await apply(path, dep(5));
    const owned = JSON.stringify(first.json.metadata.managedFields[0].fieldsV1);
    expect(owned).toContain('"f:replicas"');
    expect(owned).not.toContain('f:revisionHistoryLimit');
    expect(owned).not.toContain('f:terminationMessagePath');
    const dropped = await apply(path, dep());
    expect(dropped.json.spec.replicas).toBe(1);
  });

  it('reports the emulated version consistently in /version and the OpenAPI documents', async () => {
    const version = (await http(srv, 'GET', '/version')).json;
    expect(version).toMatchObject({ major: '1', minor: '28', gitVersion: 'v1.28.0-fake' });
    const v3 = (await http(srv, 'GET', '/openapi/v3')).json;
    const apps = (await http(srv, 'GET', v3.paths['apis/apps/v1'].serverRelativeURL)).json;
    expect(apps.info.version).toBe('v1.28.0-fake');
    const v2 = await http(srv, 'GET', '/openapi/v2', undefined, 'application/json');
    expect(v2.json.info.version).toBe('v1.28.0-fake');
    expect(
      v2.json.paths['/apis/apps/v1/namespaces/{namespace}/deployments/{name}'].patch.parameters,
    ).toContainEqual(expect.objectContaining({ name: 'fieldValidation', in: 'query' }));
  });
});
