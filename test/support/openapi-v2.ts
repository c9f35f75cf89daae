/**
 * /openapi/v2 as kubectl up to 1.28 reads it: the protobuf encoding of gnostic's openapi_v2.Document
 * (field numbers from gnostic-models' OpenAPIv2.proto), holding one PATCH operation per served kind with the
 * `fieldValidation`, `dryRun`, `fieldManager` and `force` query parameters and the
 * `x-kubernetes-group-version-kind` extension. That is what kubectl's query-parameter verifier looks for
 * before it relies on server-side field validation. No definitions are served (so kubectl's client-side
 * schema validation and `kubectl explain` find no models), and JSON is served when asked for.
 */
import type { ResourceType } from './resources.js';

export const OPENAPI_V2_PROTOBUF = 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf';

function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 127) {
    out.push((n & 127) | 128);
    n >>>= 7;
  }
  out.push(n);
  return out;
}

/** A length-delimited field (strings and messages; wire type 2). */
function field(no: number, payload: Uint8Array | string): Uint8Array {
  const bytes = typeof payload === 'string' ? new TextEncoder().encode(payload) : payload;
  return concat([Uint8Array.from([...varint((no << 3) | 2), ...varint(bytes.length)]), bytes]);
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const message = (...fields: Uint8Array[]) => concat(fields);

/** NamedAny{name, value: Any{yaml}} */
function extension(name: string, yaml: string): Uint8Array {
  return message(field(1, name), field(2, message(field(2, yaml))));
}

/** ParametersItem{parameter: Parameter{non_body_parameter: NonBodyParameter{query_parameter_sub_schema}}} */
function queryParameter(name: string, type: string): Uint8Array {
  const sub = message(field(2, 'query'), field(4, name), field(6, type));
  return message(field(1, message(field(2, message(field(3, sub))))));
}

function operation(t: ResourceType): Uint8Array {
  const gvk = `group: "${t.group}"\nkind: ${t.kind}\nversion: ${t.version}\n`;
  return message(
    field(5, `patch${t.kind}`),
    field(7, 'application/apply-patch+yaml'),
    ...[
      ['dryRun', 'string'],
      ['fieldManager', 'string'],
      ['fieldValidation', 'string'],
      ['force', 'boolean'],
    ].map(([n, ty]) => field(8, queryParameter(n!, ty!))),
    field(13, extension('x-kubernetes-action', 'patch\n')),
    field(13, extension('x-kubernetes-group-version-kind', gvk)),
  );
}

function pathOf(t: ResourceType): string {
  const base = t.group ? `/apis/${t.group}/${t.version}` : `/api/${t.version}`;
  return `${base}${t.namespaced ? '/namespaces/{namespace}' : ''}/${t.plural}/{name}`;
}

/** The protobuf document (Document{swagger, info, paths}). */
export function openApiV2Protobuf(types: ResourceType[], serverMinor: string): Uint8Array {
  const paths = types.map((t) =>
    field(2, message(field(1, pathOf(t)), field(2, message(field(8, operation(t)))))),
  );
  return message(
    field(1, '2.0'),
    field(2, message(field(1, 'Kubernetes'), field(2, `v${serverMinor}.0-fake`))),
    field(8, concat(paths)),
  );
}

/** The same document as JSON (for clients that ask for application/json). */
export function openApiV2Json(types: ResourceType[], serverMinor: string): Record<string, unknown> {
  const param = (name: string, type: string) => ({ name, in: 'query', type, uniqueItems: true });
  return {
    swagger: '2.0',
    info: { title: 'Kubernetes', version: `v${serverMinor}.0-fake` },
    paths: Object.fromEntries(
      types.map((t) => [
        pathOf(t),
        {
          patch: {
            operationId: `patch${t.kind}`,
            parameters: [
              param('dryRun', 'string'),
              param('fieldManager', 'string'),
              param('fieldValidation', 'string'),
              param('force', 'boolean'),
            ],
            'x-kubernetes-action': 'patch',
            'x-kubernetes-group-version-kind': { group: t.group, version: t.version, kind: t.kind },
          },
        },
      ]),
    ),
    definitions: {},
  };
}
