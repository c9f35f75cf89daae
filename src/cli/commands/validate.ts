import { readStackFiles } from '../stack-files.js';
import { parseOptions, UsageError, type Command } from '../command.js';

const usage = `Usage: flash-sale-operator validate -f FILE [-f FILE...]

Checks FlashSaleStack manifests without a cluster: structure, types and ranges, quantities, cron
schedules, CIDRs, image references, and the flash-sale safety rules (eviction policy, pooling settings).
Every problem is reported, one per line on stderr: FILE: field.path: message.

Options:
  -f, --filename FILE   YAML file with one or more FlashSaleStack documents (repeatable; - for stdin)
  -h, --help            Show this help

Exit status: 0 when every document is valid, 1 when any problem was found, 2 on usage errors.
`;

function parseArgs(argv: string[]): string[] {
  const files =
    parseOptions(argv, { filename: { type: 'string', short: 'f', multiple: true } }).filename ?? [];
  if (files.length === 0) throw new UsageError('give at least one file with -f FILE');
  return files;
}

export const validateCommand: Command = {
  name: 'validate',
  summary: 'Check FlashSaleStack manifests offline and list every problem',
  usage,
  async run(argv, io) {
    const files = parseArgs(argv);
    const read = readStackFiles(files);
    const lines = [...read.errors, ...read.stacks.flatMap((s) => s.errors)];
    for (const line of lines) io.stderr(`${line}\n`);
    const problems = lines.length;
    const stacks = read.stacks.length;
    if (problems > 0) return 1;
    io.stdout(`${stacks} FlashSaleStack document(s) in ${files.length} file(s) valid\n`);
    return 0;
  },
};
