/**
 * RBAC rule algebra as Kubernetes defines it: whether a rule allows a request (plugin/pkg/auth/authorizer/rbac
 * RuleAllows with the rbac/v1 evaluation helpers), whether one set of rules covers another (component-helpers
 * rbac/validation Covers, used by escalation prevention), and the compact rule text of escalation messages.
 */
import type { UserInfo } from './authn.js';

export interface Rule {
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
  verbs: string[];
}

/** What the authorizer decides on (apiserver authorizer.Attributes). */
export interface RequestAttributes {
  user: UserInfo;
  verb: string;
  resourceRequest: boolean;
  apiGroup: string;
  resource: string;
  subresource: string;
  namespace: string;
  name: string;
  /** The URL path, for non-resource requests. */
  path: string;
}

const has = (set: readonly string[] | undefined, v: string): boolean => (set ?? []).includes(v);
const hasAll = (set: readonly string[] | undefined, vs: readonly string[] | undefined): boolean =>
  (vs ?? []).every((v) => has(set, v));

function resourceMatches(rule: Rule, combined: string, subresource: string): boolean {
  return (rule.resources ?? []).some(
    (r) => r === '*' || r === combined || (subresource !== '' && r === `*/${subresource}`),
  );
}

function urlMatches(pattern: string, path: string): boolean {
  return pattern === path || (pattern.endsWith('*') && path.startsWith(pattern.replace(/\*+$/, '')));
}

export function ruleAllows(rule: Rule, a: RequestAttributes): boolean {
  const verb = has(rule.verbs, '*') || has(rule.verbs, a.verb);
  if (!verb) return false;
  if (!a.resourceRequest) return (rule.nonResourceURLs ?? []).some((u) => urlMatches(u, a.path));
  const combined = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  return (
    (has(rule.apiGroups, '*') || has(rule.apiGroups, a.apiGroup)) &&
    resourceMatches(rule, combined, a.subresource) &&
    (!rule.resourceNames?.length || has(rule.resourceNames, a.name))
  );
}

/** Every rule split into single (group, resource, verb[, name]) and (url, verb) tuples. */
function breakdown(rule: Rule): Rule[] {
  const out: Rule[] = [];
  for (const g of rule.apiGroups ?? [])
    for (const r of rule.resources ?? [])
      for (const v of rule.verbs) {
        if (rule.resourceNames?.length)
          for (const n of rule.resourceNames)
            out.push({ apiGroups: [g], resources: [r], verbs: [v], resourceNames: [n] });
        else out.push({ apiGroups: [g], resources: [r], verbs: [v] });
      }
  for (const u of rule.nonResourceURLs ?? [])
    for (const v of rule.verbs) out.push({ nonResourceURLs: [u], verbs: [v] });
  return out;
}

function resourcesCover(
  owner: readonly string[] | undefined,
  wanted: readonly string[] | undefined,
): boolean {
  if (has(owner, '*') || hasAll(owner, wanted)) return true;
  return (wanted ?? []).every(
    (p) => has(owner, p) || (p.includes('/') && has(owner, `*/${p.split('/').slice(1).join('/')}`)),
  );
}

function ruleCovers(owner: Rule, sub: Rule): boolean {
  const names = sub.resourceNames?.length
    ? !owner.resourceNames?.length || hasAll(owner.resourceNames, sub.resourceNames)
    : !owner.resourceNames?.length;
  return (
    (has(owner.verbs, '*') || hasAll(owner.verbs, sub.verbs)) &&
    (has(owner.apiGroups, '*') || hasAll(owner.apiGroups, sub.apiGroups)) &&
    resourcesCover(owner.resources, sub.resources) &&
    (sub.nonResourceURLs ?? []).every((u) => (owner.nonResourceURLs ?? []).some((o) => urlMatches(o, u))) &&
    names
  );
}

/** The parts of `wanted` that `owned` does not cover (empty when covered), one tuple each. */
export function uncovered(owned: readonly Rule[], wanted: readonly Rule[]): Rule[] {
  return wanted.flatMap(breakdown).filter((sub) => !owned.some((o) => ruleCovers(o, sub)));
}

/** Tuples that differ only by verb, merged back into one rule (pkg/registry/rbac/validation CompactRules). */
function compact(rules: Rule[]): Rule[] {
  const simple = new Map<string, Rule>();
  const out: Rule[] = [];
  for (const r of rules) {
    if (r.nonResourceURLs?.length || r.apiGroups?.length !== 1 || r.resources?.length !== 1) {
      out.push(r);
      continue;
    }
    const key = JSON.stringify([r.apiGroups[0], r.resources[0], r.resourceNames ?? null]);
    const prev = simple.get(key);
    if (prev) prev.verbs.push(...r.verbs);
    else simple.set(key, { ...r, verbs: [...r.verbs] });
  }
  return [...out, ...simple.values()];
}

/** Go's %q of a []string: ["a" "b"]. */
export function goQuotedList(xs: readonly string[]): string {
  return `[${xs.map((x) => JSON.stringify(x)).join(' ')}]`;
}

/** rbac/v1 CompactString: {APIGroups:[""], Resources:["endpoints"], Verbs:["get"]}. */
function compactString(r: Rule): string {
  const parts: string[] = [];
  if (r.apiGroups?.length) parts.push(`APIGroups:${goQuotedList(r.apiGroups)}`);
  if (r.resources?.length) parts.push(`Resources:${goQuotedList(r.resources)}`);
  if (r.nonResourceURLs?.length) parts.push(`NonResourceURLs:${goQuotedList(r.nonResourceURLs)}`);
  if (r.resourceNames?.length) parts.push(`ResourceNames:${goQuotedList(r.resourceNames)}`);
  if (r.verbs.length) parts.push(`Verbs:${goQuotedList(r.verbs)}`);
  return `{${parts.join(', ')}}`;
}

/** The escalation refusal text of ConfirmNoEscalation, listing the missing rights sorted as Go's sets do. */
export function escalationMessage(user: UserInfo, missing: Rule[]): string {
  const lines = [...new Set(compact(missing).map(compactString))].sort();
  return `user ${JSON.stringify(user.name)} (groups=${goQuotedList(user.groups)}) is attempting to grant RBAC permissions not currently held:\n${lines.join('\n')}`;
}
