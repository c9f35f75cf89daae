import { KubeConfig } from '@kubernetes/client-node';
import { parseOptions, UsageError, type Command } from '../command.js';
import { createLogger, type Logger, type LogLevel } from '../../controller/logger.js';
import { Operator } from '../../controller/operator.js';
import { createOperatorParts } from '../../controller/wiring.js';
import { parseDurationMs } from '../../health/duration.js';
import { onStopSignal } from '../stop-signals.js';

/** What `run` runs with; the playground starts the same operator with its own values. */
export interface RunSettings {
  namespaces: string[];
  metricsAddr: string;
  leaderElect: boolean;
  concurrency: number;
  resyncMs: number;
  probeIntervalMs: number;
  health: boolean;
  operatorNamespace: string;
}

export function createOperator(kc: KubeConfig, settings: RunSettings, log: Logger): Operator {
  const { health, probeIntervalMs, ...options } = settings;
  return new Operator(
    kc,
    options,
    createOperatorParts({ health, defaultProbeIntervalMs: probeIntervalMs, log }),
    log,
  );
}

const usage = `Usage: flash-sale-operator run [options]

Runs the operator: watches FlashSaleStacks and the objects it owns, reconciles them, probes health,
and serves /metrics, /healthz and /readyz.

Options:
  --kubeconfig FILE       kubeconfig to use (default: in-cluster config, then $KUBECONFIG, then ~/.kube/config)
  --namespaces a,b        namespaces to watch (default: all namespaces)
  --metrics-addr ADDR     address for /metrics, /healthz, /readyz (default ":8080")
  --leader-elect          elect one active replica through a coordination.k8s.io Lease
  --lease-namespace NS    namespace of the Lease (default: $POD_NAMESPACE, else "default")
  --concurrency N         stacks reconciled at once (default 4)
  --resync DURATION       re-check every stack this often, e.g. 10m (default 10m)
  --probe-interval DUR    default health probe interval when a stack sets none (default 30s)
  --no-health             do not probe component health (status shows workload readiness only)
  --log-level LEVEL       debug | info | warn | error (default info)
  -h, --help              show this help

Stops gracefully on SIGINT (Ctrl-C), SIGTERM or SIGHUP; a second signal exits at once. Started by npx or
npm run, it also stops when npx/npm is killed (kill $! after 'npx flash-sale-operator run ... &').
`;

export const runCommand: Command = {
  name: 'run',
  summary: 'Run the operator against a cluster',
  usage,
  async run(argv, io) {
    const given = parseOptions(argv, {
      kubeconfig: { type: 'string' },
      namespaces: { type: 'string' },
      'metrics-addr': { type: 'string' },
      'leader-elect': { type: 'boolean' },
      'lease-namespace': { type: 'string' },
      concurrency: { type: 'string' },
      resync: { type: 'string' },
      'probe-interval': { type: 'string' },
      'no-health': { type: 'boolean' },
      'log-level': { type: 'string' },
    });
    const values = {
      ...given,
      'metrics-addr': given['metrics-addr'] ?? ':8080',
      'leader-elect': given['leader-elect'] ?? false,
      concurrency: given.concurrency ?? '4',
      resync: given.resync ?? '10m',
      'probe-interval': given['probe-interval'] ?? '30s',
      'no-health': given['no-health'] ?? false,
      'log-level': given['log-level'] ?? 'info',
    };
    const concurrency = Number(values.concurrency);
    if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) {
      throw new UsageError(`--concurrency must be a whole number from 1 to 64, got "${values.concurrency}"`);
    }
    const resyncMs = parseDurationMs(values.resync);
    if (resyncMs === undefined || resyncMs < 1000) {
      throw new UsageError(
        `--resync must be a duration of at least 1s such as 30s or 10m, got "${values.resync}"`,
      );
    }
    const probeIntervalMs = parseDurationMs(values['probe-interval']);
    if (probeIntervalMs === undefined || probeIntervalMs < 1000) {
      throw new UsageError(
        `--probe-interval must be a duration of at least 1s, got "${values['probe-interval']}"`,
      );
    }
    const level = values['log-level'] as LogLevel;
    if (!['debug', 'info', 'warn', 'error'].includes(level)) {
      throw new UsageError(`--log-level must be debug, info, warn or error, got "${values['log-level']}"`);
    }
    const log = createLogger(level, (line) => io.stderr(line));

    const kc = new KubeConfig();
    try {
      if (values.kubeconfig) kc.loadFromFile(values.kubeconfig);
      else kc.loadFromDefault();
    } catch (err) {
      io.stderr(
        `flash-sale-operator run: cannot load Kubernetes credentials: ${err instanceof Error ? err.message : String(err)}\n`,
      );
      return 1;
    }
    if (!kc.getCurrentCluster()) {
      io.stderr(
        'flash-sale-operator run: no Kubernetes credentials found: pass --kubeconfig FILE, set KUBECONFIG, or run in a pod with a ServiceAccount\n',
      );
      return 1;
    }

    const operator = createOperator(
      kc,
      {
        namespaces: values.namespaces
          ? values.namespaces
              .split(',')
              .map((s) => s.trim())
              .filter(Boolean)
          : [],
        metricsAddr: values['metrics-addr'],
        leaderElect: values['leader-elect'],
        concurrency,
        resyncMs,
        probeIntervalMs,
        health: !values['no-health'],
        operatorNamespace: values['lease-namespace'] ?? process.env.POD_NAMESPACE ?? 'default',
      },
      log,
    );

    const done = new Promise<number>((resolve) => {
      onStopSignal((signal) => {
        log.info('shutting down', { signal });
        operator.stop().then(
          () => resolve(0),
          (err: unknown) => {
            log.error('shutdown failed', { error: err instanceof Error ? err.message : String(err) });
            resolve(1);
          },
        );
      }, 'flash-sale-operator run: signalled again while shutting down; exiting now');
    });
    try {
      await operator.start();
    } catch (err) {
      io.stderr(`flash-sale-operator run: ${err instanceof Error ? err.message : String(err)}\n`);
      await operator.stop();
      return 1;
    }
    log.info('operator running', { metricsPort: operator.metricsPort, leaderElect: values['leader-elect'] });
    return done;
  },
};
