import { createHmac } from 'node:crypto';
import { stringify } from 'yaml';
import { applyDefaults } from '../../api/defaults.js';
import type { Problem } from '../../api/problems.js';
import type { FlashSaleStack } from '../../api/types.js';
import {
  formatVersion,
  isSupported,
  MIN_SUPPORTED,
  parseKubernetesVersion,
  supportedRangeText,
  type KubernetesVersion,
} from '../../kubernetes/version.js';
import { STACK_SECRET_KEYS, type KubeObject, type StackSecrets } from '../../render/common.js';
import { BudgetError, render } from '../../render/index.js';
import { parseOptions, UsageError, type Command } from '../command.js';
import { readStackFiles } from '../stack-files.js';

export const DEFAULT_OPERATOR_NAMESPACE = 'flash-sale-system';

const usage = `Usage: flash-sale-operator render -f FILE [-f FILE...] [options]

Prints, as multi-document YAML on stdout, every Kubernetes object the operator would apply for the
FlashSaleStack documents in FILE. The output is deterministic: the same input prints the same bytes.
The file is validated first; on any problem nothing is printed on stdout, the problems are listed on
stderr exactly as 'flash-sale-operator validate' lists them, and the exit status is 1.

Secrets: by default Secret objects are NOT printed, so no password ends up in a GitOps repository. The
operator generates random passwords per stack (Secret <stack>-operator-secrets) and creates the
derived Secrets itself (<stack>-postgres-credentials, <stack>-pgbouncer-auth, <stack>-redis-credentials,
<stack>-rabbitmq-credentials, <stack>-api). Pod checksum annotations that cover those Secrets are then
computed from placeholder values and differ from the ones the operator applies.
With --include-secrets the Secrets are printed, with passwords derived from --secrets-seed
(HMAC-SHA256 of the seed and stack/key): reproducible, and as secret as the seed. See docs/render.md.

Owner references are left out when the document has no metadata.uid (objects rendered for GitOps are
not owned by a FlashSaleStack until the operator adopts them).

Options:
  -f, --filename FILE        YAML file with FlashSaleStack documents (repeatable; - for stdin)
  -n, --namespace NS         Namespace for documents that do not set metadata.namespace
      --include-secrets      Print Secret objects too (requires --secrets-seed)
      --secrets-seed SEED    Seed the printed passwords are derived from
      --prometheus-operator  Render as if the cluster serves monitoring.coreos.com/v1 (ServiceMonitor,
                             PrometheusRule); without it serviceMonitor: auto falls back to scrape annotations
      --operator-namespace NS  Namespace the operator runs in (NetworkPolicies let its probes in;
                             default ${DEFAULT_OPERATOR_NAMESPACE})
      --kubernetes-version 1.NN  Render for this Kubernetes minor: only fields it serves are used (e.g.
                             preStop sleep from 1.30); default ${formatVersion(MIN_SUPPORTED)}, the lowest supported.
                             Supported: ${supportedRangeText()}
  -h, --help                 Show this help

Exit status: 0 on success, 1 when a document is invalid, 2 on usage errors (an unsupported
--kubernetes-version is one).
`;

interface RenderArgs {
  files: string[];
  namespace?: string;
  includeSecrets: boolean;
  secretsSeed?: string;
  prometheusOperator: boolean;
  operatorNamespace: string;
  kubernetesVersion: KubernetesVersion;
}

/**
 * `--kubernetes-version`: a minor in the supported range. Refused in one line (the caller exits 2) rather
 * than with the whole usage text: the range is the only thing the user needs to read.
 */
class UnsupportedVersionError extends Error {}

function kubernetesVersionFlag(value: string | undefined): KubernetesVersion {
  if (value === undefined) return MIN_SUPPORTED;
  const version = parseKubernetesVersion(value);
  if (version === undefined) {
    throw new UnsupportedVersionError(
      `--kubernetes-version '${value}' is not a Kubernetes version: give a minor such as ${formatVersion(MIN_SUPPORTED)} (supported: ${supportedRangeText()})`,
    );
  }
  if (!isSupported(version)) {
    throw new UnsupportedVersionError(
      `--kubernetes-version ${formatVersion(version)} is not supported: flash-sale-operator supports Kubernetes ${supportedRangeText()}`,
    );
  }
  return version;
}

function parseArgs(argv: string[]): RenderArgs {
  const v = parseOptions(argv, {
    filename: { type: 'string', short: 'f', multiple: true },
    namespace: { type: 'string', short: 'n' },
    'include-secrets': { type: 'boolean' },
    'secrets-seed': { type: 'string' },
    'prometheus-operator': { type: 'boolean' },
    'operator-namespace': { type: 'string' },
    'kubernetes-version': { type: 'string' },
  });
  const out: RenderArgs = {
    files: v.filename ?? [],
    includeSecrets: v['include-secrets'] ?? false,
    prometheusOperator: v['prometheus-operator'] ?? false,
    operatorNamespace: v['operator-namespace'] ?? DEFAULT_OPERATOR_NAMESPACE,
    kubernetesVersion: kubernetesVersionFlag(v['kubernetes-version']),
  };
  if (v.namespace !== undefined) out.namespace = v.namespace;
  if (v['secrets-seed'] !== undefined) out.secretsSeed = v['secrets-seed'];
  if (out.files.length === 0) throw new UsageError('give at least one file with -f FILE');
  if (out.includeSecrets && !out.secretsSeed) {
    throw new UsageError('--include-secrets needs --secrets-seed SEED (passwords are derived from it)');
  }
  if (out.namespace !== undefined && !/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(out.namespace)) {
    throw new UsageError(
      `--namespace '${out.namespace}' is not a valid namespace name (lower-case DNS label)`,
    );
  }
  return out;
}

