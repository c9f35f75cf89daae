/** The protobuf request bodies kubectl 1.31+ sends, decoded into the objects they encode. */
import { describe, expect, it } from 'vitest';
import { decodeProtobufObject } from '../support/protobuf.js';
import { http, start } from './helpers.js';

// What kubectl 1.33 sent for `kubectl create namespace x` and `kubectl create configmap cm --from-literal=a=b`.
const NAMESPACE_X = Buffer.from(
  'k8s\u0000\n\u000f\n\u0002v1\u0012\tNamespace\u0012\u0019\n\u0011\n\u0001x\u0012\u0000\u001a\u0000"\u0000*\u00002\u00008\u0000B\u0000\u0012\u0000\u001a\u0002\n\u0000\u001a\u0000"\u0000',
  'latin1',
);
const CONFIGMAP_CM = Buffer.from(
  'k8s\u0000\n\u000f\n\u0002v1\u0012\tConfigMap\u0012\u001c\n\u0012\n\u0002cm\u0012\u0000\u001a\u0000"\u0000*\u00002\u00008\u0000B\u0000\u0012\u0006\n\u0001a\u0012\u0001b\u001a\u0000"\u0000',
  'latin1',
);

describe('protobuf request bodies', () => {
  it('decode to the JSON form, without the empty fields protobuf always carries', () => {
    expect(decodeProtobufObject(NAMESPACE_X)).toEqual({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'x' },
    });
    expect(decodeProtobufObject(CONFIGMAP_CM)).toEqual({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'cm' },
      data: { a: 'b' },
    });
  });

  it('are accepted by create, and other kinds get a 415 that says to send JSON', async () => {
    const { srv } = await start();
    try {
      const r = await http(
        srv,
        'POST',
        '/api/v1/namespaces',
        NAMESPACE_X.toString('latin1'),
        'application/vnd.kubernetes.protobuf',
      );
      expect(r.status).toBe(201);
      expect(r.json.metadata.name).toBe('x');
      // typeMeta {apiVersion: v1, kind: Pod}, no raw object
      const pod = Buffer.from('k8s\u0000\n\t\n\u0002v1\u0012\u0003Pod', 'latin1');
      const refused = await http(
        srv,
        'POST',
        '/api/v1/namespaces/default/pods',
        pod.toString('latin1'),
        'application/vnd.kubernetes.protobuf',
      );
      expect(refused.status).toBe(415);
      expect(refused.json.message).toMatch(/decodes protobuf only for .*v1\/Namespace.*send JSON instead/);
    } finally {
      await srv.stop();
    }
  });
});
