/**
 * Generated secrets: created once per stack, random, stored in the Secret `<stack>-operator-secrets` (owned by
 * the stack), and read back on every reconcile, so render's inputs stay stable and render stays pure.
 */
import { randomBytes } from 'node:crypto';
import { STACK_SECRET_KEYS, type StackSecrets } from '../render/common.js';

export function generatedSecretName(stackName: string): string {
  return `${stackName}-operator-secrets`;
}

/** URL-safe random passwords; the Erlang cookie is upper-case letters as RabbitMQ's own generator makes. */
export function generateStackSecrets(random: (n: number) => Buffer = randomBytes): StackSecrets {
  const password = () => random(24).toString('base64url');
  const cookie = [...random(32)].map((b) => String.fromCharCode(65 + (b % 26))).join('');
  return {
    postgresPassword: password(),
    pgbouncerAdminPassword: password(),
    redisPassword: password(),
    rabbitmqPassword: password(),
    erlangCookie: cookie,
    apiAdminToken: password(),
  };
}

export function encodeSecretData(values: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(values).map(([k, v]) => [k, Buffer.from(v, 'utf8').toString('base64')]),
  );
}

export function decodeSecretData(data: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (data && typeof data === 'object') {
    for (const [k, v] of Object.entries(data as Record<string, unknown>)) {
      if (typeof v === 'string') out[k] = Buffer.from(v, 'base64').toString('utf8');
    }
  }
  return out;
}

/** The stored secrets, or undefined when a key is missing (then the Secret is completed, never rotated). */
export function stackSecretsFrom(data: Record<string, string>): StackSecrets | undefined {
  for (const key of STACK_SECRET_KEYS) if (!data[key]) return undefined;
  return Object.fromEntries(STACK_SECRET_KEYS.map((k) => [k, data[k]])) as unknown as StackSecrets;
}

/**
 * A function that blanks every generated secret value (as text and as base64) in a message, for messages that
 * come from elsewhere (the API server echoes values in some errors) before they reach status, Events or logs.
 */
export function secretRedactor(secrets: StackSecrets | undefined): (message: string) => string {
  const values = secrets
    ? STACK_SECRET_KEYS.map((k) => secrets[k])
        .filter((v) => v.length >= 4)
        .flatMap((v) => [v, Buffer.from(v, 'utf8').toString('base64')])
    : [];
  return (message) => values.reduce((m, v) => m.split(v).join('[redacted]'), message);
}
