/** JSON merge patch (RFC 7386), JSON patch (RFC 6902) and strategic merge patch for built-in kinds. */
import { ApiError } from './errors.js';
import { clone, deepEqual, isObj } from './util.js';

export function mergePatch(target: any, patch: any): any {
  if (!isObj(patch)) return clone(patch);
  const out: Record<string, any> = isObj(target) ? clone(target) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

function unescapePtr(s: string): string {
  return s.replace(/~1/g, '/').replace(/~0/g, '~');
}

function parsePointer(p: string): string[] {
  if (p === '') return [];
  if (!p.startsWith('/'))
    throw new ApiError(422, 'Invalid', `json patch: invalid path "${p}" (must start with "/")`);
  return p.slice(1).split('/').map(unescapePtr);
}

function getParent(doc: any, path: string[], op: string): { parent: any; key: string } {
  let cur = doc;
  for (const seg of path.slice(0, -1)) {
    cur = Array.isArray(cur) ? cur[Number(seg)] : isObj(cur) ? cur[seg] : undefined;
    if (cur === undefined)
      throw new ApiError(
        422,
        'Invalid',
        `the server rejected our request due to an error in our request: ${op} operation does not apply: doc is missing path: "/${path.join('/')}"`,
      );
  }
  return { parent: cur, key: path[path.length - 1]! };
}

function getAt(doc: any, path: string[]): any {
  let cur = doc;
  for (const seg of path) {
    if (Array.isArray(cur)) cur = cur[Number(seg)];
    else if (isObj(cur)) cur = Object.prototype.hasOwnProperty.call(cur, seg) ? cur[seg] : undefined;
    else return undefined;
  }
  return cur;
}

export function jsonPatch(doc: any, ops: unknown): any {
  if (!Array.isArray(ops))
    throw new ApiError(400, 'BadRequest', 'json patch must be a JSON array of operations');
  let out = clone(doc);
  const missing = (op: string, p: string) =>
    new ApiError(
      422,
      'Invalid',
      `the server rejected our request due to an error in our request: ${op} operation does not apply: doc is missing path: "${p}"`,
    );
  for (const o of ops) {
    if (!isObj(o) || typeof o.op !== 'string' || typeof o.path !== 'string') {
      throw new ApiError(400, 'BadRequest', 'json patch operation needs "op" and "path"');
    }
    const path = parsePointer(o.path);
    const remove = (p: string[], opName: string): any => {
      if (p.length === 0) throw missing(opName, o.path);
      const { parent, key } = getParent(out, p, opName);
      if (Array.isArray(parent)) {
        const i = Number(key);
        if (!(i >= 0 && i < parent.length)) throw missing(opName, '/' + p.join('/'));
        return parent.splice(i, 1)[0];
      }
      if (!isObj(parent) || !(key in parent)) throw missing(opName, '/' + p.join('/'));
      const v = parent[key];
      delete parent[key];
      return v;
    };
    const add = (p: string[], value: any, opName: string) => {
      if (p.length === 0) {
        out = value;
        return;
      }
      const { parent, key } = getParent(out, p, opName);
      if (Array.isArray(parent)) {
        const i = key === '-' ? parent.length : Number(key);
        if (!(i >= 0 && i <= parent.length)) throw missing(opName, '/' + p.join('/'));
        parent.splice(i, 0, value);
      } else if (isObj(parent)) parent[key] = value;
      else throw missing(opName, '/' + p.join('/'));
    };
    switch (o.op) {
      case 'add':
        add(path, clone(o.value), 'add');
        break;
      case 'remove':
        remove(path, 'remove');
        break;
      case 'replace': {
        if (getAt(out, path) === undefined) throw missing('replace', o.path);
        if (path.length === 0) out = clone(o.value);
        else {
          const { parent, key } = getParent(out, path, 'replace');
          if (Array.isArray(parent)) parent[Number(key)] = clone(o.value);
          else parent[key] = clone(o.value);
        }
        break;
      }
      case 'move': {
        const v = remove(parsePointer(String(o.from)), 'move');
        add(path, v, 'move');
        break;
      }
      case 'copy': {
        const v = getAt(out, parsePointer(String(o.from)));
        if (v === undefined) throw missing('copy', String(o.from));
        add(path, clone(v), 'copy');
        break;
      }
      case 'test': {
        const v = getAt(out, path);
        if (!deepEqual(v, o.value)) {
          throw new ApiError(
            422,
            'Invalid',
            `the server rejected our request due to an error in our request: testing value ${o.path} failed`,
          );
        }
        break;
      }
      default:
        throw new ApiError(400, 'BadRequest', `Unexpected kind: ${String(o.op)}`);
    }
  }
  return out;
}

/**
 * patchMergeKey of the built-in list fields (by field name; `ports` depends on whether items carry
 * `containerPort`). 'set' = a primitive list with patchStrategy merge (finalizers).
 */
export function strategicMergeKey(field: string, sample: any[]): string | 'set' | undefined {
  switch (field) {
    case 'containers':
    case 'initContainers':
    case 'ephemeralContainers':
    case 'env':
    case 'volumes':
    case 'imagePullSecrets':
      return 'name';
    case 'volumeMounts':
      return 'mountPath';
    case 'volumeDevices':
      return 'devicePath';
    case 'conditions':
      return 'type';
    case 'ownerReferences':
      return 'uid';
    case 'hostAliases':
      return 'ip';
    case 'topologySpreadConstraints':
      return 'topologyKey';
    case 'finalizers':
      return 'set';
    case 'ports':
      return sample.some((x) => isObj(x) && 'containerPort' in x) ? 'containerPort' : 'port';
    default:
      return undefined;
  }
}

/** Apply a strategic merge patch (the subset kubectl produces) to a built-in object. */
export function strategicMerge(target: any, patch: any): any {
  if (!isObj(patch)) return clone(patch);
  if (patch.$patch === 'replace') {
    const { $patch: _p, ...rest } = patch;
    return stripDirectives(rest);
  }
  if (patch.$patch === 'delete') return undefined;
  const out: Record<string, any> = isObj(target) ? clone(target) : {};
  const retain: string[] | undefined = Array.isArray(patch.$retainKeys) ? patch.$retainKeys : undefined;
  for (const [k, v] of Object.entries(patch)) {
    if (k === '$retainKeys' || k === '$patch' || k.startsWith('$setElementOrder/')) continue;
    if (k.startsWith('$deleteFromPrimitiveList/')) {
      const f = k.slice('$deleteFromPrimitiveList/'.length);
      if (Array.isArray(out[f]) && Array.isArray(v))
        out[f] = out[f].filter((x: any) => !v.some((d) => deepEqual(d, x)));
      continue;
    }
    if (v === null) {
      delete out[k];
      continue;
    }
    if (Array.isArray(v)) {
      const cur = Array.isArray(out[k]) ? out[k] : [];
      const key = strategicMergeKey(k, [...cur, ...v]);
      const order = patch[`$setElementOrder/${k}`];
      if (key === 'set') {
        const merged = [...cur];
        for (const x of v) if (!merged.some((y) => deepEqual(x, y))) merged.push(x);
        out[k] = merged;
      } else if (key) {
        out[k] = mergeListByKey(cur, v, key, Array.isArray(order) ? order : undefined);
      } else {
        out[k] = stripDirectives(clone(v));
      }
      continue;
    }
    const merged = strategicMerge(out[k], v);
    if (merged === undefined) delete out[k];
    else out[k] = merged;
  }
  if (retain) for (const k of Object.keys(out)) if (!retain.includes(k)) delete out[k];
  return out;
}

function mergeListByKey(cur: any[], patch: any[], key: string, order: any[] | undefined): any[] {
  const out = cur.map((x) => clone(x));
  const keyOf = (x: any) => (isObj(x) ? JSON.stringify(x[key]) : undefined);
  if (patch.some((x) => isObj(x) && x.$patch === 'replace')) {
    return patch.filter((x) => !(isObj(x) && x.$patch === 'replace')).map(stripDirectives);
  }
  for (const item of patch) {
    const i = out.findIndex((x) => keyOf(x) === keyOf(item));
    if (isObj(item) && item.$patch === 'delete') {
      if (i >= 0) out.splice(i, 1);
      continue;
    }
    if (i >= 0) out[i] = strategicMerge(out[i], item);
    else out.push(stripDirectives(clone(item)));
  }
  if (order) {
    const pos = (x: any) => {
      const j = order.findIndex((o) => isObj(o) && JSON.stringify(o[key]) === keyOf(x));
      return j < 0 ? Number.MAX_SAFE_INTEGER : j;
    };
    out.sort((a, b) => pos(a) - pos(b));
  }
  return out;
}

function stripDirectives(v: any): any {
  if (Array.isArray(v)) return v.map(stripDirectives);
  if (!isObj(v)) return v;
  const out: Record<string, any> = {};
  for (const [k, x] of Object.entries(v)) {
    if (k.startsWith('$')) continue;
    out[k] = stripDirectives(x);
  }
  return out;
}
