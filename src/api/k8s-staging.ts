import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { pipeline } from 'node:stream/promises';
import { KubernetesExecutor, type Training } from '../training/index.js';
import { forwardRequest, isForwarded } from './forward.js';

/**
 * The routes a Kubernetes training pod calls (APIARY_EXECUTOR=kubernetes): its init step fetches
 * the staged `/opt/ml` (GET /_apiary/k8s/stage/<token>), its upload sidecar sends `model/` and
 * `output/` back (PUT /_apiary/k8s/upload/<token>). Pods carry no credentials: the signed,
 * expiring token in the URL names the job and attempt and grants this one route. Any replica
 * verifies it; the replica that runs the job answers (others forward the request there).
 */
export function registerKubernetesStaging(
  app: FastifyInstance,
  deps: { training: Training; maxUploadBytes: number; replicaId: string; now: () => number },
): void {
  const executor = deps.training.executor;
  if (!(executor instanceof KubernetesExecutor)) return;
  const refuse = (reply: FastifyReply, status: number, message: string) =>
    reply
      .code(status)
      .type('application/json')
      .send({ error: { code: status === 404 ? 'NotFound' : 'Forbidden', message } });

  const toOwner = async (
    req: FastifyRequest,
    reply: FastifyReply,
    jobName: string,
  ): Promise<boolean> => {
    if (isForwarded(req)) return false;
    const owner = await deps.training.owner(jobName);
    if (owner.kind !== 'peer') return false;
    if (
      !(await forwardRequest(req, reply, owner.url, req.raw, {
        replicaId: deps.replicaId,
        timeoutMs: 3_600_000,
      }))
    ) {
      void refuse(
        reply,
        503,
        'the Apiary replica that runs this training job did not answer; retry',
      );
    }
    return true;
  };

  app.get<{ Params: { token: string } }>('/_apiary/k8s/stage/:token', async (req, reply) => {
    const t = await executor.verify(req.params.token, 'stage', deps.now());
    if (!t) return refuse(reply, 403, 'the staging URL is not valid or has expired');
    if (await toOwner(req, reply, t.j)) return reply;
    const archive = executor.stagedArchive(t);
    if (!archive)
      return refuse(reply, 404, `training job ${t.j} (attempt ${t.a}) is not being staged here`);
    reply.hijack();
    reply.raw.writeHead(200, { 'content-type': 'application/x-tar', 'cache-control': 'no-store' });
    await pipeline(archive, reply.raw).catch(() => reply.raw.destroy());
    return reply;
  });

  app.put<{ Params: { token: string } }>('/_apiary/k8s/upload/:token', async (req, reply) => {
    const t = await executor.verify(req.params.token, 'upload', deps.now());
    if (!t) return refuse(reply, 403, 'the upload URL is not valid or has expired');
    if (await toOwner(req, reply, t.j)) return reply;
    try {
      const ok = await executor.receiveOutputs(t, req.raw, deps.maxUploadBytes);
      if (!ok)
        return refuse(
          reply,
          404,
          `training job ${t.j} (attempt ${t.a}) is not waiting for outputs here`,
        );
    } catch (err) {
      return reply
        .code(400)
        .type('application/json')
        .send({
          error: {
            code: 'BadRequest',
            message: `the outputs could not be read: ${(err as Error).message}`,
          },
        });
    }
    return reply.code(204).send();
  });
}
