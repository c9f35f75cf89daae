/**
 * Small helpers for tests that start real daemons: a free loopback port, running PostgreSQL's binaries as the
 * `postgres` OS user (initdb, pg_ctl and postgres refuse to run as root, and CI runs as root), and a private
 * PostgreSQL 15 server in a temporary directory.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parameterInfo, parsePostgresBool, showValue, toParameterUnit } from '../../src/tuning/index.js';

export const PG15_BIN = '/usr/lib/postgresql/15/bin';
const root = process.getuid?.() === 0;

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => (port > 0 ? resolve(port) : reject(new Error('no free port'))));
    });
  });
}

/** Runs `cmd args` as the postgres OS user when we are root (otherwise as ourselves); returns stdout. */
export function asPostgres(cmd: string, args: string[]): string {
  return execFileSync(root ? 'runuser' : cmd, root ? ['-u', 'postgres', '--', cmd, ...args] : args, {
    encoding: 'utf8',
    stdio: 'pipe',
  });
}

/** Gives files to the postgres OS user when we are root, so a daemon running as postgres may use them. */
export function chownToPostgres(...paths: string[]): void {
  if (root) execFileSync('chown', ['postgres:postgres', ...paths]);
}

export interface PrivatePostgresOptions {
  /** The bootstrap superuser (default `postgres`). */
  superuser?: string;
  /** The superuser's password; with one, every connection must authenticate with SCRAM, without one all is trust. */
  password?: string;
  /** Replaces initdb's postgresql.conf. */
  conf?: string;
  /** Replaces initdb's pg_hba.conf. */
  hba?: string;
}

/** What a client needs to log in to a PrivatePostgres as its superuser (fits pg.ClientConfig and PgTarget). */
export interface PostgresLogin {
  host: string;
  port: number;
  user: string;
  password?: string;
  database: string;
}

/**
 * A PostgreSQL 15 server of the test's own in a fresh temporary directory `dir` (data in `dataDir`, the log in
 * `dir/server.log`), listening on 127.0.0.1 at a free port and with its Unix socket in `dir`. `dir` exists, owned by
 * the server's OS user, from construction on, so a test can put files there that the conf refers to.
 */
export class PrivatePostgres {
  readonly dir: string;
  readonly dataDir: string;
  private login: Omit<PostgresLogin, 'database'> | undefined;

  constructor(tempDirPrefix: string) {
    this.dir = mkdtempSync(join(tmpdir(), tempDirPrefix));
    this.dataDir = join(this.dir, 'data');
    chownToPostgres(this.dir);
  }

  /** 0 until started. */
  get port(): number {
    return this.login?.port ?? 0;
  }

  /** initdb, then start and wait until it accepts connections; a failed start throws with the server log. */
  async start({ superuser = 'postgres', password, conf, hba }: PrivatePostgresOptions = {}): Promise<void> {
    let auth = ['--auth=trust'];
    if (password !== undefined) {
      const pwfile = join(this.dir, 'initdb-password');
      writeFileSync(pwfile, password, { mode: 0o600 });
      chownToPostgres(pwfile);
      auth = [`--pwfile=${pwfile}`, '--auth=scram-sha-256'];
    }
    const initdbArgs = [
      '-D',
      this.dataDir,
      '-U',
      superuser,
      ...auth,
      '--no-sync',
      '-E',
      'UTF8',
      '--locale=C',
    ];
    asPostgres(`${PG15_BIN}/initdb`, initdbArgs);
    // Both files exist after initdb, so overwriting them keeps their owner.
    if (conf !== undefined) writeFileSync(join(this.dataDir, 'postgresql.conf'), conf);
    if (hba !== undefined) writeFileSync(join(this.dataDir, 'pg_hba.conf'), hba);

    const port = await freePort();
    // Settings on the command line outrank the conf's, so a conf rendered for the pod can be used as it is.
    const commandLineSettings = [
      `listen_addresses=127.0.0.1`,
      `port=${port}`,
      `unix_socket_directories=${this.dir}`,
      `hba_file=${join(this.dataDir, 'pg_hba.conf')}`,
    ];
    const log = join(this.dir, 'server.log');
    const options = commandLineSettings.map((setting) => `-c ${setting}`).join(' ');
    try {
      asPostgres(`${PG15_BIN}/pg_ctl`, [
        '-D',
        this.dataDir,
        '-o',
        options,
        '-l',
        log,
        '-w',
        '-t',
        '60',
        'start',
      ]);
    } catch (err) {
      const serverLog = existsSync(log) ? readFileSync(log, 'utf8') : '(no server log)';
      throw new Error(`postgres did not start: ${(err as Error).message}\n${serverLog}`);
    }
    this.login = { host: '127.0.0.1', port, user: superuser, ...(password !== undefined && { password }) };
  }

  /** The superuser's login to `database`. */
  connection(database = 'postgres'): PostgresLogin {
    if (!this.login) throw new Error('the private postgres has not started');
    return { ...this.login, database };
  }

  /** Stops the server if it runs (also after a start that timed out) and removes `dir`. */
  stop(): void {
    try {
      if (existsSync(join(this.dataDir, 'postmaster.pid'))) {
        asPostgres(`${PG15_BIN}/pg_ctl`, ['-D', this.dataDir, '-m', 'fast', '-w', 'stop']);
      }
    } finally {
      rmSync(this.dir, { recursive: true, force: true });
    }
  }
}

/** What PostgreSQL 15's SHOW prints for a parameter value as we rendered it (units normalised, bools on/off). */
export function expectedShow(name: string, rendered: string): string {
  const info = parameterInfo(15, name);
  if (!info) return rendered; // extension parameter (pg_stat_statements.track)
  switch (info.type) {
    case 'bool':
      return parsePostgresBool(rendered) ? 'on' : 'off';
    case 'enum':
      return rendered.toLowerCase();
    case 'integer':
      return showValue(toParameterUnit(rendered, info.unit, true) ?? NaN, info.unit);
    case 'real':
      return showValue(toParameterUnit(rendered, info.unit, false) ?? NaN, info.unit);
    case 'string':
      return rendered;
  }
}
