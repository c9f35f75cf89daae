// Live PostgreSQL reloads: the operator runs against the in-memory API server, and its reloader is pointed (through
// the EndpointMapper) at a real PostgreSQL 15 this test starts. That server reads the rendered postgresql.conf from
// a file this test controls (through an `include` in a small wrapper conf; the port/socket/hba overrides are on the
// server's command line), and the test copies the ConfigMap into that file later, as the kubelet does with a mounted
// ConfigMap.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyDefaults } from '../../src/api/defaults.js';
import type { KubeClient } from '../../src/controller/kube-client.js';
import { createLogger } from '../../src/controller/logger.js';
import type { Operator } from '../../src/controller/operator.js';
import { diffPostgresqlConf, PostgresReloader } from '../../src/controller/postgres-reload.js';
import { resourceTypeByKind } from '../../src/controller/resources.js';
import { createOperatorParts } from '../../src/controller/wiring.js';
import type { StackSecrets } from '../../src/render/common.js';
import { formatPostgresqlConf, parsePostgresqlConf } from '../../src/tuning/index.js';
import type { FakeApiServer } from '../support/server.js';
import { client, eventually, startOperator, startServer, STACKS } from './harness.js';
import { chownToPostgres, freePort, PrivatePostgres } from '../support/processes.js';

const CONFIGMAPS = resourceTypeByKind('ConfigMap');
const STATEFULSETS = resourceTypeByKind('StatefulSet');
const EVENTS = resourceTypeByKind('Event');
const RETRY_MS = 300;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('parsePostgresqlConf / diffPostgresqlConf', () => {
  it('round-trips formatPostgresqlConf, quotes and comments included', () => {
    const params = {
      log_line_prefix: "%m [%p] it's \\ here ",
      shared_buffers: '1GB',
      random_page_cost: '1.1',
      search_path: '"$user", public',
      'pg_stat_statements.track': 'all',
    };
    expect(parsePostgresqlConf(formatPostgresqlConf(params))).toEqual(params);
    expect(parsePostgresqlConf("Work_Mem 4MB # trailing\n\n  # c\nx = 'a''b'\nx = 2\n")).toEqual({
      work_mem: '4MB',
      x: '2',
    });
    expect(() => parsePostgresqlConf("a = 'open")).toThrow(/line 1: unterminated/);
    expect(() => parsePostgresqlConf('a = b c')).toThrow(/line 1: unexpected text after the value of a/);
  });

  it('splits changes into reloadable, removed and restart-only by pg_settings context', () => {
    const before = formatPostgresqlConf({ work_mem: '4MB', shared_buffers: '1GB', statement_timeout: '5s' });
    const after = formatPostgresqlConf({
      work_mem: '8MB',
      shared_buffers: '1GB',
      log_min_duration_statement: '250ms',
    });
    expect(diffPostgresqlConf(15, before, after)).toEqual({
      reload: { log_min_duration_statement: '250ms', work_mem: '8MB' },
      removed: ['statement_timeout'],
      restart: [],
    });
    const restart = formatPostgresqlConf({ work_mem: '8MB', shared_buffers: '2GB', made_up_name: '1' });
    expect(diffPostgresqlConf(15, before, restart).restart).toEqual(['made_up_name', 'shared_buffers']);
  });
});

