/**
 * Generated packaging files are committed; they must equal what `npm run generate` produces now, and the CRD
 * copies must be byte-identical to crds/ (the chart's crds/ is what `helm install` applies).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  CHART_CRD_PATH,
  CHART_PATH,
  CRD_PATH,
  chartKubeVersion,
  MANIFESTS_CRD_PATH,
  generatePackaging,
  namespacedRoleYaml,
} from '../../src/packaging/generate.js';
import { GRANTED_RULES } from '../../src/controller/rbac.js';
import { formatVersion, MIN_SUPPORTED } from '../../src/kubernetes/version.js';
import { ROOT, parseObjects } from './support.js';

const read = (p: string) => readFileSync(join(ROOT, p), 'utf8');

describe('generated packaging files', () => {
  const { version } = JSON.parse(read('package.json')) as { version: string };
  const generated = generatePackaging(version);

  it.each(Object.keys(generated))('%s is up to date (run `npm run generate`)', (path) => {
    expect(read(path)).toBe(generated[path]);
  });

  it('copies the CRD byte for byte into manifests/crd/ and the chart crds/', () => {
    const crd = readFileSync(join(ROOT, CRD_PATH));
    expect(readFileSync(join(ROOT, MANIFESTS_CRD_PATH)).equals(crd)).toBe(true);
    expect(readFileSync(join(ROOT, CHART_CRD_PATH)).equals(crd)).toBe(true);
  });

  it('writes the rules themselves, not a copy of something else', () => {
    const [role] = parseObjects(namespacedRoleYaml());
    expect(role!.kind).toBe('Role');
    expect((role as unknown as { rules: unknown }).rules).toEqual(JSON.parse(JSON.stringify(GRANTED_RULES)));
  });

  it('declares the supported Kubernetes range to Helm: kubeVersion from src/kubernetes/version.ts', () => {
    expect(read(CHART_PATH)).toMatch(/^kubeVersion: ">=1\.28\.0-0"$/m);
    expect(chartKubeVersion()).toBe(`>=${formatVersion(MIN_SUPPORTED)}.0-0`);
  });
});
