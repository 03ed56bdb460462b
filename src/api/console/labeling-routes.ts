import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Identity, User } from '../../identity/index.js';
import {
  sniffImageType,
  TaskError,
  type Labeling,
  type TaskView,
  type Worker,
} from '../../labeling/index.js';
import type { InstructionBlock } from '../../labeling/index.js';
import { ObjectTooLargeToBufferError, type ObjectStore } from '../../objects/index.js';
import { sendApiError, sendConsoleError } from './errors.js';
import { BadJsonError, currentUser, readJsonBody, requireUser, sendApiJson } from './http.js';

/**
 * The worker portal's JSON routes and the labeling review routes, under /_apiary/api/labeling/.
 * Workers (and admins) see only the jobs of their teams and only tasks they hold; images come
 * from short-lived signed URLs bound to the user. Review routes are admin-only.
 */
export function registerLabelingRoutes(
  app: FastifyInstance,
  deps: { labeling: Labeling; identity: Identity; objects: ObjectStore },
): void {
  const { labeling } = deps;
  const member = requireUser(deps.identity, ['worker', 'admin']);
  const admin = requireUser(deps.identity, ['admin']);
  const P = '/_apiary/api/labeling';

  const worker = (u: User): Worker => ({
    id: u.id,
    username: u.username,
    role: u.role,
    groups: u.groups,
  });
  const imageUrl = (token: string) => `${P}/images/${token}`;

  const taskJson = async (u: User, t: TaskView) => {
    const blocks = async (list: readonly InstructionBlock[]) =>
      Promise.all(
        list.map(async (b) =>
          b.kind === 'image' && b.src?.startsWith('s3://')
            ? { ...b, src: imageUrl(await labeling.imageToken(worker(u), { s: b.src })) }
            : b,
        ),
      );
    const { imageToken, ...rest } = t;
    return {
      ...rest,
      imageUrl: imageUrl(imageToken),
      shortInstructions: await blocks(t.shortInstructions),
      fullInstructions: await blocks(t.fullInstructions),
    };
  };

  // TaskError (a stale save's 409 carries currentVersion), AppError, BadJsonError: the console's catalog.
  const fail = (reply: FastifyReply, err: unknown): FastifyReply => sendConsoleError(reply, err);

  const body = async (req: Parameters<typeof readJsonBody>[0]) => {
    const b = await readJsonBody(req, 2 * 1024 * 1024);
    if (!b || typeof b !== 'object' || Array.isArray(b))
      throw new BadJsonError('The request body must be a JSON object');
    return b as Record<string, unknown>;
  };
  const versionOf = (b: Record<string, unknown>): number => {
    if (!Number.isInteger(b.version))
      throw new TaskError('Invalid', 'Send the task "version" you loaded');
    return b.version as number;
  };

  app.get(`${P}/jobs`, { preHandler: member }, async (req, reply) => {
    const u = currentUser(req);
    const jobs = await labeling.jobsForWorker(worker(u));
    return sendApiJson(reply, {
      jobs: jobs.map(({ job, available, claimedTaskId }) => ({
        name: job.name,
        title: job.spec.taskTitle,
        description: job.spec.taskDescription,
        taskType: job.spec.taskType,
        labels: job.spec.labels,
        taskTimeLimitSeconds: job.spec.taskTimeLimitSeconds,
        available,
        claimedTaskId: claimedTaskId ?? null,
        createdAtMs: job.createdAtMs,
      })),
    });
  });

  app.post<{ Params: { job: string } }>(
    `${P}/jobs/:job/next`,
    { preHandler: member },
    async (req, reply) => {
      const u = currentUser(req);
      try {
        const t = await labeling.claimNext(worker(u), req.params.job);
        if (!t) return sendApiJson(reply, { task: null });
        return sendApiJson(reply, { task: await taskJson(u, t), serverNowMs: Date.now() });
      } catch (err) {
        return fail(reply, err);
      }
    },
  );

  app.get<{ Params: { id: string } }>(
    `${P}/tasks/:id`,
    { preHandler: member },
    async (req, reply) => {
      const u = currentUser(req);
      try {
        return sendApiJson(reply, {
          task: await taskJson(u, await labeling.getTask(worker(u), req.params.id)),
          serverNowMs: Date.now(),
        });
      } catch (err) {
        return fail(reply, err);
      }
    },
  );

  app.put<{ Params: { id: string } }>(
    `${P}/tasks/:id/draft`,
    { preHandler: member },
    async (req, reply) => {
      const u = currentUser(req);
      try {
        const b = await body(req);
        return sendApiJson(
          reply,
          await labeling.saveDraft(worker(u), req.params.id, versionOf(b), b.draft),
        );
      } catch (err) {
        return fail(reply, err);
      }
    },
  );

  app.post<{ Params: { id: string } }>(
    `${P}/tasks/:id/submit`,
    { preHandler: member },
    async (req, reply) => {
      const u = currentUser(req);
      try {
        const b = await body(req);
        const submissionId = b.submissionId;
        if (typeof submissionId !== 'string' || !/^[A-Za-z0-9-]{8,64}$/.test(submissionId)) {
          throw new TaskError(
            'Invalid',
            'Send a "submissionId" (8-64 letters, digits or dashes) that stays the same when you retry',
          );
        }
        return sendApiJson(
          reply,
          await labeling.submit(worker(u), req.params.id, versionOf(b), submissionId, b.answer),
        );
      } catch (err) {
        return fail(reply, err);
      }
    },
  );

  for (const kind of ['skip', 'decline'] as const) {
    app.post<{ Params: { id: string } }>(
      `${P}/tasks/:id/${kind}`,
      { preHandler: member },
      async (req, reply) => {
        const u = currentUser(req);
        try {
          await labeling.release(worker(u), req.params.id, kind);
          return sendApiJson(reply, {});
        } catch (err) {
          return fail(reply, err);
        }
      },
    );
  }

  /** The largest image the portal loads into memory to serve (a task image, never a whole data set). */
  const MAX_LABELING_IMAGE_BYTES = 64 * 1024 * 1024;
  app.get<{ Params: { token: string } }>(
    `${P}/images/:token`,
    { preHandler: member },
    async (req, reply) => {
      const u = currentUser(req);
      const loc = await labeling.imageFor(worker(u), req.params.token);
      const notFound = () =>
        sendApiError(reply, 'NotFound', 'No such image, or its link expired; reload the task');
      if (!loc) return notFound();
      const bytes = await deps.objects
        .getObjectBuffer(loc.bucket, loc.key, MAX_LABELING_IMAGE_BYTES)
        .catch((e: unknown) => (e instanceof ObjectTooLargeToBufferError ? e : undefined));
      if (bytes instanceof ObjectTooLargeToBufferError) {
        return sendApiError(
          reply,
          'PayloadTooLarge',
          `The image is ${bytes.size} bytes; the labeling portal shows images up to ${MAX_LABELING_IMAGE_BYTES} bytes`,
        );
      }
      if (!bytes) return notFound();
      const type = sniffImageType(bytes.subarray(0, 16));
      if (!type)
        return sendApiError(
          reply,
          'UnsupportedMediaType',
          'The object is not a JPEG, PNG, GIF or WebP image',
        );
      return reply
        .code(200)
        .header('content-type', type)
        .header('content-length', String(bytes.length))
        .header('cache-control', 'private, max-age=300')
        .header('x-content-type-options', 'nosniff')
        .header('content-security-policy', "default-src 'none'; sandbox")
        .header('content-disposition', 'attachment; filename="image"')
        .send(bytes);
    },
  );

  // ---- review (admins) -------------------------------------------------------------------

  app.get<{
    Params: { job: string };
    Querystring: { offset?: string; limit?: string; status?: string };
  }>(`${P}/jobs/:job/review`, { preHandler: admin }, async (req, reply) => {
    const u = currentUser(req);
    const offset = Math.max(0, Number.parseInt(req.query.offset ?? '0', 10) || 0);
    const limit = Math.min(100, Math.max(1, Number.parseInt(req.query.limit ?? '20', 10) || 20));
    const status = ['pending', 'labeled', 'failed'].includes(req.query.status ?? '')
      ? req.query.status
      : undefined;
    try {
      const job = await labeling.getJob(req.params.job);
      const page = await labeling.reviewObjects(job.name, offset, limit, status);
      const items = await Promise.all(
        page.items.map(async (o) => ({
          ...o,
          sourceName: (o.sourceRef ?? '').split('/').pop(),
          imageUrl: imageUrl(
            await labeling.imageToken(worker(u), { j: job.name.toLowerCase(), o: o.objectId }),
          ),
        })),
      );
      return sendApiJson(reply, {
        job: {
          name: job.name,
          status: job.status,
          taskType: job.spec.taskType,
          labels: job.spec.labels,
          iteration: job.iteration,
        },
        total: page.total,
        offset,
        items,
      });
    } catch (err) {
      return fail(reply, err);
    }
  });

  app.get<{ Params: { job: string } }>(
    `${P}/jobs/:job/prelabel`,
    { preHandler: admin },
    async (req, reply) => {
      try {
        return sendApiJson(reply, await labeling.prelabelSummary(req.params.job));
      } catch (err) {
        return fail(reply, err);
      }
    },
  );

  app.get<{ Params: { job: string } }>(
    `${P}/jobs/:job/workers`,
    { preHandler: admin },
    async (req, reply) => {
      try {
        return sendApiJson(reply, { workers: await labeling.workerStats(req.params.job) });
      } catch (err) {
        return fail(reply, err);
      }
    },
  );

  // Automated data labeling: the job's active-learning rounds (console job page).
  app.get<{ Params: { job: string } }>(
    `${P}/jobs/:job/rounds`,
    { preHandler: admin },
    async (req, reply) => {
      try {
        await labeling.getJob(req.params.job);
        return sendApiJson(reply, { rounds: await labeling.autoLabelingRounds(req.params.job) });
      } catch (err) {
        return fail(reply, err);
      }
    },
  );

  app.post<{ Params: { job: string } }>(
    `${P}/jobs/:job/relabel`,
    { preHandler: admin },
    async (req, reply) => {
      try {
        const b = await body(req);
        const ids = b.objectIds;
        if (
          !Array.isArray(ids) ||
          ids.length === 0 ||
          ids.length > 10_000 ||
          !ids.every((i) => Number.isInteger(i) && i >= 0)
        ) {
          throw new TaskError(
            'Invalid',
            'Send "objectIds": [0, 5, ...] of the objects to label again',
          );
        }
        await labeling.relabel(req.params.job, ids as number[]);
        return sendApiJson(reply, {});
      } catch (err) {
        return fail(reply, err);
      }
    },
  );
}
