/**
 * A small, honest evaluator for the subset of CEL used in CRD `x-kubernetes-validations` rules:
 * literals, `self` (and `oldSelf` for transition rules), field access, indexing, `has()`, `!`, unary `-`,
 * arithmetic, comparisons, `in`, `&&`/`||` (with CEL's error absorption), `?:`, list literals, and the
 * functions/methods size, startsWith, endsWith, contains, matches, lowerAscii, upperAscii, int, string,
 * double, duration, and the macros all/exists/exists_one. A rule using anything else fails to compile;
 * the server then skips that rule and says so on stderr (it never pretends to have evaluated it).
 */

type Node =
  | { k: 'lit'; v: unknown }
  | { k: 'id'; name: string }
  | { k: 'member'; obj: Node; name: string }
  | { k: 'index'; obj: Node; idx: Node }
  | { k: 'call'; name: string; target?: Node; args: Node[] }
  | { k: 'has'; obj: Node; name: string }
  | { k: 'macro'; name: string; target: Node; v: string; body: Node }
  | { k: 'un'; op: string; x: Node }
  | { k: 'bin'; op: string; l: Node; r: Node }
  | { k: 'cond'; c: Node; a: Node; b: Node }
  | { k: 'list'; items: Node[] };

const FUNCS = new Set([
  'size',
  'startsWith',
  'endsWith',
  'contains',
  'matches',
  'lowerAscii',
  'upperAscii',
  'int',
  'string',
  'double',
  'duration',
]);
const MACROS = new Set(['all', 'exists', 'exists_one']);

export class CelError extends Error {}

/** A rule that is not CEL at all (a real server refuses the CRD); other CelErrors are just outside the subset. */
export class CelSyntaxError extends CelError {}

function tokenize(src: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '"' || c === "'") {
      let j = i + 1;
      let s = '';
      while (j < src.length && src[j] !== c) {
        if (src[j] === '\\' && j + 1 < src.length) {
          const e = src[j + 1]!;
          s += e === 'n' ? '\n' : e === 't' ? '\t' : e;
          j += 2;
        } else s += src[j++];
      }
      if (j >= src.length) throw new CelSyntaxError(`unterminated string in ${src}`);
      out.push('"' + s);
      i = j + 1;
      continue;
    }
    const num = /^\d+(\.\d+)?([eE][+-]?\d+)?u?/.exec(src.slice(i));
    if (num) {
      out.push('#' + num[0].replace(/u$/, ''));
      i += num[0].length;
      continue;
    }
    const id = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i));
    if (id) {
      out.push(id[0]);
      i += id[0].length;
      continue;
    }
    const two = src.slice(i, i + 2);
    if (['&&', '||', '==', '!=', '<=', '>='].includes(two)) {
      out.push(two);
      i += 2;
      continue;
    }
    if ('!<>+-*/%?:.,()[]'.includes(c)) {
      out.push(c);
      i++;
      continue;
    }
    throw new CelError(`unsupported character ${JSON.stringify(c)} in CEL rule`);
  }
  return out;
}

const BIN_PREC: Record<string, number> = {
  '||': 1,
  '&&': 2,
  '==': 3,
  '!=': 3,
  '<': 3,
  '<=': 3,
  '>': 3,
  '>=': 3,
  in: 3,
  '+': 4,
  '-': 4,
  '*': 5,
  '/': 5,
  '%': 5,
};

