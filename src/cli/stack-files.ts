/**
 * Reading FlashSaleStack manifests for `validate` and `render`: every file (or `-` for stdin), every YAML
 * document in it, with the same error lines (`FILE: path: message`) for unreadable files, bad YAML and
 * non-FlashSaleStack documents, and the same full validation of each stack.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
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

/** Largest stack file read (a FlashSaleStack is a few KiB; a bundle of 100 stays far below this). */
export const MAX_FILE_BYTES = 1024 * 1024;

class TooLarge extends Error {}

/** Reads at most MAX_FILE_BYTES of a file or stdin; throws TooLarge past that, without reading the rest. */
function readBounded(file: string): Buffer {
  const fd = file === '-' ? 0 : openSync(file, 'r');
  try {
    if (fd !== 0) {
      const st = fstatSync(fd);
      if (st.isDirectory()) throw Object.assign(new Error('EISDIR'), { code: 'EISDIR' });
      if (st.isFile() && st.size > MAX_FILE_BYTES) throw new TooLarge();
    }
    const buf = Buffer.allocUnsafe(MAX_FILE_BYTES + 1);
    let size = 0;
    for (;;) {
      let n: number;
      try {
        n = readSync(fd, buf, size, buf.length - size, null);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EAGAIN') continue;
        if ((e as NodeJS.ErrnoException).code === 'EOF') break;
        throw e;
      }
      if (n === 0) break;
      size += n;
      if (size > MAX_FILE_BYTES) throw new TooLarge();
    }
    return buf.subarray(0, size);
  } finally {
    if (fd !== 0) closeSync(fd);
  }
}

/** Byte offset of the first byte that is not well-formed UTF-8 (RFC 3629), or -1. */
export function invalidUtf8Offset(b: Uint8Array): number {
  for (let i = 0; i < b.length;) {
    const c = b[i]!;
    if (c < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) need = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      need = 2;
      if (c === 0xe0) lo = 0xa0; // no overlong forms
      if (c === 0xed) hi = 0x9f; // no surrogates
    } else if (c >= 0xf0 && c <= 0xf4) {
      need = 3;
      if (c === 0xf0) lo = 0x90;
      if (c === 0xf4) hi = 0x8f; // nothing above U+10FFFF
    } else return i;
    for (let k = 1; k <= need; k++) {
      const x = b[i + k];
      if (x === undefined || x < (k === 1 ? lo : 0x80) || x > (k === 1 ? hi : 0xbf)) return i;
    }
    i += need + 1;
  }
  return -1;
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
    let bytes: Buffer;
    try {
      bytes = readBounded(file);
    } catch (err) {
      if (err instanceof TooLarge) {
        out.errors.push(
          `${file}: the file is larger than ${MAX_FILE_BYTES / 1024 / 1024} MiB; a FlashSaleStack manifest is a few KiB, split a bundle into several files`,
        );
      } else {
        out.errors.push(`${file}: cannot read file: ${whyUnreadable(err as NodeJS.ErrnoException)}`);
      }
      continue;
    }
    const bad = invalidUtf8Offset(bytes);
    if (bad !== -1) {
      out.errors.push(
        `${file}: byte offset ${bad}: not valid UTF-8 (byte 0x${bytes[bad]!.toString(16).padStart(2, '0')}); save the file as UTF-8`,
      );
      continue;
    }
    const text = bytes.toString('utf8');
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
