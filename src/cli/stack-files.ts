/**
 * Reading FlashSaleStack manifests for `validate` and `render`: every file (or `-` for stdin), every YAML
 * document in it, with the same error lines (`FILE: path: message`) for unreadable files, bad YAML and
 * non-FlashSaleStack documents, and the same full validation of each stack.
 */
import { readFileSync } from 'node:fs';
import { parseStackDocuments } from '../api/parse.js';
import { validateStackFully } from '../validation.js';

export interface StackDocument {
  file: string;
  /** ` [document N]` when the file holds several documents, else empty: appended to every message. */
  where: string;
  doc: unknown;
  /** `validateStackFully` lines for this document; empty when it is valid. */
  errors: string[];
}

export interface StackFiles {
  stacks: StackDocument[];
  /** Lines for files that cannot be read and documents that are not FlashSaleStacks. */
  errors: string[];
}

function whyUnreadable(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'ENOENT':
      return 'no such file';
    case 'EISDIR':
      return 'it is a directory; give each YAML file in it with its own -f (e.g. -f examples/minimal.yaml)';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    default:
      return err.code ?? err.message;
  }
}

export function readStackFiles(files: string[]): StackFiles {
  const out: StackFiles = { stacks: [], errors: [] };
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file === '-' ? 0 : file, 'utf8');
    } catch (err) {
      out.errors.push(`${file}: cannot read file: ${whyUnreadable(err as NodeJS.ErrnoException)}`);
      continue;
    }
    const parsed = parseStackDocuments(text);
    for (const p of parsed.problems) out.errors.push(`${file}: ${p.path}: ${p.message}`);
    for (const { index, doc } of parsed.stacks) {
      const where = parsed.documentCount > 1 ? ` [document ${index}]` : '';
      const errors = validateStackFully(doc).map((p) => `${file}: ${p.path}: ${p.message}${where}`);
      out.stacks.push({ file, where, doc, errors });
    }
  }
  return out;
}
