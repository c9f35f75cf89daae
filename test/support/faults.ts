/** Fault injection and the request log. */

export interface RequestRecord {
  time: string;
  method: string;
  verb: string;
  /** plural, with `/status` for the subresource, e.g. `deployments`, `flashsalestacks/status`. */
  resource: string;
  group: string;
  namespace?: string;
  name?: string;
  code: number;
  path: string;
  userAgent?: string;
  fieldManager?: string;
  /** The authenticated user (absent when authentication failed). */
  user?: string;
}

export interface FailRule {
  /** get, list, watch, create, update, patch, delete, deletecollection; omitted = any. */
  verb?: string;
  /** plural, optionally with /status; omitted = any. */
  resource?: string;
  namespace?: string;
  name?: string;
  /** How many matching requests fail (default 1). */
  count?: number;
  /**
   * 500 (default), 409, 429, 503, 504…; 422 answers reason Invalid (what a validating admission webhook or
   * an immutable field gets), e.g. `failNext({ verb: 'patch', resource: 'statefulsets', name: 'shop-redis',
   * code: 422, count: 1000, message: '...' })` to refuse one object's applies.
   */
  code?: number;
  /** For 429: the Retry-After header in seconds (default 1). */
  retryAfterSeconds?: number;
  message?: string;
}

export interface LatencyRule {
  ms: number;
  verb?: string;
  resource?: string;
}

export interface RequestCounts {
  total: number;
  byVerb: Record<string, number>;
  byResource: Record<string, number>;
  /** `verb resource` → count, e.g. `patch deployments`. */
  byVerbResource: Record<string, number>;
  writes: number;
}

const WRITE_VERBS = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);

export class Faults {
  readonly rules: (FailRule & { remaining: number })[] = [];
  latency: LatencyRule[] = [];
  log: RequestRecord[] = [];

  failNext(rule: FailRule): void {
    this.rules.push({ ...rule, remaining: rule.count ?? 1 });
  }

  clear(): void {
    this.rules.length = 0;
    this.latency = [];
  }

  /** The failure to inject for this request, consuming one count, or undefined. */
  take(r: {
    verb: string;
    resource: string;
    namespace?: string;
    name?: string;
  }): (FailRule & { remaining: number }) | undefined {
    for (const rule of this.rules) {
      if (rule.remaining <= 0) continue;
      if (rule.verb && rule.verb !== r.verb) continue;
      if (rule.resource && rule.resource !== r.resource) continue;
      if (rule.namespace && rule.namespace !== r.namespace) continue;
      if (rule.name && rule.name !== r.name) continue;
      rule.remaining -= 1;
      return rule;
    }
    return undefined;
  }

  delayFor(r: { verb: string; resource: string }): number {
    let ms = 0;
    for (const l of this.latency)
      if ((!l.verb || l.verb === r.verb) && (!l.resource || l.resource === r.resource))
        ms = Math.max(ms, l.ms);
    return ms;
  }

  record(r: RequestRecord): void {
    this.log.push(r);
    if (this.log.length > 200_000) this.log.splice(0, this.log.length - 100_000);
  }

  reset(): void {
    this.log = [];
  }

  counts(): RequestCounts {
    const c: RequestCounts = { total: 0, byVerb: {}, byResource: {}, byVerbResource: {}, writes: 0 };
    for (const r of this.log) {
      if (!r.verb) continue;
      c.total++;
      c.byVerb[r.verb] = (c.byVerb[r.verb] ?? 0) + 1;
      c.byResource[r.resource] = (c.byResource[r.resource] ?? 0) + 1;
      const k = `${r.verb} ${r.resource}`;
      c.byVerbResource[k] = (c.byVerbResource[k] ?? 0) + 1;
      if (WRITE_VERBS.has(r.verb)) c.writes++;
    }
    return c;
  }
}

export function isWrite(verb: string): boolean {
  return WRITE_VERBS.has(verb);
}