export function parseCel(src: string): Node {
  const toks = tokenize(src);
  let p = 0;
  const peek = () => toks[p];
  const next = () => toks[p++];
  const expect = (t: string) => {
    if (toks[p] !== t) throw new CelSyntaxError(`expected ${t} at token ${p} of ${src}`);
    p++;
  };
  const expr = (): Node => {
    const c = binary(1);
    if (peek() === '?') {
      next();
      const a = expr();
      expect(':');
      const b = expr();
      return { k: 'cond', c, a, b };
    }
    return c;
  };
  const binary = (min: number): Node => {
    let l = unary();
    for (;;) {
      const op = peek();
      const prec = op !== undefined ? BIN_PREC[op] : undefined;
      if (prec === undefined || prec < min) return l;
      next();
      const r = binary(prec + 1);
      l = { k: 'bin', op: op!, l, r };
    }
  };
  const unary = (): Node => {
    if (peek() === '!') {
      next();
      return { k: 'un', op: '!', x: unary() };
    }
    if (peek() === '-') {
      next();
      return { k: 'un', op: '-', x: unary() };
    }
    return postfix(primary());
  };
  const args = (): Node[] => {
    expect('(');
    const a: Node[] = [];
    if (peek() !== ')') {
      a.push(expr());
      while (peek() === ',') {
        next();
        a.push(expr());
      }
    }
    expect(')');
    return a;
  };
  const postfix = (n: Node): Node => {
    for (;;) {
      if (peek() === '.') {
        next();
        const name = next();
        if (!name || !/^[A-Za-z_]/.test(name)) throw new CelSyntaxError(`expected a field name in ${src}`);
        if (peek() === '(') {
          if (MACROS.has(name)) {
            expect('(');
            const v = next()!;
            expect(',');
            const body = expr();
            expect(')');
            n = { k: 'macro', name, target: n, v, body };
          } else {
            if (!FUNCS.has(name)) throw new CelError(`unsupported CEL function ${name}()`);
            n = { k: 'call', name, target: n, args: args() };
          }
        } else n = { k: 'member', obj: n, name };
      } else if (peek() === '[') {
        next();
        const idx = expr();
        expect(']');
        n = { k: 'index', obj: n, idx };
      } else return n;
    }
  };
  const primary = (): Node => {
    const t = next();
    if (t === undefined) throw new CelSyntaxError(`unexpected end of ${src}`);
    if (t.startsWith('"')) return { k: 'lit', v: t.slice(1) };
    if (t.startsWith('#')) return { k: 'lit', v: Number(t.slice(1)) };
    if (t === 'true' || t === 'false') return { k: 'lit', v: t === 'true' };
    if (t === 'null') return { k: 'lit', v: null };
    if (t === '(') {
      const e = expr();
      expect(')');
      return e;
    }
    if (t === '[') {
      const items: Node[] = [];
      if (peek() !== ']') {
        items.push(expr());
        while (peek() === ',') {
          next();
          items.push(expr());
        }
      }
      expect(']');
      return { k: 'list', items };
    }
    if (/^[A-Za-z_]/.test(t)) {
      if (peek() === '(') {
        if (t === 'has') {
          expect('(');
          const m = postfix(primary());
          expect(')');
          if (m.k !== 'member') throw new CelError('has() needs a field selection like has(self.x)');
          return { k: 'has', obj: m.obj, name: m.name };
        }
        if (!FUNCS.has(t)) throw new CelError(`unsupported CEL function ${t}()`);
        return { k: 'call', name: t, args: args() };
      }
      return { k: 'id', name: t };
    }
    throw new CelSyntaxError(`unexpected token ${t} in ${src}`);
  };
  const n = expr();
  if (p !== toks.length) throw new CelSyntaxError(`unexpected token ${toks[p]} in ${src}`);
  return n;
}

interface Duration {
  __durationMs: number;
}

function parseDuration(s: string): Duration {
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g;
  const unit: Record<string, number> = {
    ns: 1e-6,
    us: 1e-3,
    µs: 1e-3,
    ms: 1,
    s: 1000,
    m: 60_000,
    h: 3_600_000,
  };
  let total = 0;
  let matched = '';
  let m: RegExpExecArray | null;
  while ((m = re.exec(s))) {
    total += Number(m[1]) * unit[m[2]!]!;
    matched += m[0];
  }
  if (!matched || matched !== s.replace(/^-/, ''))
    throw new CelError(`invalid duration ${JSON.stringify(s)}`);
  return { __durationMs: s.startsWith('-') ? -total : total };
}

const isDur = (v: unknown): v is Duration => typeof v === 'object' && v !== null && '__durationMs' in v;
const isMap = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !isDur(v);

function eq(a: unknown, b: unknown): boolean {
  if (isDur(a) && isDur(b)) return a.__durationMs === b.__durationMs;
  return (
    JSON.stringify(a) === JSON.stringify(b) ||
    (typeof a === 'object' &&
      a !== null &&
      typeof b === 'object' &&
      b !== null &&
      sortedJson(a) === sortedJson(b))
  );
}

function sortedJson(v: unknown): string {
  if (Array.isArray(v)) return '[' + v.map(sortedJson).join(',') + ']';
  if (isMap(v))
    return (
      '{' +
      Object.keys(v)
        .sort()
        .map((k) => JSON.stringify(k) + ':' + sortedJson(v[k]))
        .join(',') +
      '}'
    );
  return JSON.stringify(v);
}

function cmp(a: unknown, b: unknown): number {
  const x = isDur(a) ? a.__durationMs : a;
  const y = isDur(b) ? b.__durationMs : b;
  if (typeof x === 'number' && typeof y === 'number') return x - y;
  if (typeof x === 'string' && typeof y === 'string') return x < y ? -1 : x > y ? 1 : 0;
  throw new CelError(`no such overload: comparing ${typeof x} and ${typeof y}`);
}

