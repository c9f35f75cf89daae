/**
 * The Kubernetes protobuf encoding (application/vnd.kubernetes.protobuf), decoded for the kinds kubectl
 * sends that way. kubectl 1.31 and newer send imperative creates (`kubectl create namespace|configmap|
 * secret|serviceaccount`, `kubectl auth can-i`) as protobuf and do not retry as JSON on a 415; they accept a
 * JSON answer (their Accept header lists application/json too), so only request bodies need decoding.
 *
 * A body is the 4-byte magic "k8s\0" and a runtime.Unknown message: typeMeta {apiVersion, kind}, raw (the
 * object's own message), contentEncoding, contentType. Field numbers are those of k8s.io/api's
 * generated.proto. Empty strings, zero numbers and empty messages decode to absent fields, as JSON omits them.
 */
import { ApiError } from './errors.js';

const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

export const PROTOBUF = 'application/vnd.kubernetes.protobuf';

export function isProtobuf(contentType: string): boolean {
  return contentType.split(';')[0]!.trim() === PROTOBUF;
}

type Field =
  | { name: string; type: 'string' | 'bool' | 'int' | 'bytes' }
  | { name: string; type: 'message'; message: Message }
  | { name: string; type: 'map'; value: 'string' | 'bytes' }
  | { name: string; type: 'time' };
type Message = Record<number, Field & { repeated?: boolean }>;

const OWNER_REFERENCE: Message = {
  1: { name: 'kind', type: 'string' },
  3: { name: 'name', type: 'string' },
  4: { name: 'uid', type: 'string' },
  5: { name: 'apiVersion', type: 'string' },
  6: { name: 'controller', type: 'bool' },
  7: { name: 'blockOwnerDeletion', type: 'bool' },
};

const OBJECT_META: Message = {
  1: { name: 'name', type: 'string' },
  2: { name: 'generateName', type: 'string' },
  3: { name: 'namespace', type: 'string' },
  5: { name: 'uid', type: 'string' },
  6: { name: 'resourceVersion', type: 'string' },
  7: { name: 'generation', type: 'int' },
  8: { name: 'creationTimestamp', type: 'time' },
  11: { name: 'labels', type: 'map', value: 'string' },
  12: { name: 'annotations', type: 'map', value: 'string' },
  13: { name: 'ownerReferences', type: 'message', message: OWNER_REFERENCE, repeated: true },
  14: { name: 'finalizers', type: 'string', repeated: true },
};

const OBJECT_REFERENCE: Message = {
  1: { name: 'kind', type: 'string' },
  2: { name: 'namespace', type: 'string' },
  3: { name: 'name', type: 'string' },
  4: { name: 'uid', type: 'string' },
  5: { name: 'apiVersion', type: 'string' },
};

const metadata = { name: 'metadata', type: 'message', message: OBJECT_META } as const;

/** The messages of the kinds decoded, by "apiVersion/kind". */
const KINDS: Record<string, Message> = {
  'v1/Namespace': {
    1: metadata,
    2: {
      name: 'spec',
      type: 'message',
      message: { 1: { name: 'finalizers', type: 'string', repeated: true } },
    },
  },
  'v1/ConfigMap': {
    1: metadata,
    2: { name: 'data', type: 'map', value: 'string' },
    3: { name: 'binaryData', type: 'map', value: 'bytes' },
    4: { name: 'immutable', type: 'bool' },
  },
  'v1/Secret': {
    1: metadata,
    2: { name: 'data', type: 'map', value: 'bytes' },
    3: { name: 'type', type: 'string' },
    4: { name: 'stringData', type: 'map', value: 'string' },
    5: { name: 'immutable', type: 'bool' },
  },
  'v1/ServiceAccount': {
    1: metadata,
    2: { name: 'secrets', type: 'message', message: OBJECT_REFERENCE, repeated: true },
    3: {
      name: 'imagePullSecrets',
      type: 'message',
      message: { 1: { name: 'name', type: 'string' } },
      repeated: true,
    },
    4: { name: 'automountServiceAccountToken', type: 'bool' },
  },
  'authorization.k8s.io/v1/SelfSubjectAccessReview': {
    1: metadata,
    2: {
      name: 'spec',
      type: 'message',
      message: {
        1: {
          name: 'resourceAttributes',
          type: 'message',
          message: {
            1: { name: 'namespace', type: 'string' },
            2: { name: 'verb', type: 'string' },
            3: { name: 'group', type: 'string' },
            4: { name: 'version', type: 'string' },
            5: { name: 'resource', type: 'string' },
            6: { name: 'subresource', type: 'string' },
            7: { name: 'name', type: 'string' },
          },
        },
        2: {
          name: 'nonResourceAttributes',
          type: 'message',
          message: { 1: { name: 'path', type: 'string' }, 2: { name: 'verb', type: 'string' } },
        },
      },
    },
  },
};

