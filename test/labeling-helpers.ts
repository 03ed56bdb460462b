import {
  CreateBucketCommand,
  PutObjectCommand,
  S3Client,
  GetObjectCommand,
} from '@aws-sdk/client-s3';
import {
  CreateWorkteamCommand,
  DescribeLabelingJobCommand,
  type SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import sharp from 'sharp';
import { sdkConfig, startTestServer, type TestServer } from './helpers/server.js';

/** A signed-in browser-like client of the worker portal: keeps the cookies, sends the CSRF header. */
export class PortalClient {
  cookie = '';
  csrf = '';
  constructor(readonly url: string) {}

  async login(username: string, password: string): Promise<Response> {
    const res = await fetch(`${this.url}/_apiary/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username, password }),
    });
    if (res.ok) {
      this.cookie = res.headers
        .getSetCookie()
        .map((c) => c.split(';')[0])
        .join('; ');
      this.csrf = ((await res.clone().json()) as { csrfToken: string }).csrfToken;
    }
    return res;
  }

  async call(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; json: any; res: Response }> {
    const res = await fetch(`${this.url}${path}`, {
      method,
      headers: {
        cookie: this.cookie,
        'x-apiary-csrf': this.csrf,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let json: any;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = text;
    }
    return { status: res.status, json, res };
  }
}

export const png = (width: number, height: number, seed = 0): Promise<Buffer> =>
  sharp({
    create: { width, height, channels: 3, background: { r: (seed * 37) % 255, g: 120, b: 40 } },
  })
    .png()
    .toBuffer();

export async function putObject(
  s3: S3Client,
  bucket: string,
  key: string,
  body: string | Buffer,
  contentType?: string,
): Promise<void> {
  await s3.send(
    new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType }),
  );
}

export async function getText(s3: S3Client, bucket: string, key: string): Promise<string> {
  const r = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return r.Body!.transformToString();
}

/** Uploads `n` PNG images, a manifest and a label category file into `bucket`. */
export async function uploadDataset(
  server: TestServer,
  bucket: string,
  opts: {
    n: number;
    labels: string[];
    width?: number;
    height?: number;
    prefix?: string;
    names?: string[];
  },
): Promise<{ s3: S3Client; manifestUri: string; labelsUri: string; refs: string[] }> {
  const s3 = new S3Client(sdkConfig(server));
  await s3.send(new CreateBucketCommand({ Bucket: bucket })).catch((e) => {
    if (e.name !== 'BucketAlreadyOwnedByYou') throw e;
  });
  const prefix = opts.prefix ?? 'images';
  const refs: string[] = [];
  for (let i = 0; i < opts.n; i++) {
    const key = `${prefix}/${opts.names?.[i] ?? `bee-${i}.png`}`;
    await putObject(
      s3,
      bucket,
      key,
      await png(opts.width ?? 64, opts.height ?? 48, i),
      'image/png',
    );
    refs.push(`s3://${bucket}/${key}`);
  }
  const manifest = refs.map((r) => JSON.stringify({ 'source-ref': r })).join('\n') + '\n';
  await putObject(s3, bucket, `${prefix}/input.manifest`, manifest);
  const labelConfig = JSON.stringify({
    'document-version': '2018-11-28',
    labels: opts.labels.map((label) => ({ label })),
  });
  await putObject(s3, bucket, `${prefix}/labels.json`, labelConfig);
  return {
    s3,
    manifestUri: `s3://${bucket}/${prefix}/input.manifest`,
    labelsUri: `s3://${bucket}/${prefix}/labels.json`,
    refs,
  };
}

export async function waitForStatus(
  sm: SageMakerClient,
  name: string,
  statuses: string[],
  timeoutMs = 15_000,
) {
  const start = Date.now();
  for (;;) {
    const d = await sm.send(new DescribeLabelingJobCommand({ LabelingJobName: name }));
    if (statuses.includes(d.LabelingJobStatus!)) return d;
    if (Date.now() - start > timeoutMs)
      throw new Error(
        `job ${name} is ${d.LabelingJobStatus} (${d.FailureReason ?? ''}), not ${statuses.join('/')}`,
      );
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * CreateWorkteam whose members are one Cognito user group of Apiary's pool (`us-east-1_apiary`,
 * client `apiary`): the portal users in `group` work its jobs. Returns the team's ARN.
 */
export async function createCognitoTeam(
  sm: SageMakerClient,
  team: { readonly name: string; readonly group: string; readonly description: string },
): Promise<string> {
  const created = await sm.send(
    new CreateWorkteamCommand({
      WorkteamName: team.name,
      Description: team.description,
      MemberDefinitions: [
        {
          CognitoMemberDefinition: {
            UserPool: 'us-east-1_apiary',
            UserGroup: team.group,
            ClientId: 'apiary',
          },
        },
      ],
    }),
  );
  return created.WorkteamArn!;
}

export const BOX_UI = (region: string) =>
  `arn:aws:sagemaker:${region}:000000000000:human-task-ui/apiary-bounding-box`;
export const PRE_BOX = 'arn:aws:lambda:us-east-1:432418664414:function:PRE-BoundingBox';
export const ACS_BOX = 'arn:aws:lambda:us-east-1:432418664414:function:ACS-BoundingBox';

import type { Clock } from '../src/shared/clock.js';

/** A clock that follows real time (SigV4 needs it) plus a manual offset, to jump past time limits. */
export class JumpClock implements Clock {
  offsetMs = 0;
  nowMs(): number {
    return Date.now() + this.offsetMs;
  }
  advance(ms: number): void {
    this.offsetMs += ms;
  }
}

/** startTestServer with an injectable clock. */
export async function startLabelingServer(clock: Clock): Promise<TestServer> {
  return startTestServer({}, {}, { clock, tmpPrefix: 'apiary-labeling-' });
}
