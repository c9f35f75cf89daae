import type { Command } from '../command.js';
import { backupCommand } from './backup.js';
import { checkCommand } from './check.js';
import { playgroundCommand } from './playground.js';
import { renderCommand } from './render.js';
import { runCommand } from './run.js';
import { validateCommand } from './validate.js';

/** Every sub-command, in the order `--help` lists them. Each lives in its own module. */
export const commands: Command[] = [
  playgroundCommand,
  validateCommand,
  renderCommand,
  runCommand,
  checkCommand,
  backupCommand,
];