export function evalCel(n: Node, env: Record<string, unknown>): unknown {
  switch (n.k) {
    case 'lit':
      return n.v;
    case 'id':
      if (!(n.name in env)) throw new CelError(`undeclared reference to '${n.name}'`);
      return env[n.name];
    case 'member': {
      const o = evalCel(n.obj, env);
      if (!isMap(o) || !(n.name in o)) throw new CelError(`no such key: ${n.name}`);
      return o[n.name];
    }
    case 'index': {
      const o = evalCel(n.obj, env);
      const i = evalCel(n.idx, env);
      if (Array.isArray(o) && typeof i === 'number') {
        if (i < 0 || i >= o.length) throw new CelError(`index out of range: ${i}`);
        return o[i];
      }
      if (isMap(o) && typeof i === 'string') {
        if (!(i in o)) throw new CelError(`no such key: ${i}`);
        return o[i];
      }
      throw new CelError('invalid index');
    }
    case 'has': {
      const o = evalCel(n.obj, env);
      return isMap(o) && n.name in o && o[n.name] !== null && o[n.name] !== undefined;
    }
    case 'un': {
      const v = evalCel(n.x, env);
      if (n.op === '!') {
        if (typeof v !== 'boolean') throw new CelError('no such overload: !' + typeof v);
        return !v;
      }
      if (typeof v !== 'number') throw new CelError('no such overload: -' + typeof v);
      return -v;
    }
    case 'cond': {
      const c = evalCel(n.c, env);
      if (typeof c !== 'boolean') throw new CelError('ternary condition must be bool');
      return c ? evalCel(n.a, env) : evalCel(n.b, env);
    }
    case 'list':
      return n.items.map((x) => evalCel(x, env));
    case 'macro': {
      const t = evalCel(n.target, env);
      const items = Array.isArray(t) ? t : isMap(t) ? Object.keys(t) : undefined;
      if (!items) throw new CelError(`${n.name}() needs a list or map`);
      const results = items.map((it) => evalCel(n.body, { ...env, [n.v]: it }));
      if (results.some((r) => typeof r !== 'boolean'))
        throw new CelError(`${n.name}() predicate must be bool`);
      if (n.name === 'all') return results.every(Boolean);
      if (n.name === 'exists') return results.some(Boolean);
      return results.filter(Boolean).length === 1;
    }
    case 'call': {
      const target = n.target ? evalCel(n.target, env) : undefined;
      const a = n.args.map((x) => evalCel(x, env));
      const subject = n.target ? target : a.shift();
      const str = (v: unknown) => {
        if (typeof v !== 'string') throw new CelError(`no such overload: ${n.name} on ${typeof v}`);
        return v;
      };
      switch (n.name) {
        case 'size':
          if (typeof subject === 'string') return [...subject].length;
          if (Array.isArray(subject)) return subject.length;
          if (isMap(subject)) return Object.keys(subject).length;
          throw new CelError('no such overload: size');
        case 'startsWith':
          return str(subject).startsWith(str(a[0]));
        case 'endsWith':
          return str(subject).endsWith(str(a[0]));
        case 'contains':
          return str(subject).includes(str(a[0]));
        case 'matches':
          return new RegExp(str(a[0])).test(str(subject));
        case 'lowerAscii':
          return str(subject).toLowerCase();
        case 'upperAscii':
          return str(subject).toUpperCase();
        case 'int': {
          const v = typeof subject === 'string' ? Number(subject) : subject;
          if (typeof v !== 'number' || !Number.isFinite(v)) throw new CelError('int() conversion error');
          return Math.trunc(v);
        }
        case 'double':
          if (typeof subject !== 'number' && typeof subject !== 'string')
            throw new CelError('double() conversion error');
          return Number(subject);
        case 'string':
          return isDur(subject)
            ? `${subject.__durationMs / 1000}s`
            : typeof subject === 'string'
              ? subject
              : JSON.stringify(subject);
        case 'duration':
          return parseDuration(str(subject));
      }
      throw new CelError(`unsupported CEL function ${n.name}()`);
    }
    case 'bin': {
      if (n.op === '&&' || n.op === '||') {
        const short = n.op === '||';
        let le: unknown;
        let lv: unknown;
        try {
          lv = evalCel(n.l, env);
          if (lv === short) return short;
        } catch (e) {
          le = e;
        }
        const rv = evalCel(n.r, env);
        if (rv === short) return short;
        if (le) throw le;
        if (typeof lv !== 'boolean' || typeof rv !== 'boolean')
          throw new CelError(`no such overload: ${n.op}`);
        return !short;
      }
      const l = evalCel(n.l, env);
      const r = evalCel(n.r, env);
      switch (n.op) {
        case '==':
          return eq(l, r);
        case '!=':
          return !eq(l, r);
        case '<':
          return cmp(l, r) < 0;
        case '<=':
          return cmp(l, r) <= 0;
        case '>':
          return cmp(l, r) > 0;
        case '>=':
          return cmp(l, r) >= 0;
        case 'in':
          if (Array.isArray(r)) return r.some((x) => eq(x, l));
          if (isMap(r)) return typeof l === 'string' && l in r;
          throw new CelError('no such overload: in');
        case '+':
          if (typeof l === 'number' && typeof r === 'number') return l + r;
          if (typeof l === 'string' && typeof r === 'string') return l + r;
          if (Array.isArray(l) && Array.isArray(r)) return [...l, ...r];
          throw new CelError('no such overload: +');
        case '-':
        case '*':
        case '/':
        case '%': {
          if (typeof l !== 'number' || typeof r !== 'number') throw new CelError(`no such overload: ${n.op}`);
          if ((n.op === '/' || n.op === '%') && r === 0) throw new CelError('division by zero');
          return n.op === '-' ? l - r : n.op === '*' ? l * r : n.op === '/' ? Math.trunc(l / r) : l % r;
        }
      }
      throw new CelError(`unsupported operator ${n.op}`);
    }
  }
}

