/**
 * hack/test-deps.sh, npm test's pretest: silent and quick when the machine has what the suite needs; as root it
 * installs the missing Debian packages and starts the services that are down; as another user it stops within
 * seconds with one line naming what is missing and the command that fixes it.
 *
 * Nothing on this machine is uninstalled or stopped to test that: a fake dpkg-query (and apt-get) in front of
 * PATH stands for missing packages, a fresh network namespace (unshare -n) for services that are down, with
 * fake start commands that open the port there; `setpriv` runs the script as the user nobody. These need root,
 * as the suite does (CI runs as root).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../api/crd-helpers.js';

const SCRIPT = join(ROOT, 'hack/test-deps.sh');
const ALL = [
  'pgbouncer',
  'nginx-light',
  'prometheus',
  'openssl',
  'shellcheck',
  'postgresql',
  'redis-server',
  'rabbitmq-server',
];
const AS_NOBODY = ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups'];

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'fso-test-deps-'));
  chmodSync(dir, 0o755); // the user nobody runs the fakes too
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function executable(path: string, text: string): void {
  writeFileSync(path, text);
  chmodSync(path, 0o755);
}

/**
 * A bin directory whose dpkg-query reports the packages listed in `<bin>/installed` as installed, and whose
 * apt-get records its calls in `<bin>/apt-get.log` and "installs" by adding to that list (unless `brokenApt`).
 */
function fakeDebian(name: string, installed: string[], brokenApt = false): string {
  const bin = join(dir, name);
  mkdirSync(bin);
  chmodSync(bin, 0o755);
  writeFileSync(join(bin, 'installed'), installed.map((p) => `${p}\n`).join(''));
  executable(
    join(bin, 'dpkg-query'),
    `#!/bin/bash
for p in "$@"; do
  case $p in -*) continue ;; esac
  if grep -qx "$p" "${bin}/installed"; then echo "$p installed"; else echo "$p not-installed"; fi
done
`,
  );
  executable(
    join(bin, 'apt-get'),
    `#!/bin/bash
echo "$* policy=$([ -x "$POLICY_RC_D" ] && echo present || echo absent)" >>"${bin}/apt-get.log"
${brokenApt ? '' : `if [ "$1" = install ]; then for p in "$@"; do case $p in -*|install) ;; *) echo "$p" >>"${bin}/installed" ;; esac; done; fi`}
`,
  );
  return bin;
}

interface Result {
  status: number | null;
  stdout: string;
  stderr: string;
}

