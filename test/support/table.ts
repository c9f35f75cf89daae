/** Server-side printing: `Accept: application/json;as=Table;v=v1;g=meta.k8s.io`. */
import type { ResourceType } from './resources.js';
import { humanAge, isObj, type KObj } from './util.js';

/** A small JSONPath evaluator for printer columns: `.a.b`, `[0]`, `[*]`, `[?(@.type=="Ready")]`. */
export function jsonPath(obj: unknown, expr: string): unknown[] {
  let e = expr.trim();
  if (e.startsWith('{') && e.endsWith('}')) e = e.slice(1, -1);
  if (e.startsWith('$')) e = e.slice(1);
  const tokens: string[] = [];
  const re = /\.([A-Za-z0-9_\-/]+)|\[([^\]]+)\]/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(e))) tokens.push(m[1] !== undefined ? `.${m[1]}` : `[${m[2]}]`);
  let cur: unknown[] = [obj];
  for (const t of tokens) {
    const next: unknown[] = [];
    for (const c of cur) {
      if (t.startsWith('.')) {
        if (isObj(c) && c[t.slice(1)] !== undefined) next.push(c[t.slice(1)]);
      } else {
        const inner = t.slice(1, -1);
        if (!Array.isArray(c)) continue;
        if (inner === '*') next.push(...c);
        else if (/^-?\d+$/.test(inner)) {
          const i = Number(inner);
          const v = c[i < 0 ? c.length + i : i];
          if (v !== undefined) next.push(v);
        } else {
          const f = inner.match(/^\?\(@\.([A-Za-z0-9_.]+)\s*(==|!=)\s*["']?([^"']*)["']?\)$/);
          if (!f) continue;
          for (const item of c) {
            let v: unknown = item;
            for (const p of f[1]!.split('.')) v = isObj(v) ? v[p] : undefined;
            if ((String(v) === f[3]) === (f[2] === '==')) next.push(item);
          }
        }
      }
    }
    cur = next;
  }
  return cur;
}

interface Column {
  name: string;
  type: string;
  format: string;
  description: string;
  priority: number;
}

type Cell = (o: KObj) => unknown;

const col = (name: string, type = 'string', format = '', priority = 0): Column => ({
  name,
  type,
  format,
  description: name,
  priority,
});
const age: [Column, Cell] = [col('Age', 'string'), (o) => humanAge(o.metadata.creationTimestamp)];