/** Passwords for one stack: derived from the seed (reproducible), or fixed placeholders when not printed. */
export function derivedSecrets(seed: string | undefined, namespace: string, name: string): StackSecrets {
  const entries = STACK_SECRET_KEYS.map((key) => {
    if (seed === undefined)
      return [key, key === 'erlangCookie' ? 'PLACEHOLDERERLANGCOOKIE' : `placeholder-${key}`];
    const mac = createHmac('sha256', seed).update(`${namespace}/${name}/${key}`).digest();
    const value =
      key === 'erlangCookie'
        ? [...mac].map((b) => String.fromCharCode(65 + (b % 26))).join('')
        : mac.toString('base64url');
    return [key, value];
  });
  return Object.fromEntries(entries) as StackSecrets;
}

function withoutOwner(o: KubeObject): KubeObject {
  const { ownerReferences: _drop, ...metadata } = o.metadata;
  return { ...o, metadata };
}

export const renderCommand: Command = {
  name: 'render',
  summary: 'Print the Kubernetes objects the operator would apply for a FlashSaleStack',
  usage,
  async run(argv, io) {
    let args: RenderArgs;
    try {
      args = parseArgs(argv);
    } catch (err) {
      if (!(err instanceof UnsupportedVersionError)) throw err;
      io.stderr(`flash-sale-operator render: ${err.message}\n`);
      return 2;
    }
    const errors: string[] = [];
    const warnings: string[] = [];
    const docs: string[] = [];
    const read = readStackFiles(args.files);
    errors.push(...read.errors);
    for (const { file, where, doc, errors: invalid } of read.stacks) {
      errors.push(...invalid);
      if (invalid.length > 0) continue;
      const stackDoc = structuredClone(doc) as unknown as FlashSaleStack;
      const meta = stackDoc.metadata ?? {};
      if (args.namespace !== undefined) {
        if (meta.namespace !== undefined && meta.namespace !== args.namespace) {
          errors.push(
            `${file}: metadata.namespace: is '${meta.namespace}' but --namespace is '${args.namespace}'; drop one of them${where}`,
          );
          continue;
        }
        meta.namespace = args.namespace;
      }
      stackDoc.metadata = meta;
      const stack = applyDefaults(stackDoc);
      const { namespace, name } = stack.metadata;
      let result;
      try {
        result = render(stack, {
          secrets: derivedSecrets(args.includeSecrets ? args.secretsSeed : undefined, namespace, name),
          prometheusOperatorAvailable: args.prometheusOperator,
          operatorNamespace: args.operatorNamespace,
          kubernetesVersion: args.kubernetesVersion,
        });
      } catch (err) {
        if (!(err instanceof BudgetError)) throw err;
        for (const p of err.problems) errors.push(`${file}: ${p.path}: ${p.message}${where}`);
        continue;
      }
      warnings.push(
        ...result.warnings.map((w: Problem) => `${file}: warning: ${w.path}: ${w.message}${where}`),
        ...result.notices.map(
          (n: Problem) =>
            `${file}: notice: ${n.path}: ${n.message}${where}; pass --prometheus-operator to render for a cluster that serves it`,
        ),
      );
      let objects = result.objects;
      const secrets = objects.filter((o) => o.kind === 'Secret').map((o) => o.metadata.name);
      if (!args.includeSecrets) objects = objects.filter((o) => o.kind !== 'Secret');
      if (meta.uid === undefined) objects = objects.map(withoutOwner);
      const header = [
        `# FlashSaleStack ${namespace}/${name}: ${objects.length} objects, rendered by flash-sale-operator render for Kubernetes ${formatVersion(args.kubernetesVersion)}.`,
        args.includeSecrets
          ? '# Secrets included, with passwords derived from --secrets-seed.'
          : `# Secrets omitted: the operator generates ${name}-operator-secrets in namespace ${namespace} and creates ${secrets.join(', ')} from it.`,
      ].join('\n');
      objects.forEach((o, i) => {
        const body = stringify(o, { lineWidth: 0, version: '1.1' });
        docs.push(i === 0 ? `${header}\n${body}` : body);
      });
    }
    if (errors.length > 0) {
      io.stderr(errors.map((e) => `${e}\n`).join(''));
      return 1;
    }
    if (warnings.length > 0) io.stderr(warnings.map((w) => `${w}\n`).join(''));
    io.stdout(docs.map((d) => `---\n${d}`).join(''));
    return 0;
  },
};