function deps(opts: {
  bin?: string;
  asNobody?: boolean;
  noServices?: boolean;
  env?: Record<string, string>;
}): Result {
  const env = {
    ...process.env,
    PATH: `${opts.bin ? `${opts.bin}:` : ''}${process.env.PATH ?? '/usr/bin:/bin'}`,
    POLICY_RC_D: join(dir, `policy-rc.d-${Math.random().toString(36).slice(2)}`),
    ...opts.env,
  };
  const inner = [...(opts.asNobody ? AS_NOBODY : []), 'bash', SCRIPT];
  // A new network namespace has no PostgreSQL, Redis or RabbitMQ: "services down" without stopping any.
  const [cmd, args] = opts.noServices
    ? ['unshare', ['-n', 'bash', '-c', 'ip link set lo up && exec "$@"', 'netns', ...inner]]
    : [inner[0]!, inner.slice(1)];
  const r = spawnSync(cmd, args, { env, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('hack/test-deps.sh (npm test pretest)', () => {
  it('is silent and succeeds when everything is there, as root and as another user', () => {
    for (const asNobody of [false, true]) {
      const r = deps({ asNobody });
      expect(r, `asNobody=${asNobody}`).toEqual({ status: 0, stdout: '', stderr: '' });
    }
  });

  it('not root, packages missing: one line naming them and the exact command; installs nothing', () => {
    const bin = fakeDebian(
      'nonroot-missing',
      ALL.filter((p) => !['pgbouncer', 'nginx-light', 'prometheus'].includes(p)),
    );
    const r = deps({ bin, asNobody: true });
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      'npm test: missing the Debian packages pgbouncer nginx-light prometheus; run: sudo bash hack/install-deps.sh, then npm test again\n',
    );
    expect(existsSync(join(bin, 'apt-get.log'))).toBe(false);
  });

  it('not root, services down: one line naming each service and the command that starts them', () => {
    const r = deps({ asNobody: true, noServices: true });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(
      'npm test: missing the local services PostgreSQL:5432 Redis:6379 RabbitMQ:5672 (nothing answers on 127.0.0.1); run: sudo bash hack/ensure-services.sh, then npm test again\n',
    );
  });

  it('not root, both: one line with both fixes', () => {
    const bin = fakeDebian(
      'nonroot-both',
      ALL.filter((p) => p !== 'postgresql'),
    );
    const r = deps({ bin, asNobody: true, noServices: true });
    expect(r.status).toBe(1);
    expect(r.stderr.split('\n')).toHaveLength(2);
    expect(r.stderr).toMatch(
      /^npm test: missing the Debian packages postgresql and the local services PostgreSQL:5432 Redis:6379 RabbitMQ:5672 .*; run: sudo bash hack\/install-deps\.sh && sudo bash hack\/ensure-services\.sh, then npm test again\n$/,
    );
  });

  it('root, packages missing: installs exactly those with apt-get, no daemon started by their scripts', () => {
    const bin = fakeDebian(
      'root-missing',
      ALL.filter((p) => !['pgbouncer', 'prometheus'].includes(p)),
    );
    const policy = join(dir, 'policy-root-missing');
    const r = deps({ bin, env: { POLICY_RC_D: policy } });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^npm test: installing the missing Debian packages: pgbouncer prometheus$/m);
    expect(readFileSync(join(bin, 'apt-get.log'), 'utf8')).toBe(
      'update -qq policy=absent\ninstall -y -qq --no-install-recommends pgbouncer prometheus policy=present\n',
    );
    expect(existsSync(policy)).toBe(false); // removed again
  });

  it('root, an install that does not take: fails naming what is still missing', () => {
    const bin = fakeDebian(
      'root-broken',
      ALL.filter((p) => p !== 'nginx-light'),
      true,
    );
    const r = deps({ bin });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('npm test: still missing after hack/install-deps.sh: nginx-light\n');
  });

  it('root, services down: starts each with the machine command (hack/ensure-services.sh)', () => {
    const bin = join(dir, 'starters');
    mkdirSync(bin);
    // Each fake start command records itself and opens its port in the namespace for 30 s.
    const listen = (port: number) =>
      `"${process.execPath}" -e 'require("net").createServer((s) => s.end()).listen(${port}, "127.0.0.1"); setTimeout(() => process.exit(0), 30000)' </dev/null >/dev/null 2>&1 &\necho $! >>"${bin}/pids"`;
    const starter = (name: string, port?: number) =>
      executable(
        join(bin, name),
        `#!/bin/bash\necho "${name} $*" >>"${bin}/calls"\n${port ? listen(port) : ''}\n`,
      );
    starter('pg_ctlcluster', 5432);
    starter('redis-server', 6379);
    starter('rabbitmq-server', 5672);
    starter('rabbitmqctl');
    try {
      const r = deps({ bin, noServices: true });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(
        /^npm test: starting the local services that are down: PostgreSQL:5432 Redis:6379 RabbitMQ:5672$/m,
      );
      const calls = readFileSync(join(bin, 'calls'), 'utf8').trim().split('\n');
      expect(calls[0]).toMatch(/^pg_ctlcluster --skip-systemctl-redirect \S+ main start$/);
      expect(calls[1]).toMatch(/^redis-server --daemonize yes --bind 127\.0\.0\.1 /);
      expect(calls[2]).toBe('rabbitmq-server -detached');
      expect(calls[3]).toBe('rabbitmqctl -q status');
    } finally {
      const pids = join(bin, 'pids');
      if (existsSync(pids))
        for (const pid of readFileSync(pids, 'utf8').trim().split('\n')) process.kill(Number(pid));
    }
  });

  it('without dpkg-query (not Debian): says what to install and how to skip the check', () => {
    const bin = join(dir, 'nodpkg');
    mkdirSync(bin);
    for (const tool of ['bash', 'dirname', 'grep', 'id']) {
      const found = spawnSync('bash', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
      executable(join(bin, tool), `#!/bin/sh\nexec ${found} "$@"\n`);
    }
    const r = spawnSync(join(bin, 'bash'), [SCRIPT], { env: { PATH: bin }, encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      /^npm test: cannot check the test dependencies without dpkg-query .* SKIP_TEST_DEPS=1 npm test\n$/,
    );
    const skipped = spawnSync(join(bin, 'bash'), [SCRIPT], {
      env: { PATH: bin, SKIP_TEST_DEPS: '1' },
      encoding: 'utf8',
    });
    expect(skipped.status).toBe(0);
  });

  it('lists the same packages hack/install-deps.sh installs (one list, hack/deps.sh)', () => {
    const listed = spawnSync(
      'bash',
      ['-c', `source ${join(ROOT, 'hack/deps.sh')}; echo "\${DEBIAN_PACKAGES[*]}"`],
      {
        encoding: 'utf8',
      },
    ).stdout.trim();
    expect(listed.split(' ')).toEqual(ALL);
    expect(readFileSync(join(ROOT, 'hack/install-deps.sh'), 'utf8')).toMatch(/source .*deps\.sh/);
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    expect(pkg.scripts.pretest).toBe('bash hack/test-deps.sh');
  });
});