function builtinColumns(plural: string): [Column, Cell][] {
  const ready = (o: KObj) => `${o.status?.readyReplicas ?? 0}/${o.spec?.replicas ?? 1}`;
  switch (plural) {
    case 'deployments':
      return [
        [col('Ready'), ready],
        [col('Up-to-date', 'integer'), (o) => o.status?.updatedReplicas ?? 0],
        [col('Available', 'integer'), (o) => o.status?.availableReplicas ?? 0],
        age,
      ];
    case 'statefulsets':
      return [[col('Ready'), ready], age];
    case 'jobs':
      return [
        [
          col('Status'),
          (o) =>
            (o.status?.conditions ?? []).find(
              (c: any) => c.status === 'True' && (c.type === 'Complete' || c.type === 'Failed'),
            )?.type ?? 'Running',
        ],
        [col('Completions'), (o) => `${o.status?.succeeded ?? 0}/${o.spec?.completions ?? 1}`],
        age,
      ];
    case 'cronjobs':
      return [
        [col('Schedule'), (o) => o.spec?.schedule ?? ''],
        [col('Suspend', 'boolean'), (o) => Boolean(o.spec?.suspend)],
        [col('Active', 'integer'), (o) => (o.status?.active ?? []).length],
        age,
      ];
    case 'pods':
      return [
        [
          col('Ready'),
          (o) =>
            `${(o.status?.containerStatuses ?? []).filter((c: any) => c.ready).length}/${(o.spec?.containers ?? []).length}`,
        ],
        [col('Status'), (o) => o.status?.phase ?? ''],
        [
          col('Restarts', 'integer'),
          (o) =>
            (o.status?.containerStatuses ?? []).reduce((n: number, c: any) => n + (c.restartCount ?? 0), 0),
        ],
        age,
      ];
    case 'services':
      return [
        [col('Type'), (o) => o.spec?.type ?? 'ClusterIP'],
        [col('Cluster-IP'), (o) => o.spec?.clusterIP ?? '<none>'],
        [col('External-IP'), () => '<none>'],
        [
          col('Port(s)'),
          (o) =>
            (o.spec?.ports ?? []).map((p: any) => `${p.port}/${p.protocol ?? 'TCP'}`).join(',') || '<none>',
        ],
        age,
      ];
    case 'configmaps':
      return [
        [
          col('Data', 'integer'),
          (o) => Object.keys(o.data ?? {}).length + Object.keys(o.binaryData ?? {}).length,
        ],
        age,
      ];
    case 'secrets':
      return [
        [col('Type'), (o) => o.type ?? 'Opaque'],
        [col('Data', 'integer'), (o) => Object.keys(o.data ?? {}).length],
        age,
      ];
    case 'namespaces':
      return [[col('Status'), (o) => o.status?.phase ?? 'Active'], age];
    case 'persistentvolumeclaims':
      return [
        [col('Status'), (o) => o.status?.phase ?? 'Pending'],
        [col('Volume'), (o) => o.spec?.volumeName ?? ''],
        age,
      ];
    case 'events':
      return [
        [col('Last Seen'), (o) => humanAge(o.lastTimestamp ?? o.eventTime ?? o.metadata.creationTimestamp)],
        [col('Type'), (o) => o.type ?? ''],
        [col('Reason'), (o) => o.reason ?? ''],
        [
          col('Object'),
          (o) => `${String(o.involvedObject?.kind ?? '').toLowerCase()}/${o.involvedObject?.name ?? ''}`,
        ],
        [col('Message'), (o) => o.message ?? ''],
      ];
    case 'customresourcedefinitions':
      return [[col('Created At', 'date'), (o) => o.metadata.creationTimestamp]];
    default:
      return [age];
  }
}

function cellFromJsonPath(o: KObj, path: string, type: string): unknown {
  const vals = jsonPath(o, path);
  if (!vals.length) return null;
  const v = vals[0];
  if (type === 'date' && typeof v === 'string') return humanAge(v);
  if (type === 'integer' || type === 'number' || type === 'boolean') return v;
  return vals.map((x) => (isObj(x) || Array.isArray(x) ? JSON.stringify(x) : String(x))).join(',');
}

export function toTable(
  t: ResourceType,
  items: KObj[],
  listMeta: Record<string, unknown>,
  includeObject: string,
): Record<string, unknown> {
  let cols: [Column, Cell][];
  if (t.crd) {
    const pcs = t.crd.printerColumns;
    cols = pcs.length
      ? pcs.map((c) => [
          {
            name: c.name,
            type: c.type,
            format: c.format ?? '',
            description: c.description ?? '',
            priority: c.priority ?? 0,
          },
          (o: KObj) => cellFromJsonPath(o, c.jsonPath, c.type),
        ])
      : [age];
  } else cols = builtinColumns(t.plural);
  const nameCol: Column = {
    name: 'Name',
    type: 'string',
    format: 'name',
    description: 'Name must be unique within a namespace.',
    priority: 0,
  };
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: listMeta,
    columnDefinitions: [nameCol, ...cols.map((c) => c[0])],
    rows: items.map((o) => ({
      cells: [o.metadata.name, ...cols.map((c) => c[1](o) ?? null)],
      object:
        includeObject === 'None'
          ? undefined
          : includeObject === 'Object'
            ? o
            : {
                kind: 'PartialObjectMetadata',
                apiVersion: 'meta.k8s.io/v1',
                metadata: (({ managedFields: _mf, ...m }) => m)(o.metadata),
              },
    })),
  };
}
