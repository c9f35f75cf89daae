/**
 * The newcomer's documents stay consistent with the product: commands that work as written from a checkout
 * (binaries through npx, server-side apply as the operator itself writes), no ids a reader cannot know, and
 * docs/operations.md in one piece, listing every Helm value the chart has.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ROOT } from '../api/crd-helpers.js';

const DOCS = ['README.md', 'docs/getting-started.md', 'docs/operations.md', 'docs/api-service.md'];
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');

/** The commands of every ```sh block, continuation lines joined, comments and blank lines dropped. */
function shellCommands(markdown: string): string[] {
  const out: string[] = [];
  for (const m of markdown.matchAll(/^```sh\n([\s\S]*?)^```$/gm)) {
    for (const line of m[1]!.replace(/\\\n\s*/g, '').split('\n')) {
      const text = line.replace(/(^|\s)#.*$/, '').trim();
      if (text) out.push(text);
    }
  }
  return out;
}

describe.each(DOCS)('%s', (file) => {
  const commands = shellCommands(read(file));

  it('runs the binaries through npx, which brings the Node.js they need', () => {
    const bare = commands.filter((c) =>
      /(^|[;&|(]\s*|\$\(\s*)(flash-sale-operator|flash-sale-api|node dist\/|\.\/dist\/)/.test(c),
    );
    expect(bare).toEqual([]);
  });

  it('applies with --server-side, as the operator writes (field managers, no 70 KB annotation)', () => {
    expect(commands.filter((c) => /kubectl (\S+ )*apply\b/.test(c) && !c.includes('--server-side'))).toEqual([]);
  });

  it('never assumes an id the server chose (a sale id like /api/sales/1)', () => {
    expect(commands.filter((c) => /\/api\/sales\/\d/.test(c))).toEqual([]);
  });
});

describe('docs/operations.md', () => {
  const text = read('docs/operations.md');

  it('is one document: a single top-level heading, no leftover part markers', () => {
    const outsideCode = text.replace(/^```[\s\S]*?^```$/gm, '');
    expect(outsideCode.match(/^# .*/gm)).toEqual(['# Operations']);
    expect(text).not.toContain('<!--');
  });

  it('names every value of the Helm chart', () => {
    const values = parse(read('charts/flash-sale-operator/values.yaml')) as Record<string, unknown>;
    // Kubernetes structures passed through as they are: their own fields are Kubernetes', not ours.
    const opaque = new Set([
      'resources',
      'podSecurityContext',
      'securityContext',
      'nodeSelector',
      'tolerations',
      'affinity',
      'podAnnotations',
      'podLabels',
      'imagePullSecrets',
      'annotations',
      'labels',
    ]);
    const keys: string[] = [];
    const walk = (obj: Record<string, unknown>, prefix: string) => {
      for (const [k, v] of Object.entries(obj)) {
        const path = `${prefix}${k}`;
        if (v && typeof v === 'object' && !Array.isArray(v) && !opaque.has(k)) {
          walk(v as Record<string, unknown>, `${path}.`);
        } else keys.push(path);
      }
    };
    walk(values, '');
    // `a.{b,c}` in the text stands for a.b and a.c.
    const mentioned = new Set(
      [...text.matchAll(/`([\w.]+)(?:\.\{([\w,]+)\})?`/g)].flatMap((m) =>
        m[2] ? m[2].split(',').map((k) => `${m[1]}.${k}`) : [m[1]!],
      ),
    );
    expect(keys.filter((k) => !mentioned.has(k))).toEqual([]);
  });
});
