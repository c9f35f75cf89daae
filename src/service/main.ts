#!/usr/bin/env node
// flash-sale-api's entry: the Node.js check runs before the commands and their dependencies are loaded.
import { guardEntry } from '../entry-guard.js';

if (guardEntry('flash-sale-api')) {
  const { main, log } = await import('./commands.js');
  main(process.argv.slice(2)).then(
    (code) => {
      process.exit(code);
    },
    (err: unknown) => {
      log(err instanceof Error ? (err.stack ?? err.message) : String(err));
      process.exit(1);
    },
  );
}
