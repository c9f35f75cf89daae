/** The built operator binary as a process, the way users run it (`flash-sale-operator run`), for tests. */
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** `node <args>` runs the built operator against `kubeconfig`, metrics on a free port, probes off. */
export function operatorRunArgs(kubeconfig: string): string[] {
  return [
    'dist/src/cli/main.js',
    'run',
    '--kubeconfig',
    kubeconfig,
    '--metrics-addr',
    '127.0.0.1:0',
    '--no-health',
  ];
}
