/**
 * Standalone in-memory API server:
 *   npm run fake-apiserver -- --port <n|0> --kubeconfig <file> [--kubelet] [--kubelet-delay-ms N]
 *                             [--crd <file>]... [--prometheus-operator] [--kubernetes-version 1.28]
 * Writes the kubeconfig, prints the URL, runs until killed (SIGINT/SIGTERM stop it cleanly).
 */
import { existsSync } from 'node:fs';
import { startFakeApiServer, type FakeApiServerOptions } from './server.js';

function usage(msg: string): never {
  console.error(`fake-apiserver: ${msg}
usage: npm run fake-apiserver -- --port <n|0> --kubeconfig <file> [--kubelet] [--kubelet-delay-ms N] [--crd <file>]... [--prometheus-operator] [--kubernetes-version 1.28]`);
  process.exit(2);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const opts: FakeApiServerOptions = { crdFiles: [] };
  let kubeletDelay: number | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const val = () => {
      const v = args[++i];
      if (v === undefined) usage(`${a} needs a value`);
      return v;
    };
    if (a === '--port') {
      const p = Number(val());
      if (!Number.isInteger(p) || p < 0 || p > 65535) usage('--port must be an integer 0-65535');
      opts.port = p;
    } else if (a === '--kubeconfig') opts.kubeconfigPath = val();
    else if (a === '--kubelet') opts.kubelet = true;
    else if (a === '--kubelet-delay-ms') kubeletDelay = Number(val());
    else if (a === '--crd') opts.crdFiles!.push(val());
    else if (a === '--prometheus-operator') opts.prometheusOperator = true;
    else if (a === '--kubernetes-version') opts.kubernetesVersion = val();
    else if (a === '--help' || a === '-h') usage('help');
    else usage(`unknown argument ${a}`);
  }
  if (!opts.kubeconfigPath) usage('--kubeconfig <file> is required');
  if (opts.kubelet && kubeletDelay !== undefined) opts.kubelet = { delayMs: kubeletDelay };
  const defaultCrd = new URL('../../../crds/flashsale.dev_flashsalestacks.yaml', import.meta.url);
  if (opts.crdFiles!.length === 0 && existsSync(defaultCrd)) opts.crdFiles!.push(defaultCrd.pathname);
  const srv = await startFakeApiServer(opts);
  console.log(`fake-apiserver listening on ${srv.url}`);
  console.log(`kubeconfig written to ${srv.kubeconfigPath}`);
  const stop = () => {
    void srv.stop().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((e: unknown) => {
  console.error(`fake-apiserver: ${(e as Error).message}`);
  process.exit(1);
});
