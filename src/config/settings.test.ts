import { describe, expect, it } from 'vitest';
import { loadSettings, DEFAULTS } from './settings.js';

describe('settings', () => {
  it('uses the documented defaults with an empty environment', () => {
    const s = loadSettings({});
    expect(s.port).toBe(8800);
    expect(s.host).toBe('127.0.0.1');
    expect(s.region).toBe('us-east-1');
    expect(s.accountId).toBe('000000000000');
    expect(s.maxRunningTrainingJobs).toBe(DEFAULTS.maxRunningTrainingJobs);
    expect(Object.isFrozen(s)).toBe(true);
  });

  it('fails naming the variable when a value is bad', () => {
    expect(() => loadSettings({ APIARY_PORT: 'eighty' })).toThrow(/APIARY_PORT='eighty'/);
    expect(() => loadSettings({ APIARY_ACCOUNT_ID: '12' })).toThrow(/APIARY_ACCOUNT_ID/);
    expect(() => loadSettings({ APIARY_SANDBOX: 'docker' })).toThrow(
      /APIARY_SANDBOX='docker': expected one of auto, bwrap, none/,
    );
    expect(() => loadSettings({ APIARY_ROOT_ACCESS_KEY_ID: 'AKIAEXAMPLEEXAMPLE' })).toThrow(
      /must be set together/,
    );
  });

  it('serves endpoints in process by default and reads the Kubernetes hosting settings', () => {
    const d = loadSettings({});
    expect(d.hosting).toBe('local');
    expect(d.k8s.serviceUrl).toBe('http://{service}.{namespace}.svc.cluster.local:8080');
    const s = loadSettings({
      APIARY_HOSTING: 'kubernetes',
      APIARY_K8S_SERVICE_URL: 'http://gw/{namespace}/{service}',
      APIARY_K8S_ENDPOINT_READY_TIMEOUT_SECONDS: '60',
    });
    expect([s.hosting, s.k8s.serviceUrl, s.k8s.endpointReadyTimeoutSeconds]).toEqual([
      'kubernetes',
      'http://gw/{namespace}/{service}',
      60,
    ]);
    expect(() => loadSettings({ APIARY_HOSTING: 'k8s' })).toThrow(
      /APIARY_HOSTING='k8s': expected one of local, kubernetes/,
    );
  });

  it('keeps object bytes on the local disk by default and reads the external blob store settings', () => {
    expect(loadSettings({}).blobStore).toEqual({ kind: 'fs' });
    expect(
      loadSettings({
        APIARY_BLOB_STORE: 's3://my-bucket/apiary/blobs',
        APIARY_BLOB_S3_ENDPOINT: 'http://127.0.0.1:7070',
        APIARY_BLOB_S3_ACCESS_KEY_ID: 'key',
        APIARY_BLOB_S3_SECRET_ACCESS_KEY: 'secret',
      }).blobStore,
    ).toEqual({
      kind: 's3',
      bucket: 'my-bucket',
      prefix: 'apiary/blobs/',
      endpoint: 'http://127.0.0.1:7070',
      region: 'us-east-1',
      accessKeyId: 'key',
      secretAccessKey: 'secret',
    });
    expect(
      loadSettings({ APIARY_BLOB_STORE: 's3://b12', APIARY_BLOB_S3_REGION: 'eu-west-1' }).blobStore,
    ).toMatchObject({
      bucket: 'b12',
      prefix: '',
      endpoint: undefined,
      region: 'eu-west-1',
      accessKeyId: undefined,
    });
  });

  it('fails naming the APIARY_BLOB_* variable when a value is bad', () => {
    expect(() => loadSettings({ APIARY_BLOB_STORE: 'gs://bucket' })).toThrow(
      /APIARY_BLOB_STORE='gs:\/\/bucket': expected 'fs' or s3:\/\/BUCKET\/PREFIX/,
    );
    expect(() => loadSettings({ APIARY_BLOB_STORE: 's3://Bad_Bucket/x' })).toThrow(
      /APIARY_BLOB_STORE/,
    );
    expect(() =>
      loadSettings({ APIARY_BLOB_STORE: 's3://bucket', APIARY_BLOB_S3_ENDPOINT: 'localhost:7070' }),
    ).toThrow(/APIARY_BLOB_S3_ENDPOINT='localhost:7070': expected an http/);
    expect(() =>
      loadSettings({ APIARY_BLOB_STORE: 's3://bucket', APIARY_BLOB_S3_REGION: 'moon' }),
    ).toThrow(/APIARY_BLOB_S3_REGION='moon'/);
    expect(() =>
      loadSettings({ APIARY_BLOB_STORE: 's3://bucket', APIARY_BLOB_S3_ACCESS_KEY_ID: 'key' }),
    ).toThrow(
      /APIARY_BLOB_S3_ACCESS_KEY_ID and APIARY_BLOB_S3_SECRET_ACCESS_KEY must be set together/,
    );
    expect(() => loadSettings({ APIARY_BLOB_S3_ENDPOINT: 'http://127.0.0.1:7070' })).toThrow(
      /APIARY_BLOB_S3_ENDPOINT is set but APIARY_BLOB_STORE is not s3:\/\/BUCKET\/PREFIX/,
    );
  });
});
