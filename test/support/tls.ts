/**
 * The stand-in serves HTTPS, because kubectl (client-go's clientcmd) sends no credentials at all to a plain
 * http:// server, and the stand-in authenticates every request. Below are a test-only CA and a server
 * certificate for 127.0.0.1, ::1 and localhost signed by it (valid until 2126; the CA's key was thrown
 * away, so nothing else can be signed by it). These are test fixtures, not secrets. Kubeconfigs carry the CA, so client-node and kubectl verify the server; raw requests in tests go
 * through `request` below, which trusts the same CA.
 */
import { request as httpsRequest } from 'node:https';

const CA = `-----BEGIN CERTIFICATE-----
MIIBqjCCAU+gAwIBAgIUawU9IWeUbJ8uwftmBfEYi12NfrMwCgYIKoZIzj0EAwIw
ITEfMB0GA1UEAwwWZmFrZS1hcGlzZXJ2ZXIgdGVzdCBDQTAgFw0yNjEyMDEyMDE2
NDVaGA8yMTI2MTEwNzIwMTY0NVowITEfMB0GA1UEAwwWZmFrZS1hcGlzZXJ2ZXIg
dGVzdCBDQTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABO8z//XD9zCLRsbpp8hj
Uo79KPY3dS1ZKplo5YaQa20nAlgSf1Wr5EtL/8ul0cJAZX7CVyMQA1KpEcXUuD0I
ldWjYzBhMB0GA1UdDgQWBBSiJzXV9UyJPHpUrZBOH2X+Edz21DAfBgNVHSMEGDAW
gBSiJzXV9UyJPHpUrZBOH2X+Edz21DAPBgNVHRMBAf8EBTADAQH/MA4GA1UdDwEB
/wQEAwIBBjAKBggqhkjOPQQDAgNJADBGAiEA27Xx8JDK9c0N5QdAU8alNqIMCtCE
1B5u+AGlW86qm24CIQCtUQM9QhXYEGEvjn41O72nWTUh/KLl0raQi5xnCTTSwg==
-----END CERTIFICATE-----
`;

const SERVER_CERT = `-----BEGIN CERTIFICATE-----
MIIB4zCCAYmgAwIBAgIUHHdDzGWl6ccZOmD0QpMwG88+b2UwCgYIKoZIzj0EAwIw
ITEfMB0GA1UEAwwWZmFrZS1hcGlzZXJ2ZXIgdGVzdCBDQTAgFw0yNjEyMDEyMDE2
NDVaGA8yMTI2MTEwNzIwMTY0NVowGTEXMBUGA1UEAwwOZmFrZS1hcGlzZXJ2ZXIw
WTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAATpj1W3KESOgh6PFqWjL+Z1NcdIXCz9
m0rVpU03BMIyQ49n/tkQhv0KKnm/iy4hJA08HQS6jGoqQ7UncuuZnj/vo4GkMIGh
MCwGA1UdEQQlMCOHBH8AAAGHEAAAAAAAAAAAAAAAAAAAAAGCCWxvY2FsaG9zdDAM
BgNVHRMBAf8EAjAAMA4GA1UdDwEB/wQEAwIFoDATBgNVHSUEDDAKBggrBgEFBQcD
ATAdBgNVHQ4EFgQUDbB6JPVGmV2KQTcWpFfzqN/ebcQwHwYDVR0jBBgwFoAUoic1
1fVMiTx6VK2QTh9l/hHc9tQwCgYIKoZIzj0EAwIDSAAwRQIgQYSIma/8TSMi5Fm1
KW6wFqzFrSs3IMJQkNmmWHv1bMkCIQCuGNxu/c9NHwhVjK5IdDF5G0iv0ffJIrP+
CuiXgt9zOA==
-----END CERTIFICATE-----
`;

const SERVER_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgT3UP7gwjWpRsjqn3
ScrfMOtcgrkL3EqQOMjK8ZuLO4KhRANCAATpj1W3KESOgh6PFqWjL+Z1NcdIXCz9
m0rVpU03BMIyQ49n/tkQhv0KKnm/iy4hJA08HQS6jGoqQ7UncuuZnj/v
-----END PRIVATE KEY-----
`;

export const TLS = { ca: Buffer.from(CA), cert: Buffer.from(SERVER_CERT), key: Buffer.from(SERVER_KEY) };

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** One HTTPS request to the stand-in (trusting its CA). */
export function request(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<RawResponse> {
  const body = init.body === undefined ? undefined : Buffer.from(init.body);
  // Node sends a GET/DELETE body without framing unless told its length.
  const headers = { ...init.headers, ...(body ? { 'Content-Length': String(body.length) } : {}) };
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { method: init.method ?? 'GET', headers, ca: TLS.ca }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}
