/**
 * Reading FlashSaleStack manifests: multi-document YAML → documents, with clear errors (never a stack trace)
 * for unparsable YAML and for documents that are not FlashSaleStacks.
 *
 * YAML is read as YAML 1.1, like Kubernetes does (kubectl, sigs.k8s.io/yaml): unquoted on/off/yes/no are
 * booleans there, so `validate` sees what the API server would see.
 *
 * Hostile input is bounded (docs/security.md, "CLI input limits"): documents are composed one at a time and
 * the file is refused past YAML_LIMITS.documents of them, alias expansion and nesting depth are capped, so a
 * file costs memory in proportion to its size, never to what its aliases expand to.
 */
import { Composer, LineCounter, Parser, type Document } from 'yaml';
import type { Problem } from './problems.js';
import { KIND } from './types.js';

export interface ParsedDocument {
  /** 1-based position of the document in the file. */
  index: number;
  /** The parsed document (a FlashSaleStack candidate: kind is FlashSaleStack). */
  doc: Record<string, unknown>;
}

export interface ParseResult {
  stacks: ParsedDocument[];
  /** YAML errors and non-FlashSaleStack documents; path is `document N` or `line L, column C`. */
  problems: Problem[];
  /** Number of non-empty documents in the file. */
  documentCount: number;
}

export const YAML_LIMITS = {
  /** Documents in one file (a stack is one document; a GitOps bundle a handful). */
  documents: 100,
  /** Alias expansions (`*name`) per document: what keeps a "billion laughs" file small. */
  aliases: 100,
  /** Nesting depth of mappings and lists (a FlashSaleStack is about 8 deep). */
  depth: 64,
} as const;

const TOO_DEEP = `is nested more than ${YAML_LIMITS.depth} levels deep; a ${KIND} needs far fewer`;

/** Whether `value` nests objects/arrays deeper than `limit`, walked without recursion. */
function deeperThan(value: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [v, d] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (d > limit) return true;
    for (const child of Object.values(v as object)) stack.push([child, d + 1]);
  }
  return false;
}

/** Flow collections (`[`, `{`) in one file: far above any bundle of stacks, far below a costly nesting. */
const MAX_FLOW_OPENERS = 10_000;
/** Indentation plus `- `/`: `/`? ` indicators on one line: an upper bound of the nesting that line opens. */
const MAX_LINE_NESTING = 8 * YAML_LIMITS.depth;

/**
 * A cheap over-estimate of the nesting, checked before parsing: the parser spends memory per level (about
 * 2 KiB), so a 1 MiB file of `[[[[…` or `- - - …` costs hundreds of MiB before any depth check on the result
 * could run. Counts quoted text and comments too, so nothing can hide from it; it only errs on the safe side.
 */
function surelyTooDeep(text: string): boolean {
  let openers = 0;
  let line = 0;
  let indent = true;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x0a) {
      line = 0;
      indent = true;
      continue;
    }
    if (indent && c === 0x20) {
      if (++line > MAX_LINE_NESTING) return true;
      continue;
    }
    indent = false;
    if (c === 0x5b || c === 0x7b) {
      if (++openers > MAX_FLOW_OPENERS) return true;
    } else if (c === 0x2d || c === 0x3a || c === 0x3f) {
      const n = text.charCodeAt(i + 1);
      if ((n === 0x20 || n === 0x0a || Number.isNaN(n)) && ++line > MAX_LINE_NESTING) return true;
    }
  }
  return false;
}

export function parseStackDocuments(text: string): ParseResult {
  const result: ParseResult = { stacks: [], problems: [], documentCount: 0 };
  if (surelyTooDeep(text)) {
    result.problems.push({ path: 'document 1', message: TOO_DEEP });
    return result;
  }
  const lines = new LineCounter();
  // Composed one at a time, so a file with too many documents stops at the limit.
  const docs = new Composer({ version: '1.1' }).compose(new Parser(lines.addNewLine).parse(text));
  let index = 0;
  for (;;) {
    let next: IteratorResult<Document.Parsed>;
    try {
      next = docs.next();
    } catch (e) {
      // The parser's and composer's recursion: only a hostile nesting depth reaches the stack limit.
      if (!(e instanceof RangeError)) throw e;
      result.problems.push({ path: `document ${index + 1}`, message: TOO_DEEP });
      return result;
    }
    if (next.done) break;
    index++;
    if (index > YAML_LIMITS.documents) {
      result.problems.push({
        path: `document ${index}`,
        message: `the file has more than ${YAML_LIMITS.documents} YAML documents; split it into several files`,
      });
      result.stacks = []; // the file is refused as a whole: nothing in it is rendered or validated
      return result;
    }
    addDocument(next.value, index, lines, result);
  }
  if (result.documentCount === 0 && result.problems.length === 0) {
    result.problems.push({ path: 'document 1', message: `the file is empty; expected a ${KIND} document` });
  }
  return result;
}

function toJS(d: Document.Parsed): { value: unknown } | { problem: string } {
  try {
    const value: unknown = d.toJS({ maxAliasCount: YAML_LIMITS.aliases });
    return deeperThan(value, YAML_LIMITS.depth) ? { problem: TOO_DEEP } : { value };
  } catch (e) {
    if (e instanceof ReferenceError && /alias/i.test(e.message)) {
      return {
        problem: `expands its aliases (*name) more than ${YAML_LIMITS.aliases} times; write the values out instead`,
      };
    }
    if (e instanceof RangeError) return { problem: TOO_DEEP };
    throw e;
  }
}

function addDocument(d: Document.Parsed, index: number, lines: LineCounter, result: ParseResult): void {
  if (d.errors.some((e) => /call stack/i.test(e.message))) {
    // The parser's recursion ran out (it reports that as a YAML error, once per level): hostile nesting.
    result.documentCount++;
    result.problems.push({ path: `document ${index}`, message: TOO_DEEP });
    return;
  }
  if (d.errors.length > 0) {
    for (const err of d.errors) {
      const pos = lines.linePos(err.pos[0]);
      const where = pos.line > 0 ? `line ${pos.line}, column ${pos.col}` : `document ${index}`;
      const msg = err.message.split('\n')[0] ?? err.message;
      result.problems.push({
        path: where,
        message: `unparsable YAML: ${msg.replace(/ at line \d+, column \d+:?$/, '')}`,
      });
    }
    result.documentCount++;
    return;
  }
  const js = toJS(d);
  if ('problem' in js) {
    result.documentCount++;
    result.problems.push({ path: `document ${index}`, message: js.problem });
    return;
  }
  const value = js.value;
  if (value === null || value === undefined) return; // empty document (e.g. a trailing ---)
  result.documentCount++;
  if (typeof value !== 'object' || Array.isArray(value)) {
    result.problems.push({
      path: `document ${index}`,
      message: `is ${Array.isArray(value) ? 'a list' : `a ${typeof value}`}, not a ${KIND} object (apiVersion, kind, metadata, spec)`,
    });
    return;
  }
  const obj = value as Record<string, unknown>;
  if (obj.kind !== KIND) {
    const kind = typeof obj.kind === 'string' ? `a ${obj.kind}` : 'a document without kind';
    const api = typeof obj.apiVersion === 'string' ? ` (${obj.apiVersion})` : '';
    result.problems.push({
      path: `document ${index}`,
      message: `is ${kind}${api}, not a ${KIND}; validate only checks flashsale.dev/v1alpha1 ${KIND} documents`,
    });
    return;
  }
  result.stacks.push({ index, doc: obj });
}
