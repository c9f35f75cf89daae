/**
 * `flash-sale-operator playground` (`npm start`): the operator's main job on an embedded default, without a
 * cluster. One process runs the in-memory Kubernetes API server of the tests (test/support/, which
 * `npm run build` compiles into dist/test/support/ — so this command works from a built checkout only; the
 * published package and the image carry no test code), the operator against it as `run --no-health` would,
 * and creates the example stack; it prints the kubeconfig for kubectl and runs until SIGINT, SIGTERM or SIGHUP.
 * Being a single process, it cannot leave a process behind.
 */
import { once } from 'node:events';
import { createWriteStream, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KubeConfig } from '@kubernetes/client-node';
import { KIND } from '../../api/types.js';
import { KubeClient, type ApiObject } from '../../controller/kube-client.js';
import { createLogger } from '../../controller/logger.js';
import type { Operator } from '../../controller/operator.js';
import { resourceTypeByKind } from '../../controller/resources.js';
import type { FakeApiServer, FakeApiServerOptions } from '../../../test/support/server.js';
import { parseOptions, UsageError, type Command, type CommandIO } from '../command.js';
import { readStackFiles } from '../stack-files.js';
import { onStopSignal } from '../stop-signals.js';
import { createOperator } from './run.js';

/** The stand-in's module in the build (dist/test/support/server.js), seen from this file's place in dist/src. */
const STAND_IN = new URL('../../../test/support/server.js', import.meta.url);
const CRD = 'crds/flashsale.dev_flashsalestacks.yaml';
const DEFAULT_EXAMPLE = 'examples/minimal.yaml';
const READY_TIMEOUT_MS = 120_000;

const usage = `Usage: flash-sale-operator playground [-f FILE...] [--port N] [--kubeconfig FILE]

Runs the operator against an in-memory Kubernetes API server (the stand-in the tests use, with a simulated
kubelet that reports workloads ready), creates the FlashSaleStacks of FILE (default ${DEFAULT_EXAMPLE}),
waits until they are Ready and prints the kubeconfig to point kubectl at. No cluster, container engine or
database is needed: health probes are off, as with 'run --no-health'. Runs until Ctrl-C (SIGINT), SIGTERM
or SIGHUP, then stops everything and removes its temporary directory. 'npm start' runs it.

Needs a built checkout (npm ci, or npm run build): the in-memory server is test code, compiled into
dist/test/support/, which the published package does not contain.

Options:
  -f, --filename FILE   FlashSaleStack manifest to create (repeatable; default ${DEFAULT_EXAMPLE})
      --port N          port of the API server on 127.0.0.1 (default: any free port)
      --kubeconfig FILE write the kubeconfig there (default: in the playground's temporary directory)
  -h, --help            show this help

Exit status: 0 after a signal, 1 when it cannot start or a stack does not become Ready, 2 on usage errors.
`;

interface PlaygroundArgs {
  files: string[];
  port: number;
  kubeconfig?: string;
}

function parseArgs(argv: string[]): PlaygroundArgs {
  const v = parseOptions(argv, {
    filename: { type: 'string', short: 'f', multiple: true },
    port: { type: 'string' },
    kubeconfig: { type: 'string' },
  });
  const port = Number(v.port ?? '0');
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError(`--port must be a port number from 0 to 65535, got "${v.port}"`);
  }
  const args: PlaygroundArgs = { files: v.filename ?? [], port };
  if (v.kubeconfig !== undefined) args.kubeconfig = v.kubeconfig;
  return args;
}

/** The checkout this build belongs to: the nearest directory above this module that holds the CRD. */
function checkoutRoot(): string | undefined {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, CRD))) return dir;
  }
  return undefined;
}

