import type { KubeConfig } from '@kubernetes/client-node';
import { kubernetesClient } from '../../../shared/lazy-modules.js';

/** What the executor does in its namespace: [API group, resource, verb, subresource]. */
const NEEDED: readonly (readonly [string, string, string, string?])[] = [
  ['batch', 'jobs', 'create'],
  ['batch', 'jobs', 'delete'],
  ['batch', 'jobs', 'watch'],
  ['', 'pods', 'watch'],
  ['', 'pods', 'get', 'log'],
  ['', 'services', 'create'],
];

/**
 * Checks at start-up that Apiary may create Jobs and read pods and their logs in `namespace`
 * (one SelfSubjectAccessReview per permission). @throws naming the API that did not answer, or
 * every missing permission and how to grant it.
 */
export async function checkPermissions(kc: KubeConfig, namespace: string): Promise<void> {
  const authz = kc.makeApiClient(kubernetesClient().AuthorizationV1Api);
  const missing: string[] = [];
  for (const [group, resource, verb, subresource] of NEEDED) {
    let review;
    try {
      review = await authz.createSelfSubjectAccessReview({
        body: {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SelfSubjectAccessReview',
          spec: {
            resourceAttributes: {
              namespace,
              group,
              resource,
              verb,
              ...(subresource ? { subresource } : {}),
            },
          },
        },
      });
    } catch (err) {
      throw new Error(
        `APIARY_EXECUTOR=kubernetes: the Kubernetes API at ${kc.getCurrentCluster()?.server ?? 'in-cluster'} did not answer (${(err as Error).message})`,
        { cause: err },
      );
    }
    if (!review.status?.allowed)
      missing.push(
        `${verb} ${group ? `${group}/` : ''}${resource}${subresource ? `/${subresource}` : ''}`,
      );
  }
  if (missing.length) {
    throw new Error(
      `APIARY_EXECUTOR=kubernetes: Apiary's Kubernetes identity may not ${missing.join(', ')} in namespace ` +
        `${namespace}; grant them with a Role and RoleBinding (deploy/kubernetes/rbac.yaml lists them)`,
    );
  }
}
