/** The flash-sale-operator command line called in-process, its output captured. */
import { main } from '../../src/cli/cli.js';

export async function runCli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) });
  return { code, stdout, stderr };
}

/** `check`'s flags for the PostgreSQL, Redis and RabbitMQ of the test machine. */
export const LOCAL_CHECK_ARGS = [
  '--postgres',
  'postgres://postgres@127.0.0.1:5432/postgres',
  '--redis',
  'redis://127.0.0.1:6379',
  '--amqp',
  'amqp://guest:guest@127.0.0.1:5672',
];