/** A path as the user would type it from here. */
function shown(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

function readyCondition(obj: ApiObject): { status?: string; message?: string } | undefined {
  const conditions = (obj.status as { conditions?: { type: string; status?: string; message?: string }[] })
    ?.conditions;
  return conditions?.find((c) => c.type === 'Ready');
}

async function waitForReady(
  client: KubeClient,
  stack: ApiObject,
  stopRequested: () => boolean,
  logPath: string,
): Promise<void> {
  const type = resourceTypeByKind(KIND);
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const now = await client.get(type, stack.metadata.namespace, stack.metadata.name);
    const ready = readyCondition(now);
    if (ready?.status === 'True' || stopRequested()) return;
    if (Date.now() > deadline) {
      throw new Error(
        `FlashSaleStack ${stack.metadata.namespace}/${stack.metadata.name} is not Ready after ${READY_TIMEOUT_MS / 1000} s` +
          `${ready?.message ? ` (${ready.message})` : ''}; the operator's log is ${logPath}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function run(argv: string[], io: CommandIO): Promise<number> {
  const args = parseArgs(argv);
  const root = checkoutRoot();
  if (root === undefined || !existsSync(STAND_IN)) {
    io.stderr(
      `flash-sale-operator playground: needs a built checkout of flash-sale-operator (${fileURLToPath(STAND_IN)} is missing); run 'npm ci' or 'npm run build' in the checkout\n`,
    );
    return 1;
  }
  const files = args.files.length > 0 ? args.files : [join(root, DEFAULT_EXAMPLE)];
  const read = readStackFiles(files);
  const problems = [...read.errors, ...read.stacks.flatMap((s) => s.errors)];
  if (problems.length > 0) {
    io.stderr(problems.map((p) => `${p}\n`).join(''));
    return 1;
  }

  const dir = mkdtempSync(join(tmpdir(), 'flash-sale-playground-'));
  const kubeconfigPath = args.kubeconfig ?? join(dir, 'kubeconfig');
  const logPath = join(dir, 'operator.log');
  const logFile = createWriteStream(logPath);
  const log = createLogger('info', (line) => logFile.write(line));
  let server: FakeApiServer | undefined;
  let operator: Operator | undefined;
  let stopping: Promise<void> | undefined;
  /** Stops the operator, then the API server; removes the temporary directory unless its log is needed. */
  const stopAll = (keepLog: boolean) =>
    (stopping ??= (async () => {
      await operator?.stop();
      await server?.stop();
      logFile.end();
      await once(logFile, 'close');
      if (!keepLog) rmSync(dir, { recursive: true, force: true });
    })());

  let signal: string | undefined;
  const signalled = new Promise<void>((resolve) => {
    onStopSignal((s) => {
      signal = s;
      resolve();
    }, 'flash-sale-operator playground: signalled again while stopping; exiting now');
  });

  try {
    const standIn = (await import(STAND_IN.href)) as {
      startFakeApiServer(options: FakeApiServerOptions): Promise<FakeApiServer>;
    };
    server = await standIn.startFakeApiServer({
      port: args.port,
      kubeconfigPath,
      kubelet: true,
      crdFiles: [join(root, CRD)],
    });
    const kc = new KubeConfig();
    kc.loadFromFile(server.kubeconfigPath);
    operator = createOperator(
      kc,
      {
        namespaces: [],
        metricsAddr: '127.0.0.1:0',
        leaderElect: false,
        concurrency: 4,
        resyncMs: 10 * 60_000,
        probeIntervalMs: 30_000,
        health: false,
        operatorNamespace: 'default',
      },
      log,
    );
    await operator.start();
    io.stdout(
      [
        'flash-sale playground: the operator against an in-memory Kubernetes API server (no cluster needed)',
        `  API server    ${server.url}`,
        `  kubeconfig    ${server.kubeconfigPath}`,
        `  operator log  ${logPath}`,
        '',
      ].join('\n'),
    );

    const client = new KubeClient(kc, 30_000, 'flash-sale-operator-playground');
    const stacks: ApiObject[] = [];
    for (const { file, doc } of read.stacks) {
      const stack = structuredClone(doc) as ApiObject;
      stack.metadata.namespace ??= 'default';
      stacks.push(await client.create(stack));
      io.stdout(
        `created FlashSaleStack ${stack.metadata.namespace}/${stack.metadata.name} from ${shown(file)}\n`,
      );
    }
    for (const stack of stacks) {
      await waitForReady(client, stack, () => signal !== undefined, logPath);
      if (signal !== undefined) break;
      io.stdout(`FlashSaleStack ${stack.metadata.namespace}/${stack.metadata.name} is Ready\n`);
    }
    if (signal === undefined) {
      const first = stacks[0]!.metadata;
      const ns = first.namespace === 'default' ? '' : ` -n ${first.namespace}`;
      io.stdout(
        [
          '',
          'In another terminal:',
          `  export KUBECONFIG=${server.kubeconfigPath}`,
          `  kubectl get fss${ns}`,
          `  kubectl describe fss${ns} ${first.name}`,
          `  kubectl get deployments,statefulsets,services${ns} -l app.kubernetes.io/instance=${first.name}`,
          '',
          'Health probes are off: no PostgreSQL, Redis or RabbitMQ runs behind the in-memory server, whose',
          'simulated kubelet reports the workloads ready. Ctrl-C stops the playground.',
          '',
        ].join('\n'),
      );
    }
  } catch (err) {
    io.stderr(`flash-sale-operator playground: ${err instanceof Error ? err.message : String(err)}\n`);
    await stopAll(true);
    io.stderr(`flash-sale-operator playground: stopped; the operator's log stays in ${logPath}\n`);
    return 1;
  }

  await signalled;
  io.stdout(`\n${signal}: stopping the operator and the API server\n`);
  await stopAll(false);
  io.stdout('stopped\n');
  return 0;
}

export const playgroundCommand: Command = {
  name: 'playground',
  summary: 'Run the operator against an in-memory API server with an example stack (npm start)',
  usage,
  run,
};
