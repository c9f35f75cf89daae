#!/usr/bin/env node
// flash-sale-operator's entry: the Node.js check runs before anything that needs a newer Node.js is loaded.
import { guardEntry } from '../entry-guard.js';

if (guardEntry('flash-sale-operator')) {
  const { main } = await import('./cli.js');
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      // Errors we cannot handle crash loudly (DESIGN §8); user errors are handled inside commands.
      process.stderr.write(
        `flash-sale-operator: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
      );
      process.exitCode = 1;
    },
  );
}
