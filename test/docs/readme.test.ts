/**
 * README.md's commands, run as a reader would, so the page cannot drift from what the code does.
 *
 * Every ```sh block of README.md runs, command by command, in bash from the checkout (kubectl on PATH), in a
 * session of its own: each command must end with status 0, or with N where its comment says `# exit N`; once
 * the block is done, no process it started may be left. Paths under /tmp/ are redirected to a directory of
 * this test, so parallel runs do not collide. Three blocks are special: the playground (`npm start`) runs
 * until its printed output matches the ```text block after it, then the "another terminal" block runs against
 * it and its `kubectl get fss` matches the next ```text block, then a Ctrl-C (SIGINT to its process group)
 * must stop everything; the `npm test` block's ```text example is compared with what hack/test-deps.sh prints.
 * Commands that need a real cluster (Docker, kind, helm) or that would replace this suite's own files are
 * listed below with the reason, printed when the test runs; `npm ci` and `npm test` are what .ci/run runs.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../api/crd-helpers.js';
import { inSession, PROCESS_TEST_TIMEOUT_MS, PROCESS_WAIT_MS, waitUntilGone } from '../cli/process-tree.js';
import { kubectlBinary } from '../support/tools.js';

/** Commands not run here, by their exact text in README.md, with the reason. */
const NOT_RUN: Record<string, string> = {
  'npm ci': 'replaces node_modules under the running suite; .ci/run runs it on a fresh clone (checked below)',
  'npm test': 'is this suite; .ci/run runs it (checked below)',
  'helm install flash-sale-operator charts/flash-sale-operator -n flash-sale-system --create-namespace':
    'needs a Kubernetes cluster with the images built (Docker and kind: hack/kind-e2e.sh)',
  'kubectl apply --server-side -k manifests/': 'needs a real Kubernetes cluster',
  'kubectl apply --server-side -f crds/flashsale.dev_flashsalestacks.yaml':
    'the "against a cluster" block needs a real Kubernetes cluster (~/.kube/config)',
};
/** Blocks that start with one of these are not run at all (every command in them needs the cluster). */
const BLOCKS_NOT_RUN = ['kubectl apply --server-side -f crds/flashsale.dev_flashsalestacks.yaml'];

interface Block {
  lang: string;
  text: string;
  line: number;
}

interface ShellCommand {
  text: string;
  /** The status the README says it ends with (`# exit N`), else 0. */
  exit: number;
  background: boolean;
}

const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

function blocks(markdown: string): Block[] {
  const out: Block[] = [];
  const re = /^```(\w*)\n([\s\S]*?)^```$/gm;
  for (let m = re.exec(markdown); m; m = re.exec(markdown)) {
    out.push({ lang: m[1]!, text: m[2]!, line: markdown.slice(0, m.index).split('\n').length });
  }
  return out;
}

/** The index of a `#` comment outside quotes (preceded by a blank or at the start), or -1. */
function commentStart(line: string): number {
  let quote = '';
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote) {
      if (c === quote) quote = '';
    } else if (c === "'" || c === '"') quote = c;
    else if (c === '#' && (i === 0 || /\s/.test(line[i - 1]!))) return i;
  }
  return -1;
}

function commands(block: Block): ShellCommand[] {
  const joined = block.text.replace(/\\\n\s*/g, '');
  const out: ShellCommand[] = [];
  for (const raw of joined.split('\n')) {
    const at = commentStart(raw);
    const text = (at < 0 ? raw : raw.slice(0, at)).trim();
    if (!text) continue;
    const comment = at < 0 ? '' : raw.slice(at);
    const exit = /# exit (\d+)/.exec(comment);
    out.push({ text, exit: exit ? Number(exit[1]) : 0, background: text.endsWith('&') });
  }
  return out;
}

let tmp: string;
let kubectlDir: string;
const printed: string[] = [];

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'fso-readme-'));
  kubectlDir = dirname(kubectlBinary());
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const env = () => ({ ...process.env, PATH: `${kubectlDir}:${process.env.PATH ?? ''}` });
const inTmp = (text: string) => text.replaceAll('/tmp/', `${tmp}/`);

