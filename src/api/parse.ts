/**
 * Reading FlashSaleStack manifests: multi-document YAML → documents, with clear errors (never a stack trace)
 * for unparsable YAML and for documents that are not FlashSaleStacks.
 *
 * YAML is read as YAML 1.1, like Kubernetes does (kubectl, sigs.k8s.io/yaml): unquoted on/off/yes/no are
 * booleans there, so `validate` sees what the API server would see.
 */
import { parseAllDocuments } from 'yaml';
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

export function parseStackDocuments(text: string): ParseResult {
  const result: ParseResult = { stacks: [], problems: [], documentCount: 0 };
  const docs = parseAllDocuments(text, { version: '1.1', prettyErrors: true });
  const list = Array.isArray(docs) ? docs : [];
  let index = 0;
  for (const d of list) {
    index++;
    if (d.errors.length > 0) {
      for (const err of d.errors) {
        const pos = err.linePos?.[0];
        const where = pos ? `line ${pos.line}, column ${pos.col}` : `document ${index}`;
        const msg = err.message.split('\n')[0] ?? err.message;
        result.problems.push({
          path: where,
          message: `unparsable YAML: ${msg.replace(/ at line \d+, column \d+:?$/, '')}`,
        });
      }
      result.documentCount++;
      continue;
    }
    const value: unknown = d.toJS({ maxAliasCount: 100 });
    if (value === null || value === undefined) continue; // empty document (e.g. a trailing ---)
    result.documentCount++;
    if (typeof value !== 'object' || Array.isArray(value)) {
      result.problems.push({
        path: `document ${index}`,
        message: `is ${Array.isArray(value) ? 'a list' : `a ${typeof value}`}, not a ${KIND} object (apiVersion, kind, metadata, spec)`,
      });
      continue;
    }
    const obj = value as Record<string, unknown>;
    if (obj.kind !== KIND) {
      const kind = typeof obj.kind === 'string' ? `a ${obj.kind}` : 'a document without kind';
      const api = typeof obj.apiVersion === 'string' ? ` (${obj.apiVersion})` : '';
      result.problems.push({
        path: `document ${index}`,
        message: `is ${kind}${api}, not a ${KIND}; validate only checks flashsale.dev/v1alpha1 ${KIND} documents`,
      });
      continue;
    }
    result.stacks.push({ index, doc: obj });
  }
  if (result.documentCount === 0 && result.problems.length === 0) {
    result.problems.push({ path: 'document 1', message: `the file is empty; expected a ${KIND} document` });
  }
  return result;
}