describe('reloadable PostgreSQL parameters are applied live by the operator (real PostgreSQL 15)', () => {
  const server = new PrivatePostgres('fso-pg-reload-');
  const rendered = join(server.dir, 'rendered.conf');
  const wrapper = join(server.dataDir, 'postgresql.conf');
  const logLines: string[] = [];
  let db: pg.Client | undefined;
  let srv: FakeApiServer;
  let kc: KubeConfig;
  let operatorKc: KubeConfig;
  let c: KubeClient;
  let op: Operator | undefined;
  let reloader: PostgresReloader;

  const checksum = async () => {
    const sts = await c.get(STATEFULSETS, 'default', 'shop-postgres');
    const template = (sts.spec as { template: { metadata: { annotations: Record<string, string> } } })
      .template;
    return template.metadata.annotations['flashsale.dev/config-checksum'];
  };
  const configMapConf = async () =>
    ((await c.get(CONFIGMAPS, 'default', 'shop-postgres')).data as Record<string, string>)[
      'postgresql.conf'
    ]!;
  const events = async (reason: string) =>
    (await c.list(EVENTS, 'default', {})).items.filter((e) => e.reason === reason);
  const show = async (name: string) =>
    Object.values((await db!.query<Record<string, string>>(`SHOW ${name}`)).rows[0]!)[0];
  const scalar = async (sql: string) => Object.values((await db!.query(sql)).rows[0] as object)[0] as unknown;
  /** The "kubelet sync": the mounted file gets the ConfigMap's current content. */
  const syncFile = async () => {
    writeFileSync(rendered, await configMapConf());
    chownToPostgres(rendered);
  };

  beforeAll(async () => {
    ({ srv, kc, operatorKc } = await startServer());
    c = client(kc);
    const parts = createOperatorParts({
      health: false,
      defaultProbeIntervalMs: 30_000,
      // Only the PostgreSQL Service is dialled; the rest maps to a closed port.
      endpoints: (service, namespace, p) =>
        service === 'shop-postgres' && namespace === 'default' && p === 5432
          ? { host: '127.0.0.1', port: server.port }
          : { host: '127.0.0.1', port: 9 },
      postgresReload: { retryIntervalMs: RETRY_MS, timeoutMs: 60_000, attemptTimeoutMs: 1_000 },
      log: createLogger('debug', (line) => logLines.push(line)),
    });
    expect(parts.postgresReloader).toBeInstanceOf(PostgresReloader);
    reloader = parts.postgresReloader as PostgresReloader;
    op = await startOperator(operatorKc, {}, parts);

    await c.create({
      apiVersion: 'flashsale.dev/v1alpha1',
      kind: 'FlashSaleStack',
      metadata: { name: 'shop', namespace: 'default' },
      spec: {
        postgres: {
          version: 15,
          database: 'reload_test',
          resources: { requests: { cpu: '250m', memory: '256Mi' }, limits: { cpu: '1', memory: '512Mi' } },
          parameters: { log_min_duration_statement: '1s' },
        },
        pgbouncer: { defaultPoolSize: 5, reservePoolSize: 1 },
        monitoring: { enabled: true, probeInterval: '30s' },
      },
    });
    await eventually(async () => (await configMapConf()) !== undefined, 'the postgres ConfigMap');
    await op.waitIdle();

    await syncFile();
    await server.start({ conf: `include '${rendered}'\n` });
    db = new pg.Client(server.connection());
    await db.connect();
    await db.query('CREATE DATABASE reload_test');
  }, 120_000);

  afterAll(async () => {
    if (process.env.RELOAD_LOG) writeFileSync(process.env.RELOAD_LOG, logLines.join(''));
    await op?.stop();
    await srv?.stop();
    await db?.end().catch(() => undefined);
    server.stop();
  });

  it('starts from the rendered file', async () => {
    expect(await show('log_min_duration_statement')).toBe('1s');
    expect(await show('shared_preload_libraries')).toBe('pg_stat_statements');
    expect(await show('config_file')).toBe(wrapper);
  });

  it('a sighup-context change: no pod roll, reloaded once the file syncs, no restart, ParametersReloaded', async () => {
    const sumBefore = await checksum();
    const startedAt = String(await scalar('SELECT pg_postmaster_start_time()::text'));
    const loadedAt = String(await scalar('SELECT pg_conf_load_time()::text'));
    const stsGeneration = (await c.get(STATEFULSETS, 'default', 'shop-postgres')).metadata.generation;

    await c.mergePatch(STACKS, 'default', 'shop', {
      spec: { postgres: { parameters: { log_min_duration_statement: '250ms' } } },
    });
    await eventually(
      async () => /^log_min_duration_statement = 250ms$/m.test(await configMapConf()),
      'the ConfigMap with the new value',
    );
    await op!.waitIdle();
    expect(await checksum()).toBe(sumBefore);
    expect((await c.get(STATEFULSETS, 'default', 'shop-postgres')).metadata.generation).toBe(stsGeneration);

    // The kubelet has not synced yet: the reloader keeps retrying (reload, compare) without success.
    await sleep(RETRY_MS * 4);
    expect(reloader.isPending('default/shop')).toBe(true);
    expect(await show('log_min_duration_statement')).toBe('1s');
    expect(await events('ParametersReloaded')).toEqual([]);
    expect(String(await scalar('SELECT pg_conf_load_time()::text'))).not.toBe(loadedAt); // it did reload

    await syncFile();
    const [event] = await eventually(async () => {
      const found = await events('ParametersReloaded');
      return found.length > 0 ? found : undefined;
    }, 'a ParametersReloaded Event');
    expect(event!.type).toBe('Normal');
    expect(event!.message).toContain('log_min_duration_statement');
    expect(event!.message).not.toContain('250ms'.repeat(2));
    expect(await show('log_min_duration_statement')).toBe('250ms');
    expect(String(await scalar('SELECT pg_postmaster_start_time()::text'))).toBe(startedAt);
    expect(reloader.isPending('default/shop')).toBe(false);
    expect(await events('ReloadPending')).toEqual([]);
    // At least one attempt found the old file live before the sync, and a later one verified the new value.
    expect(logLines.some((l) => l.includes('postgres parameters not live yet'))).toBe(true);
    const done = logLines.map((l) => JSON.parse(l)).find((l) => l.msg === 'postgres parameters reloaded');
    expect(done.attempts).toBeGreaterThanOrEqual(2);
  });

  it('a postmaster-context change (shared_buffers): the checksum changes and no reload is attempted', async () => {
    const sumBefore = await checksum();
    const loadedAt = String(await scalar('SELECT pg_conf_load_time()::text'));
    const reloadedEvents = (await events('ParametersReloaded')).length;
    const logMark = logLines.length;

    await c.mergePatch(STACKS, 'default', 'shop', {
      spec: { postgres: { parameters: { shared_buffers: '96MB' } } },
    });
    await eventually(
      async () => /^shared_buffers = 96MB$/m.test(await configMapConf()),
      'the ConfigMap with the new shared_buffers',
    );
    await op!.waitIdle();
    expect(await checksum()).not.toBe(sumBefore);
    expect(reloader.isPending('default/shop')).toBe(false);
    // Several retry intervals later: still no reload (pg_conf_load_time unchanged), no attempt, no Event.
    await sleep(RETRY_MS * 4);
    expect(String(await scalar('SELECT pg_conf_load_time()::text'))).toBe(loadedAt);
    const newLines = logLines.slice(logMark);
    expect(newLines.some((l) => l.includes('need a restart; the pod rolls'))).toBe(true);
    expect(newLines.filter((l) => /reload attempt|not live yet|parameters reloaded/.test(l))).toEqual([]);
    expect((await events('ParametersReloaded')).length).toBe(reloadedEvents);
  });

  it('stopping the operator cancels a pending reload', async () => {
    const loadedAt = String(await scalar('SELECT pg_conf_load_time()::text'));
    await c.mergePatch(STACKS, 'default', 'shop', {
      spec: { postgres: { parameters: { work_mem: '3MB' } } },
    });
    await eventually(
      async () => /^work_mem = 3MB$/m.test(await configMapConf()),
      'the ConfigMap with the new work_mem',
    );
    await eventually(() => reloader.isPending('default/shop'), 'a pending reload');
    await eventually(
      async () => String(await scalar('SELECT pg_conf_load_time()::text')) !== loadedAt,
      'a first reload attempt',
    );
    await op!.stop();
    expect(reloader.isPending('default/shop')).toBe(false);
    const after = String(await scalar('SELECT pg_conf_load_time()::text'));
    await sleep(RETRY_MS * 3);
    expect(String(await scalar('SELECT pg_conf_load_time()::text'))).toBe(after);
    expect(await events('ReloadPending')).toEqual([]);
  });
  describe('PostgresReloader on its own (same server, operator stopped)', () => {
    const secrets: StackSecrets = {
      postgresPassword: 'unused-with-trust',
      pgbouncerAdminPassword: 'x',
      redisPassword: 'x',
      rabbitmqPassword: 'x',
      erlangCookie: 'x',
      apiAdminToken: 'x',
    };
    const resolved = applyDefaults({
      apiVersion: 'flashsale.dev/v1alpha1',
      kind: 'FlashSaleStack',
      metadata: { name: 'solo', namespace: 'default' },
      spec: { postgres: { version: 15 } },
    });
    const cm = (conf: string) => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'solo-postgres', namespace: 'default' },
      data: { 'postgresql.conf': conf },
    });
    const recorder = () => {
      const recorded: { type: string; reason: string; message: string }[] = [];
      const record = async (type: string, reason: string, message: string) => {
        recorded.push({ type, reason, message });
      };
      return { recorded, record };
    };
    const target = () => server.connection();

    it('a newer change supersedes a pending one and the unverified names carry over', async () => {
      await syncFile(); // the file as the operator left it
      const base = parsePostgresqlConf(readFileSync(rendered, 'utf8'));
      expect(base.work_mem).not.toBe('5317kB');
      expect(base.statement_timeout).not.toBe('42s');
      const v1 = formatPostgresqlConf({ ...base, work_mem: '5317kB' });
      const v2 = formatPostgresqlConf({ ...base, work_mem: '5317kB', statement_timeout: '42s' });
      const r = new PostgresReloader({
        target,
        retryIntervalMs: RETRY_MS,
        timeoutMs: 30_000,
        attemptTimeoutMs: 500,
      });
      const first = recorder();
      const second = recorder();
      r.configChanged(resolved, secrets, cm(readFileSync(rendered, 'utf8')), cm(v1), first.record);
      expect(r.isPending('default/solo')).toBe(true);
      await sleep(RETRY_MS);
      r.configChanged(resolved, secrets, cm(v1), cm(v2), second.record);
      await sleep(RETRY_MS * 2);
      writeFileSync(rendered, v2); // the kubelet catches up with the newest version only
      await r.idle();
      expect(first.recorded).toEqual([]);
      expect(second.recorded).toEqual([
        {
          type: 'Normal',
          reason: 'ParametersReloaded',
          message: 'applied without restart: statement_timeout, work_mem',
        },
      ]);
      expect(await show('work_mem')).toBe('5317kB');
      expect(await show('statement_timeout')).toBe('42s');
      await r.stop();
    });

    it('a parameter removed from the file is verified as reset to its default', async () => {
      const now = readFileSync(rendered, 'utf8');
      expect(await show('statement_timeout')).toBe('42s');
      const { statement_timeout: _gone, ...rest } = parsePostgresqlConf(now);
      const next = formatPostgresqlConf(rest);
      const r = new PostgresReloader({
        target,
        retryIntervalMs: 100,
        timeoutMs: 10_000,
        attemptTimeoutMs: 300,
      });
      const ev = recorder();
      r.configChanged(resolved, secrets, cm(now), cm(next), ev.record);
      await sleep(300);
      expect(r.isPending('default/solo')).toBe(true);
      writeFileSync(rendered, next);
      await r.idle();
      expect(ev.recorded).toEqual([
        {
          type: 'Normal',
          reason: 'ParametersReloaded',
          message: 'applied without restart: statement_timeout',
        },
      ]);
      expect(await show('statement_timeout')).toBe('0');
    });

    it('a file that never syncs ends in a Warning ReloadPending naming the parameter', async () => {
      const now = readFileSync(rendered, 'utf8');
      const next = formatPostgresqlConf({ ...parsePostgresqlConf(now), work_mem: '6MB' });
      const r = new PostgresReloader({
        target,
        retryIntervalMs: 200,
        timeoutMs: 1_000,
        attemptTimeoutMs: 300,
      });
      const ev = recorder();
      r.configChanged(resolved, secrets, cm(now), cm(next), ev.record);
      await r.idle();
      expect(ev.recorded).toHaveLength(1);
      expect(ev.recorded[0]).toMatchObject({ type: 'Warning', reason: 'ReloadPending' });
      expect(ev.recorded[0]!.message).toMatch(/^work_mem not applied within 1s \(not live yet: work_mem\)/);
      expect(await show('work_mem')).toBe('5317kB');
    });

    it('an unreachable server ends in ReloadPending with the connection error, no secret in it', async () => {
      const closed = await freePort();
      const r = new PostgresReloader({
        target: () => ({ ...target(), port: closed, password: secrets.postgresPassword }),
        retryIntervalMs: 100,
        timeoutMs: 600,
        attemptTimeoutMs: 300,
      });
      const ev = recorder();
      const now = readFileSync(rendered, 'utf8');
      r.configChanged(
        resolved,
        secrets,
        cm(now),
        cm(now.replace(/^work_mem = .*$/m, 'work_mem = 7MB')),
        ev.record,
      );
      await r.idle();
      expect(ev.recorded).toHaveLength(1);
      expect(ev.recorded[0]).toMatchObject({ type: 'Warning', reason: 'ReloadPending' });
      expect(ev.recorded[0]!.message).toContain('cannot connect to PostgreSQL');
      expect(ev.recorded[0]!.message).not.toContain(secrets.postgresPassword);
    });
  });
});