/**
 * Runs commands as one bash script in a session of its own; each command's status is checked as the README
 * says. Resolves with the output once the script ended and every process of the session is gone.
 */
async function runCommands(
  cmds: ShellCommand[],
  name: string,
  redirectTmp = true,
): Promise<{ code: number | null; out: string }> {
  const lines = ['cd "$README_ROOT"'];
  for (const c of cmds) {
    if (NOT_RUN[c.text] !== undefined) continue;
    lines.push(redirectTmp ? inTmp(c.text) : c.text);
    if (!c.background) {
      const shown = JSON.stringify(c.text).replaceAll('$', '\\$').replaceAll('`', '\\`');
      lines.push(
        `__rc=$?; if [ "$__rc" != ${c.exit} ]; then echo "README command ended with $__rc, expected ${c.exit}: "${shown} >&2; exit 99; fi`,
      );
    }
  }
  const script = join(tmp, `${name}.sh`);
  writeFileSync(script, `${lines.join('\n')}\n`);
  chmodSync(script, 0o755);
  const child = spawn('bash', [script], {
    env: { ...env(), README_ROOT: ROOT },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  const left = await waitUntilGone(inSession(child.pid!), PROCESS_WAIT_MS);
  for (const pid of left) process.kill(pid, 'SIGKILL');
  expect(left, `processes left behind by README block ${name}:\n${out}`).toEqual([]);
  return { code, out };
}

const all = blocks(README);
const shellBlocks = all.filter((b) => b.lang === 'sh');
const playgroundAt = all.findIndex((b) => b.lang === 'sh' && commands(b).some((c) => c.text === 'npm start'));
const testAt = all.findIndex((b) => b.lang === 'sh' && commands(b).some((c) => c.text === 'npm test'));
/** The blocks the playground test takes: its output, the "another terminal" commands, their output. */
const playgroundBlocks = [playgroundAt + 1, playgroundAt + 2, playgroundAt + 3];

describe('README.md', { timeout: PROCESS_TEST_TIMEOUT_MS }, () => {
  it('has the blocks this test knows how to check', () => {
    expect(all[playgroundAt + 1]?.lang).toBe('text');
    expect(all[playgroundAt + 2]?.lang).toBe('sh');
    expect(all[playgroundAt + 3]?.lang).toBe('text');
    expect(all[testAt + 1]?.lang).toBe('text');
    const checked = new Set([...playgroundBlocks, testAt + 1]);
    const unchecked = all.filter((b, i) => b.lang !== 'sh' && b.lang !== '' && !checked.has(i));
    expect(unchecked.map((b) => `line ${b.line}: ${b.lang}`)).toEqual([]);
  });

  it('names only commands it has in NOT_RUN, each with its reason', () => {
    const everything = shellBlocks.flatMap(commands).map((c) => c.text);
    for (const [cmd, reason] of Object.entries(NOT_RUN)) {
      expect(everything, `NOT_RUN names "${cmd}", which README.md no longer has`).toContain(cmd);
      printed.push(`not run: ${cmd} — ${reason}`);
    }
    console.info(printed.join('\n'));
  });

  it(".ci/run runs the quick start's commands, npm ci then npm test", () => {
    const quickStart = commands(all[testAt]!).map((c) => c.text);
    expect(quickStart).toEqual(['npm ci', 'npm test']);
    const ci = readFileSync(join(ROOT, '.ci/run'), 'utf8')
      .split('\n')
      .map((l) => l.trim());
    const ciAt = ci.findIndex((l) => l === 'npm ci' || l.startsWith('npm ci '));
    const testLine = ci.findIndex((l) => l === 'npm test');
    expect(ciAt).toBeGreaterThanOrEqual(0);
    expect(testLine).toBeGreaterThan(ciAt);
  });

  it("the npm test block's example is what hack/test-deps.sh prints for a user who is not root", () => {
    const example = all[testAt + 1]!.text;
    const missing = /the Debian packages ([\w -]+);/.exec(example)![1]!.split(' ');
    const fake = join(tmp, 'fake-dpkg');
    spawnSync('mkdir', ['-p', fake]);
    chmodSync(tmp, 0o755);
    writeFileSync(
      join(fake, 'dpkg-query'),
      `#!/bin/bash\nfor p in "$@"; do case $p in -*) ;; ${missing.join('|')}) echo "$p not-installed" ;; *) echo "$p installed" ;; esac; done\n`,
    );
    chmodSync(join(fake, 'dpkg-query'), 0o755);
    const r = spawnSync(
      'setpriv',
      ['--reuid=nobody', '--regid=nogroup', '--clear-groups', 'bash', join(ROOT, 'hack/test-deps.sh')],
      { env: { ...process.env, PATH: `${fake}:${process.env.PATH ?? ''}` }, encoding: 'utf8' },
    );
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(example);
  });

  it('the playground: npm start prints what the README shows, kubectl sees a Ready stack, Ctrl-C stops it all', async () => {
    const expected = all[playgroundAt + 1]!.text;
    const npm = spawn('npm', ['start'], { cwd: ROOT, env: env(), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let out = '';
    npm.stdout.on('data', (d: Buffer) => (out += d.toString()));
    npm.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => npm.once('exit', (c) => resolve(c)));
    try {
      const last = expected.trimEnd().split('\n').pop()!;
      const deadline = Date.now() + PROCESS_WAIT_MS;
      while (!out.includes(last)) {
        if (Date.now() > deadline || npm.exitCode !== null) throw new Error(`npm start did not get Ready:\n${out}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      // npm's own banner ("> flash-sale-operator@… start") comes first; the rest is the playground's.
      const shown = out.slice(out.indexOf('flash-sale playground:'));
      const realDir = /\/\S*flash-sale-playground-\w+/.exec(shown)![0];
      const readmeDir = /\/\S*flash-sale-playground-\w+/.exec(expected)![0];
      const realPort = /https?:\/\/127\.0\.0\.1:(\d+)/.exec(shown)![1]!;
      const readmePort = /https?:\/\/127\.0\.0\.1:(\d+)/.exec(expected)![1]!;
      const normalised = shown.replaceAll(realDir, readmeDir).replaceAll(`127.0.0.1:${realPort}`, `127.0.0.1:${readmePort}`);
      expect(normalised.slice(0, expected.length)).toBe(expected);

      const another = commands(all[playgroundAt + 2]!).map((c) => ({ ...c, text: c.text.replaceAll(readmeDir, realDir) }));
      const terminal = await runCommands(another, 'playground-terminal', false);
      expect(terminal.code, terminal.out).toBe(0);
      // kubectl get fss, the first table printed: the README's NAME and PHASE columns (the others hold
      // counts and ages).
      const columns = (text: string) =>
        text
          .trim()
          .split('\n')
          .filter((l) => /^(NAME|shop)\s/.test(l))
          .slice(0, 2)
          .map((l) => l.split(/\s+/).slice(0, 2).join(' '));
      expect(columns(terminal.out)).toEqual(columns(all[playgroundAt + 3]!.text));
    } finally {
      process.kill(-npm.pid!, 'SIGINT'); // Ctrl-C in its terminal
    }
    await exited;
    expect(out).toMatch(/\nstopped\n$/);
    expect(await waitUntilGone(inSession(npm.pid!), PROCESS_WAIT_MS)).toEqual([]);
  });

  const runnable = shellBlocks.filter((b) => {
    const index = all.indexOf(b);
    const first = commands(b)[0]?.text ?? '';
    const skipped = BLOCKS_NOT_RUN.includes(first) || commands(b).every((c) => NOT_RUN[c.text] !== undefined);
    return index !== playgroundAt && !playgroundBlocks.includes(index) && !skipped;
  });
  it.each(runnable.map((b) => [`line ${b.line}: ${commands(b)[0]?.text ?? ''}`, b] as const))(
    'block at %s runs as written',
    async (name, block) => {
      const r = await runCommands(commands(block), name.replace(/\W+/g, '-').slice(0, 40));
      expect(r.code, r.out).toBe(0);
    },
  );
});
