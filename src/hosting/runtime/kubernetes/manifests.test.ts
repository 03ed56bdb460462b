import { describe, expect, it } from 'vitest';
import { variantObjectName, variantObjects } from './manifests.js';

describe('variantObjects', () => {
  const input = {
    endpoint: 'Bees-Endpoint',
    variant: 'AllTraffic',
    fleet: 'a1b2',
    namespace: 'ml',
    serviceAccount: 'apiary-serving',
    image: 'apiary-object-detection:1',
    fetcherImage: 'apiary:1',
    imagePullPolicy: 'IfNotPresent' as const,
    modelUrl: 'http://apiary:8800/models/m.tar.gz?X-Amz-Signature=abc',
    environment: { K: 'V' },
    replicas: 3,
    resources: { cpu: '8', memory: '61Gi', gpu: 1 },
  };

  it('names the Deployment and the Service alike, a DNS-1035 label of at most 63 characters', () => {
    expect(variantObjectName('Bees-Endpoint', 'AllTraffic', 'a1b2')).toBe(
      'ep-bees-endpoint-alltraffic-a1b2',
    );
    const long = variantObjectName('E'.repeat(63), 'V'.repeat(63), 'ffff');
    expect(long.length).toBeLessThanOrEqual(63);
    expect(long).toMatch(/^[a-z]([-a-z0-9]*[a-z0-9])?$/);
  });

  it('builds the serving contract: replicas, serve on 8080, /ping readiness, model in /opt/ml/model, GPUs', () => {
    const { deployment, service } = variantObjects(input);
    expect(deployment.spec!.replicas).toBe(3);
    const pod = deployment.spec!.template.spec!;
    expect(pod.serviceAccountName).toBe('apiary-serving');
    const c = pod.containers[0]!;
    expect(c.args).toEqual(['serve']);
    expect(c.readinessProbe!.httpGet).toEqual({ path: '/ping', port: 8080 });
    expect(c.resources).toEqual({
      requests: { cpu: '8', memory: '61Gi', 'nvidia.com/gpu': '1' },
      limits: { memory: '61Gi', 'nvidia.com/gpu': '1' },
    });
    expect(c.env).toContainEqual({ name: 'K', value: 'V' });
    expect(pod.initContainers![0]!.env).toEqual([
      { name: 'APIARY_MODEL_URL', value: input.modelUrl },
    ]);
    expect(service.metadata!.name).toBe(deployment.metadata!.name);
    expect(service.spec!.selector).toEqual(deployment.spec!.selector!.matchLabels);
    expect(deployment.spec!.template.metadata!.labels).toMatchObject(
      deployment.spec!.selector!.matchLabels!,
    );
  });
});