export interface CompiledRule {
  rule: string;
  message?: string;
  fieldPath?: string;
  reason?: string;
  ast: Node;
  usesOldSelf: boolean;
}

/** Compile a rule; undefined (with the reason) when it uses CEL this evaluator does not implement. */
export function compileRule(r: {
  rule: string;
  message?: string;
  fieldPath?: string;
  reason?: string;
}): CompiledRule | { error: string; syntax: boolean } {
  try {
    return { ...r, ast: parseCel(r.rule), usesOldSelf: /\boldSelf\b/.test(r.rule) };
  } catch (e) {
    return { error: (e as Error).message, syntax: e instanceof CelSyntaxError };
  }
}

type SchemaNode = Record<string, any> | undefined;

function childSchema(s: SchemaNode, field: string): { schema: SchemaNode; undefinedField: boolean } {
  if (!s || s['x-kubernetes-preserve-unknown-fields'] || s['x-kubernetes-embedded-resource'])
    return { schema: undefined, undefinedField: false };
  if (s.properties && typeof s.properties === 'object') {
    if (field in s.properties) return { schema: s.properties[field], undefinedField: false };
    return { schema: undefined, undefinedField: !s.additionalProperties };
  }
  if (s.additionalProperties && typeof s.additionalProperties === 'object')
    return { schema: s.additionalProperties, undefinedField: false };
  return { schema: undefined, undefinedField: s.type === 'object' && !s.additionalProperties };
}

/**
 * What cel-go's type check refuses that we can see statically: names other than `self`, `oldSelf` and
 * macro variables, and fields the schema does not declare (`undefined field 'x'`).
 */
export function typeCheckIssues(rule: string, self: SchemaNode, atRoot: boolean): string[] {
  let ast: Node;
  try {
    ast = parseCel(rule);
  } catch {
    return [];
  }
  const issues: string[] = [];
  const typeOf = (n: Node, vars: Map<string, SchemaNode>): SchemaNode => {
    switch (n.k) {
      case 'id':
        if (n.name === 'self' || n.name === 'oldSelf') return self;
        if (vars.has(n.name)) return vars.get(n.name);
        issues.push(`undeclared reference to '${n.name}' (in container '')`);
        return undefined;
      case 'member':
      case 'has': {
        // At the root, CEL sees metadata as an object with name and generateName (apiextensions' CEL types).
        if (
          atRoot &&
          n.name === 'metadata' &&
          n.obj.k === 'id' &&
          (n.obj.name === 'self' || n.obj.name === 'oldSelf')
        )
          return {
            type: 'object',
            properties: { name: { type: 'string' }, generateName: { type: 'string' } },
          };
        const parent = typeOf(n.obj, vars);
        const c = childSchema(parent, n.name);
        if (c.undefinedField) issues.push(`undefined field '${n.name}'`);
        return c.schema;
      }
      case 'index': {
        const parent = typeOf(n.obj, vars);
        typeOf(n.idx, vars);
        return (
          parent?.items ??
          (typeof parent?.additionalProperties === 'object' ? parent.additionalProperties : undefined)
        );
      }
      case 'macro': {
        const target = typeOf(n.target, vars);
        const item =
          target?.type === 'array'
            ? target.items
            : target?.type === 'object'
              ? { type: 'string' }
              : undefined;
        typeOf(n.body, new Map([...vars, [n.v, item]]));
        return undefined;
      }
      case 'call':
        if (n.target) typeOf(n.target, vars);
        for (const a of n.args) typeOf(a, vars);
        return undefined;
      case 'un':
        typeOf(n.x, vars);
        return undefined;
      case 'bin':
        typeOf(n.l, vars);
        typeOf(n.r, vars);
        return undefined;
      case 'cond':
        typeOf(n.c, vars);
        typeOf(n.a, vars);
        typeOf(n.b, vars);
        return undefined;
      case 'list':
        for (const x of n.items) typeOf(x, vars);
        return undefined;
      default:
        return undefined;
    }
  };
  typeOf(ast, new Map());
  return issues;
}
