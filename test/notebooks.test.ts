import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {
  CreateNotebookInstanceCommand,
  CreateNotebookInstanceLifecycleConfigCommand,
  CreatePresignedNotebookInstanceUrlCommand,
  DeleteNotebookInstanceCommand,
  DeleteNotebookInstanceLifecycleConfigCommand,
  DescribeNotebookInstanceLifecycleConfigCommand,
  ListNotebookInstanceLifecycleConfigsCommand,
  UpdateNotebookInstanceCommand,
  UpdateNotebookInstanceLifecycleConfigCommand,
  DescribeNotebookInstanceCommand,
  ListNotebookInstancesCommand,
  ListTagsCommand,
  SageMakerClient,
  StartNotebookInstanceCommand,
  StopNotebookInstanceCommand,
} from '@aws-sdk/client-sagemaker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers/server.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const ROLE = 'arn:aws:iam::000000000000:role/SageMakerRole';
const b64 = (s: string): string => Buffer.from(s).toString('base64');

let server: TestServer;
let sm: SageMakerClient;

beforeAll(async () => {
  server = await startTestServer({}, { APIARY_NOTEBOOK_LIFECYCLE_TIMEOUT_SECONDS: '3' });
  sm = new SageMakerClient({
    endpoint: server.url,
    region: server.region,
    credentials: server.credentials,
  });
});
afterAll(async () => {
  await server?.close();
});

