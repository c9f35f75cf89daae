/**
 * The in-memory API server as its own process, for bench:operator: its CPU is then its own (read from
 * /proc/<pid>) and cannot be mistaken for the operator's or the harness's.
 *
 *   node dist/bench/standin.js '<FakeApiServerOptions as JSON>'
 *
 * It installs the operator's ServiceAccount with exactly the generated RBAC (test/support/operator-rbac.ts),
 * so the operator runs with the permissions it ships with. Prints one JSON line `{"url", "kubeconfigPath"
 * (the admin's), "adminToken", "operatorKubeconfigPath"}` on stdout once it listens; stops on SIGTERM. The request log is
 * read over HTTP (GET /debug/requests).
 */
import { installOperatorRbacKubeconfig } from '../test/support/operator-rbac.js';
import { startFakeApiServer, type FakeApiServerOptions } from '../test/support/server.js';

const options = JSON.parse(process.argv[2] ?? '{}') as FakeApiServerOptions;
const srv = await startFakeApiServer(options);
const operatorKubeconfigPath = installOperatorRbacKubeconfig(srv);
process.stdout.write(
  `${JSON.stringify({ url: srv.url, kubeconfigPath: srv.kubeconfigPath, adminToken: srv.adminToken, operatorKubeconfigPath })}\n`,
);
process.once('SIGTERM', () => {
  void srv.stop().then(() => process.exit(0));
});
