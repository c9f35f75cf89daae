/** The flag reader every sub-command uses: the forms users type, and mistakes named in the same words. */
import { describe, expect, it } from 'vitest';
import { parseOptions, UsageError } from '../../src/cli/command.js';

const spec = {
  filename: { type: 'string', short: 'f', multiple: true },
  namespace: { type: 'string', short: 'n' },
  json: { type: 'boolean' },
} as const;

describe('parseOptions', () => {
  it('reads -f FILE, -fFILE, --filename=FILE and --filename FILE, in order, and repeats', () => {
    expect(parseOptions(['-f', 'a', '-fb', '--filename=c', '--filename', 'd', '--json'], spec)).toEqual({
      filename: ['a', 'b', 'c', 'd'],
      json: true,
    });
  });

  it('keeps the last value of a flag given twice, and takes the next argument as the value whatever it is', () => {
    expect(parseOptions(['-n', 'x', '-n', 'y'], spec)).toEqual({ namespace: 'y' });
    expect(parseOptions(['-f', '-'], spec)).toEqual({ filename: ['-'] });
  });

  it.each([
    [['--bogus'], "unknown argument '--bogus'"],
    [['-x'], "unknown argument '-x'"],
    [['-f'], '-f needs a value'],
    [['--namespace='], '--namespace needs a value'],
    [['--json=yes'], '--json takes no value'],
    [['stray'], "unexpected argument 'stray'"],
  ])('%j is a usage error: %s', (argv, message) => {
    expect(() => parseOptions(argv, spec)).toThrow(UsageError);
    expect(() => parseOptions(argv, spec)).toThrow(message);
  });
});
