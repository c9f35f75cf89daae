import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseStackDocuments } from '../../src/api/parse.js';
import { validateStack } from '../../src/api/validate.js';
import { applyDefaults } from '../../src/api/defaults.js';
import { validatePostgresParameters } from '../../src/tuning/validate.js';
import { crdValidator, ROOT } from '../api/crd-helpers.js';

const withCatalog = { checkPostgresParameters: validatePostgresParameters };

const VALID = ['minimal.yaml', 'production.yaml', 'seed.yaml'];

function load(file: string) {
  const parsed = parseStackDocuments(readFileSync(`${ROOT}examples/${file}`, 'utf8'));
  expect(parsed.problems).toEqual([]);
  expect(parsed.stacks).toHaveLength(1);
  return parsed.stacks[0]!.doc;
}

describe('valid examples', () => {
  const validate = crdValidator();
  for (const file of VALID) {
    it(`${file} passes validateStack, with and without the PostgreSQL catalog`, () => {
      expect(validateStack(load(file))).toEqual([]);
      expect(validateStack(load(file), withCatalog)).toEqual([]);
    });
    it(`${file} validates against the CRD openAPIV3Schema (ajv)`, () => {
      const ok = validate(load(file));
      expect(validate.errors ?? []).toEqual([]);
      expect(ok).toBe(true);
    });
    it(`${file} defaults and then still validates (CRD and validateStack)`, () => {
      const resolved = applyDefaults(load(file) as any);
      const { status: _s, ...doc } = resolved;
      expect(validateStack(doc)).toEqual([]);
      expect(validate(doc)).toBe(true);
    });
  }
  it('the seed example keeps the seed settings', () => {
    const r = applyDefaults(load('seed.yaml') as any).spec;
    expect(r.postgres.version).toBe(18);
    expect(r.api.replicas).toBe(10);
    expect(r.pgbouncer).toMatchObject({ replicas: 3, poolMode: 'transaction', maxClientConn: 2000, defaultPoolSize: 25 });
    expect(r.nginx.rateLimit).toEqual({ requestsPerSecond: 100, burst: 200, nodelay: true });
    expect(r.backup).toMatchObject({ schedule: '0 2 * * *', retentionDays: 30 });
    expect(r.redis.maxmemoryPolicy).toBe('noeviction');
    expect(Object.keys(r.postgres.parameters)).not.toContain('pool_mode');
  });
});

/** Each invalid example: the path and a key phrase of its own message. */
const INVALID: Record<string, { path: string; phrase: RegExp }[]> = {
  'pool-params-in-postgres.yaml': [
    { path: 'spec.postgres.parameters.pool_mode', phrase: /spec\.pgbouncer\.poolMode/ },
    { path: 'spec.postgres.parameters.pool_size', phrase: /spec\.pgbouncer\.defaultPoolSize/ },
    { path: 'spec.postgres.parameters.pool_max_wait', phrase: /not a PostgreSQL parameter.*spec\.pgbouncer/ },
  ],
  'io-direct.yaml': [{ path: 'spec.postgres.parameters.io_direct', phrase: /debug_io_direct.*io_method/ }],
  'allkeys-lru-inventory.yaml': [{ path: 'spec.redis.maxmemoryPolicy', phrase: /allkeys-lru can evict stock counters/ }],
  'negative-replicas.yaml': [{ path: 'spec.api.replicas', phrase: /must be at least 0, got -3/ }],
  'bad-cron.yaml': [{ path: 'spec.backup.schedule', phrase: /has 4 field\(s\), expected 5/ }],
  'bad-quantity.yaml': [{ path: 'spec.postgres.storage.size', phrase: /"20GB" is not a Kubernetes quantity.*20Gi/ }],
  'unknown-postgres-version.yaml': [{ path: 'spec.postgres.version', phrase: /PostgreSQL 14 is not supported/ }],
  'latest-image.yaml': [{ path: 'spec.pgbouncer.image', phrase: /:latest/ }],
};

describe('invalid examples', () => {
  it('every file in examples/invalid is covered and starts with a comment saying why', () => {
    const files = readdirSync(`${ROOT}examples/invalid`).filter((f) => f.endsWith('.yaml'));
    expect(files.sort()).toEqual(Object.keys(INVALID).sort());
    for (const f of files) expect(readFileSync(`${ROOT}examples/invalid/${f}`, 'utf8')).toMatch(/^# Rejected: /);
  });
  for (const [file, expected] of Object.entries(INVALID)) {
    it(`${file} is rejected with its own message`, () => {
      const problems = validateStack(load(`invalid/${file}`));
      expect(problems).toHaveLength(expected.length);
      for (const e of expected) {
        const p = problems.find((x) => x.path === e.path);
        expect(p, `${file}: no problem at ${e.path}: ${JSON.stringify(problems)}`).toBeDefined();
        expect(p!.message).toMatch(e.phrase);
      }
      // With the catalog wired in (as the CLI does), the same problems and no duplicate per parameter.
      const full = validateStack(load(`invalid/${file}`), withCatalog);
      expect(full.map((x) => x.path).sort()).toEqual(problems.map((x) => x.path).sort());
    });
  }
});
