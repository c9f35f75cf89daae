/**
 * The in-memory API server as its own process, for bench:operator: its CPU is then its own (read from
 * /proc/<pid>) and cannot be mistaken for the operator's or the harness's.
 *
 *   node dist/bench/standin.js '<FakeApiServerOptions as JSON>'
 *
 * Prints one JSON line `{"url": ..., "kubeconfigPath": ...}` on stdout once it listens; stops on SIGTERM.
 * The request log is read over HTTP (GET /debug/requests).
 */
import { startFakeApiServer, type FakeApiServerOptions } from '../test/support/server.js';

const options = JSON.parse(process.argv[2] ?? '{}') as FakeApiServerOptions;
const srv = await startFakeApiServer(options);
process.stdout.write(`${JSON.stringify({ url: srv.url, kubeconfigPath: srv.kubeconfigPath })}\n`);
process.once('SIGTERM', () => {
  void srv.stop().then(() => process.exit(0));
});