class Reader {
  pos = 0;
  constructor(readonly buf: Buffer) {}
  done(): boolean {
    return this.pos >= this.buf.length;
  }
  varint(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      if (this.pos >= this.buf.length) throw new Error('truncated varint');
      const b = this.buf[this.pos++]!;
      result += (b & 0x7f) * 2 ** shift;
      if (!(b & 0x80)) return result;
      shift += 7;
    }
  }
  bytes(): Buffer {
    const n = this.varint();
    if (this.pos + n > this.buf.length) throw new Error('truncated length-delimited field');
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) this.bytes();
    else if (wire === 5) this.pos += 4;
    else throw new Error(`unsupported wire type ${wire}`);
  }
}

function decodeMapEntry(buf: Buffer, value: 'string' | 'bytes'): [string, string] {
  const r = new Reader(buf);
  let k = '';
  let v = '';
  while (!r.done()) {
    const tag = r.varint();
    const field = Math.floor(tag / 8);
    if (field === 1) k = r.bytes().toString('utf8');
    else if (field === 2) {
      const b = r.bytes();
      v = value === 'bytes' ? b.toString('base64') : b.toString('utf8');
    } else r.skip(tag & 7);
  }
  return [k, v];
}

function decodeMessage(buf: Buffer, message: Message): Record<string, unknown> {
  const r = new Reader(buf);
  const out: Record<string, unknown> = {};
  while (!r.done()) {
    const tag = r.varint();
    const f = message[Math.floor(tag / 8)];
    if (!f) {
      r.skip(tag & 7);
      continue;
    }
    let v: unknown;
    switch (f.type) {
      case 'string':
        v = r.bytes().toString('utf8');
        break;
      case 'bytes':
        v = r.bytes().toString('base64');
        break;
      case 'bool':
        v = r.varint() !== 0;
        break;
      case 'int':
        v = r.varint();
        break;
      case 'time': {
        const t = decodeMessage(r.bytes(), { 1: { name: 'seconds', type: 'int' } });
        v =
          typeof t.seconds === 'number'
            ? new Date(t.seconds * 1000).toISOString().replace('.000Z', 'Z')
            : undefined;
        break;
      }
      case 'message':
        v = decodeMessage(r.bytes(), f.message);
        break;
      case 'map': {
        const [k, val] = decodeMapEntry(r.bytes(), f.value);
        out[f.name] = { ...((out[f.name] as Record<string, string>) ?? {}), [k]: val };
        continue;
      }
    }
    if (f.repeated) {
      const list = (out[f.name] as unknown[] | undefined) ?? [];
      list.push(v);
      out[f.name] = list;
    } else if (
      v !== '' &&
      v !== 0 &&
      v !== undefined &&
      !(typeof v === 'object' && !Object.keys(v as object).length)
    )
      out[f.name] = v;
  }
  return out;
}

function unsupported(what: string): ApiError {
  return new ApiError(
    415,
    'UnsupportedMediaType',
    `the fake API server decodes protobuf only for ${Object.keys(KINDS).join(', ')}; ${what}: send JSON instead`,
  );
}

/** The JSON form of a protobuf-encoded object; 415 for kinds the stand-in cannot decode. */
export function decodeProtobufObject(body: Buffer): Record<string, unknown> {
  if (body.length < 4 || !body.subarray(0, 4).equals(MAGIC))
    throw new ApiError(
      400,
      'BadRequest',
      'the body of the request was in an unknown format: protobuf without the "k8s\\0" prefix',
    );
  let unknown: Record<string, unknown>;
  let raw: Buffer | undefined;
  try {
    const r = new Reader(body.subarray(4));
    unknown = {};
    while (!r.done()) {
      const tag = r.varint();
      const field = Math.floor(tag / 8);
      if (field === 1)
        unknown.typeMeta = decodeMessage(r.bytes(), {
          1: { name: 'apiVersion', type: 'string' },
          2: { name: 'kind', type: 'string' },
        });
      else if (field === 2) raw = r.bytes();
      else r.skip(tag & 7);
    }
  } catch (e) {
    throw new ApiError(
      400,
      'BadRequest',
      `the body of the request could not be decoded: ${(e as Error).message}`,
    );
  }
  const tm = (unknown.typeMeta ?? {}) as { apiVersion?: string; kind?: string };
  const message = KINDS[`${tm.apiVersion}/${tm.kind}`];
  if (!message) throw unsupported(`got ${tm.apiVersion ?? '?'} ${tm.kind ?? '?'}`);
  try {
    return { apiVersion: tm.apiVersion, kind: tm.kind, ...decodeMessage(raw ?? Buffer.alloc(0), message) };
  } catch (e) {
    throw new ApiError(
      400,
      'BadRequest',
      `the body of the request could not be decoded: ${(e as Error).message}`,
    );
  }
}