async function waitStatus(name: string, want: string): Promise<Record<string, unknown>> {
  for (;;) {
    const d = await sm.send(new DescribeNotebookInstanceCommand({ NotebookInstanceName: name }));
    if (d.NotebookInstanceStatus === want) return d as unknown as Record<string, unknown>;
    if (d.NotebookInstanceStatus === 'Failed' && want !== 'Failed')
      throw new Error(`Failed: ${d.FailureReason}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Redeems a presigned URL; returns the session cookie. */
async function openSession(name: string): Promise<{ cookie: string; url: string }> {
  const { AuthorizedUrl } = await sm.send(
    new CreatePresignedNotebookInstanceUrlCommand({
      NotebookInstanceName: name,
      SessionExpirationDurationInSeconds: 1800,
    }),
  );
  const res = await fetch(AuthorizedUrl!, { redirect: 'manual' });
  expect(res.status).toBe(302);
  expect(res.headers.get('location')).toBe(`/_apiary/notebooks/${name}/lab`);
  const setCookie = res.headers.get('set-cookie')!;
  expect(setCookie).toMatch(
    new RegExp(
      `^apiary_notebook=[A-Za-z0-9_-]+; Path=/_apiary/notebooks/${name}/; Max-Age=1800; SameSite=Lax; HttpOnly$`,
    ),
  );
  return { cookie: setCookie.split(';')[0]!, url: AuthorizedUrl! };
}

/** Runs code in a kernel over the proxied WebSocket; returns what it printed (or its error). */
async function runCells(name: string, cookie: string, cells: readonly string[]): Promise<string[]> {
  const base = `${server.url}/_apiary/notebooks/${name}/`;
  const created = await fetch(`${base}api/kernels`, {
    method: 'POST',
    headers: { cookie, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'conda_python3' }),
  });
  expect(created.status).toBe(201);
  const kernel = (await created.json()) as { id: string; name: string };
  expect(kernel.name).toBe('conda_python3');
  // Node's WebSocket (undici) takes request headers in its init object: the session cookie.
  const ws = new WebSocket(`${base.replace('http', 'ws')}api/kernels/${kernel.id}/channels`, {
    headers: { cookie },
  } as unknown as string[]);
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = reject;
  });
  const session = randomUUID();
  const outputs: string[] = [];
  try {
    for (const code of cells) {
      const msgId = randomUUID();
      let text = '';
      const done = new Promise<void>((resolve) => {
        const onMessage = (event: MessageEvent): void => {
          const msg = JSON.parse(String(event.data)) as {
            msg_type: string;
            parent_header: { msg_id?: string };
            content: Record<string, unknown>;
          };
          if (msg.parent_header.msg_id !== msgId) return;
          if (msg.msg_type === 'stream') text += String(msg.content.text);
          if (msg.msg_type === 'error')
            text += `ERROR ${String(msg.content.ename)}: ${String(msg.content.evalue)}`;
          if (msg.msg_type === 'status' && msg.content.execution_state === 'idle') {
            ws.removeEventListener('message', onMessage);
            resolve();
          }
        };
        ws.addEventListener('message', onMessage);
      });
      ws.send(
        JSON.stringify({
          header: {
            msg_id: msgId,
            session,
            username: 'test',
            msg_type: 'execute_request',
            version: '5.3',
            date: new Date().toISOString(),
          },
          parent_header: {},
          metadata: {},
          channel: 'shell',
          buffers: [],
          content: {
            code,
            silent: false,
            store_history: true,
            user_expressions: {},
            allow_stdin: false,
            stop_on_error: true,
          },
        }),
      );
      await done;
      outputs.push(text);
    }
  } finally {
    ws.close();
  }
  return outputs;
}

/** The tutorial notebook's cells with these tags, in order. */
function tutorialCells(tags: readonly string[]): string[] {
  const nb = JSON.parse(
    fs.readFileSync(path.join(ROOT, 'docs', 'notebooks', 'bee-tutorial.ipynb'), 'utf8'),
  ) as { cells: { cell_type: string; source: string[] | string; metadata: { tags?: string[] } }[] };
  return tags.map((tag) => {
    const cell = nb.cells.find((c) => c.metadata.tags?.includes(tag));
    if (!cell) throw new Error(`no cell tagged ${tag}`);
    return Array.isArray(cell.source) ? cell.source.join('') : cell.source;
  });
}

describe('notebook instances', () => {
  it('refuses bad input with SageMaker messages', async () => {
    await expect(
      sm.send(
        new CreateNotebookInstanceCommand({
          NotebookInstanceName: 'bad_name',
          InstanceType: 'ml.t3.medium',
          RoleArn: ROLE,
        }),
      ),
    ).rejects.toThrow(/Member must satisfy regular expression pattern/);
    await expect(
      sm.send(
        new CreateNotebookInstanceCommand({
          NotebookInstanceName: 'nb-x',
          InstanceType: 'ml.t3.medium',
          RoleArn: 'not-a-role-arn-at-all',
        }),
      ),
    ).rejects.toThrow(/roleArn|RoleArn/);
    await expect(
      sm.send(
        new CreateNotebookInstanceCommand({
          NotebookInstanceName: 'nb-x',
          InstanceType: 'ml.t3.medium',
          RoleArn: ROLE,
          LifecycleConfigName: 'nope',
        }),
      ),
    ).rejects.toThrow(
      "Unable to describe Notebook Instance Lifecycle Config 'nope'. (Details: Notebook Instance Lifecycle Config does not exist)",
    );
    await expect(
      sm.send(new DescribeNotebookInstanceCommand({ NotebookInstanceName: 'nb-x' })),
    ).rejects.toThrow('RecordNotFound');
  });

  it('refuses a presigned URL used twice or after it expired and worker accounts; updates a Failed instance and its config', async () => {
    await sm.send(
      new CreateNotebookInstanceLifecycleConfigCommand({
        NotebookInstanceLifecycleConfigName: 'lc-never',
        OnCreate: [{ Content: b64('exit 1\n') }],
      }),
    );
    await sm.send(
      new CreateNotebookInstanceCommand({
        NotebookInstanceName: 'nb-urls',
        InstanceType: 'ml.t3.medium',
        RoleArn: ROLE,
        LifecycleConfigName: 'lc-never',
      }),
    );
    const presign = async () =>
      (
        await sm.send(
          new CreatePresignedNotebookInstanceUrlCommand({ NotebookInstanceName: 'nb-urls' }),
        )
      ).AuthorizedUrl!;
    const once = await presign();
    expect(once).toMatch(
      new RegExp(`^${server.url}/_apiary/notebooks/nb-urls/\\?authToken=[A-Za-z0-9_-]{43}$`),
    );
    expect((await fetch(once, { redirect: 'manual' })).status).toBe(302);
    const twice = await fetch(once, { redirect: 'manual' });
    expect(twice.status).toBe(403);
    expect(await twice.text()).toBe(
      'This presigned URL is invalid, was used already, or expired; create a new one.\n',
    );
    // A URL is good for 5 minutes: this one's time has passed.
    const late = await presign();
    await server.apiary.database.db
      .updateTable('notebook_sessions' as never)
      .set({ expires_at_ms: Date.now() - 1 } as never)
      .where('kind' as never, '=', 'url' as never)
      .execute();
    expect((await fetch(late, { redirect: 'manual' })).status).toBe(403);
    // A URL of one instance does not open another.
    const other = (await presign()).replace('/nb-urls/', '/nb-other/');
    expect((await fetch(other, { redirect: 'manual' })).status).toBe(403);
    // Worker accounts never reach a notebook.
    await server.apiary.identity.createUser({
      username: 'wanda',
      password: 'wanda-password',
      role: 'worker',
    });
    const login = await fetch(`${server.url}/_apiary/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'wanda', password: 'wanda-password' }),
    });
    expect(login.status).toBe(200);
    const workerCookie = login.headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .join('; ');
    const denied = await fetch(`${server.url}/_apiary/notebooks/nb-urls/lab`, {
      headers: { cookie: workerCookie },
    });
    expect(denied.status).toBe(403);
    expect(await denied.text()).toBe('Your account may not open notebook instances.\n');
    await waitStatus('nb-urls', 'Failed');

    // A Failed instance may be updated (and deleted); its config may not go while it is in use.
    await expect(
      sm.send(
        new UpdateNotebookInstanceCommand({ NotebookInstanceName: 'nb-urls', VolumeSizeInGB: 4 }),
      ),
    ).rejects.toThrow(
      /VolumeSizeInGB can only be increased \(now 5, asked 4\)|Member must have value greater than or equal to 5/,
    );
    await sm.send(
      new UpdateNotebookInstanceCommand({
        NotebookInstanceName: 'nb-urls',
        VolumeSizeInGB: 20,
        DisassociateLifecycleConfig: true,
        RoleArn: 'arn:aws:iam::000000000000:role/Other',
      }),
    );
    const updated = await sm.send(
      new DescribeNotebookInstanceCommand({ NotebookInstanceName: 'nb-urls' }),
    );
    expect(updated).toMatchObject({
      NotebookInstanceStatus: 'Failed',
      VolumeSizeInGB: 20,
      RoleArn: 'arn:aws:iam::000000000000:role/Other',
    });
    expect(updated.NotebookInstanceLifecycleConfigName).toBeUndefined();
    await sm.send(
      new UpdateNotebookInstanceCommand({
        NotebookInstanceName: 'nb-urls',
        LifecycleConfigName: 'lc-never',
      }),
    );
    await expect(
      sm.send(
        new DeleteNotebookInstanceLifecycleConfigCommand({
          NotebookInstanceLifecycleConfigName: 'lc-never',
        }),
      ),
    ).rejects.toThrow(/it is used by the Notebook Instance nb-urls/);
    await sm.send(
      new UpdateNotebookInstanceLifecycleConfigCommand({
        NotebookInstanceLifecycleConfigName: 'lc-never',
        OnStart: [{ Content: b64('true\n') }],
      }),
    );
    const lc = await sm.send(
      new DescribeNotebookInstanceLifecycleConfigCommand({
        NotebookInstanceLifecycleConfigName: 'lc-never',
      }),
    );
    expect(lc.OnCreate).toEqual([{ Content: b64('exit 1\n') }]);
    expect(lc.OnStart).toEqual([{ Content: b64('true\n') }]);
    const configs = await sm.send(
      new ListNotebookInstanceLifecycleConfigsCommand({ NameContains: 'never' }),
    );
    expect(
      configs.NotebookInstanceLifecycleConfigs?.map((c) => c.NotebookInstanceLifecycleConfigName),
    ).toEqual(['lc-never']);
    await sm.send(new DeleteNotebookInstanceCommand({ NotebookInstanceName: 'nb-urls' }));
    await sm.send(
      new DeleteNotebookInstanceLifecycleConfigCommand({
        NotebookInstanceLifecycleConfigName: 'lc-never',
      }),
    );
    await expect(
      sm.send(
        new DescribeNotebookInstanceLifecycleConfigCommand({
          NotebookInstanceLifecycleConfigName: 'lc-never',
        }),
      ),
    ).rejects.toThrow(
      "Unable to describe Notebook Instance Lifecycle Config 'lc-never'. (Details: Notebook Instance Lifecycle Config does not exist)",
    );
  });

  it('a lifecycle script that fails or runs too long leaves the instance Failed with its reason', async () => {
    await sm.send(
      new CreateNotebookInstanceLifecycleConfigCommand({
        NotebookInstanceLifecycleConfigName: 'lc-fails',
        OnStart: [{ Content: b64('echo about to fail\nexit 3\n') }],
      }),
    );
    await sm.send(
      new CreateNotebookInstanceLifecycleConfigCommand({
        NotebookInstanceLifecycleConfigName: 'lc-slow',
        OnCreate: [{ Content: b64('sleep 30\n') }],
      }),
    );
    await sm.send(
      new CreateNotebookInstanceCommand({
        NotebookInstanceName: 'nb-fails',
        InstanceType: 'ml.t3.medium',
        RoleArn: ROLE,
        LifecycleConfigName: 'lc-fails',
      }),
    );
    await sm.send(
      new CreateNotebookInstanceCommand({
        NotebookInstanceName: 'nb-slow',
        InstanceType: 'ml.t3.medium',
        RoleArn: ROLE,
        LifecycleConfigName: 'lc-slow',
      }),
    );
    const failed = await waitStatus('nb-fails', 'Failed');
    expect(failed.FailureReason).toMatch(
      /failed with exit code 3 \(OnStart\): [\s\S]*about to fail/,
    );
    const slow = await waitStatus('nb-slow', 'Failed');
    expect(slow.FailureReason).toMatch(/took longer than 3 seconds \(OnCreate\)/);
    await sm.send(new DeleteNotebookInstanceCommand({ NotebookInstanceName: 'nb-fails' }));
    await sm.send(new DeleteNotebookInstanceCommand({ NotebookInstanceName: 'nb-slow' }));
  }, 60_000);

  it('runs JupyterLab through the proxy: presigned URL, kernel, the tutorial cells, stop/start, delete', async () => {
    await sm.send(
      new CreateNotebookInstanceLifecycleConfigCommand({
        NotebookInstanceLifecycleConfigName: 'lc-ok',
        OnStart: [
          { Content: b64('date >> /home/ec2-user/SageMaker/started.txt\necho on-start ran\n') },
        ],
      }),
    );
    const { NotebookInstanceArn } = await sm.send(
      new CreateNotebookInstanceCommand({
        NotebookInstanceName: 'nb-one',
        InstanceType: 'ml.t3.medium',
        RoleArn: ROLE,
        LifecycleConfigName: 'lc-ok',
        VolumeSizeInGB: 5,
        Tags: [{ Key: 'team', Value: 'bees' }],
      }),
    );
    expect(NotebookInstanceArn).toBe(
      'arn:aws:sagemaker:us-east-1:000000000000:notebook-instance/nb-one',
    );
    const pending = await sm.send(
      new DescribeNotebookInstanceCommand({ NotebookInstanceName: 'nb-one' }),
    );
    expect(pending.NotebookInstanceStatus).toBe('Pending');
    const d = await waitStatus('nb-one', 'InService');
    expect(d).toMatchObject({
      RoleArn: ROLE,
      NotebookInstanceLifecycleConfigName: 'lc-ok',
      VolumeSizeInGB: 5,
      Url: `${server.url.replace('http://', '')}/_apiary/notebooks/nb-one/`,
    });
    expect((await sm.send(new ListTagsCommand({ ResourceArn: NotebookInstanceArn }))).Tags).toEqual(
      [{ Key: 'team', Value: 'bees' }],
    );
    const listed = await sm.send(new ListNotebookInstancesCommand({ StatusEquals: 'InService' }));
    expect(listed.NotebookInstances?.map((n) => n.NotebookInstanceName)).toEqual(['nb-one']);

    await expect(
      sm.send(new StartNotebookInstanceCommand({ NotebookInstanceName: 'nb-one' })),
    ).rejects.toThrow(
      `Status (InService) not in ([Stopped, Failed]). Unable to transition to (Pending) for Notebook Instance (${NotebookInstanceArn}).`,
    );
    await expect(
      sm.send(new DeleteNotebookInstanceCommand({ NotebookInstanceName: 'nb-one' })),
    ).rejects.toThrow(
      `Status (InService) not in ([Stopped, Failed]). Unable to transition to (Deleting) for Notebook Instance (${NotebookInstanceArn}).`,
    );

    // Nobody gets in without a session; a presigned URL works once.
    const anon = await fetch(`${server.url}/_apiary/notebooks/nb-one/lab`);
    expect(anon.status).toBe(403);
    const { cookie, url } = await openSession('nb-one');
    expect((await fetch(url, { redirect: 'manual' })).status).toBe(403);
    const lab = await fetch(`${server.url}/_apiary/notebooks/nb-one/lab`, { headers: { cookie } });
    expect(lab.status).toBe(200);
    expect(await lab.text()).toContain('JupyterLab');
    // This instance's session does not open another instance.
    const other = await fetch(`${server.url}/_apiary/notebooks/nb-two/lab`, {
      headers: { cookie },
    });
    expect(other.status).toBe(403);
    expect(await other.text()).toContain('This session does not open the notebook instance nb-two');

    // The tutorial notebook was copied in; its first cells run unchanged in the kernel.
    const contents = await fetch(`${server.url}/_apiary/notebooks/nb-one/api/contents`, {
      headers: { cookie },
    });
    const names = ((await contents.json()) as { content: { name: string }[] }).content
      .map((c) => c.name)
      .sort();
    expect(names).toEqual(['bee-tutorial.ipynb', 'started.txt']);
    const out = await runCells('nb-one', cookie, [
      'N_IMAGES, IMAGE_SIZE = 5, 64',
      ...tutorialCells(['setup', 'images', 'label-input', 'label-job', 'labels', 'split']),
      'import os; print(os.environ["AWS_ACCESS_KEY_ID"]); print(os.environ["AWS_SECRET_ACCESS_KEY"] != ' +
        JSON.stringify(server.credentials.secretAccessKey) +
        ')',
      'print(os.path.exists("/opt/ml/metadata/resource-metadata.json"), os.path.exists(' +
        JSON.stringify(path.join(server.dataDir)) +
        ') and os.listdir(' +
        JSON.stringify(server.dataDir) +
        '))',
      // Telemetry to AWS is switched off (the sandbox could not reach it; the SDK would log errors).
      'print(session.sagemaker_config["SageMaker"]["PythonSDK"]["Modules"]["TelemetryOptOut"])',
    ]);
    // The SDK's own "sagemaker.config INFO" lines come first, as on SageMaker.
    expect(out[1]!.endsWith(`role: ${ROLE}\nregion: us-east-1\nbucket: bees-tutorial\n`)).toBe(
      true,
    );
    expect(out[2]).toBe('uploaded 5 images\n');
    expect(out[3]).toBe('work teams: []\n');
    expect(out[4]).toBe('no work team: using the generated boxes as labels\n');
    expect(out[5]).toBe('labeled images: 5 attribute: bounding-box\n');
    expect(out[6]).toBe('train: 4 validation: 1\n');
    const [keyId, notRoot] = out[7]!.trim().split('\n');
    expect(keyId).toMatch(/^ASIANB[0-9A-F]{14}$/);
    expect(notRoot).toBe('True');
    // Apiary's data dir (database, credentials, blobs, other instances) is an empty folder inside.
    expect(out[8]).toBe('True []\n');
    expect(out[9]).toBe('True\n');
    const objects = await fetch(`${server.url}/_apiary/notebooks/nb-one/api/contents/started.txt`, {
      headers: { cookie },
    });
    expect(objects.status).toBe(200);

    // Stop and start: the volume survives; the OnStart script ran again.
    await sm.send(new StopNotebookInstanceCommand({ NotebookInstanceName: 'nb-one' }));
    await waitStatus('nb-one', 'Stopped');
    expect(
      (await fetch(`${server.url}/_apiary/notebooks/nb-one/lab`, { headers: { cookie } })).status,
    ).toBe(503);
    await sm.send(new StartNotebookInstanceCommand({ NotebookInstanceName: 'nb-one' }));
    await waitStatus('nb-one', 'InService');
    const volume = fs
      .readdirSync(path.join(server.dataDir, 'notebooks'))
      .map((d) => path.join(server.dataDir, 'notebooks', d, 'volume'));
    expect(
      fs.readFileSync(path.join(volume[0]!, 'started.txt'), 'utf8').trim().split('\n'),
    ).toHaveLength(2);
    await sm.send(new StopNotebookInstanceCommand({ NotebookInstanceName: 'nb-one' }));
    await waitStatus('nb-one', 'Stopped');

    // Delete: the record, the volume and the instance's access key are gone.
    await sm.send(new DeleteNotebookInstanceCommand({ NotebookInstanceName: 'nb-one' }));
    await expect(
      sm.send(new DescribeNotebookInstanceCommand({ NotebookInstanceName: 'nb-one' })),
    ).rejects.toThrow('RecordNotFound');
    expect(fs.existsSync(volume[0]!)).toBe(false);
    expect(server.apiary.notebooks.secretFor(keyId!)).toBeUndefined();
  }, 180_000);
});
