import { describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { PutObjectCommand, GetObjectCommand, CreateBucketCommand } from '@aws-sdk/client-s3';
import { consoleSession, count, openConsole, shot, signIn, visible } from './console-helpers.js';

/** A W×H dark picture with a light rectangle, as PNG bytes. */
async function picture(
  w: number,
  h: number,
  rect: [number, number, number, number],
): Promise<Buffer> {
  const raw = Buffer.alloc(w * h * 3);
  for (let i = 0; i < w * h; i++) raw.set([20, 30, 60], i * 3);
  for (let y = rect[1]; y < rect[1] + rect[3]; y++)
    for (let x = rect[0]; x < rect[0] + rect[2]; x++) raw.set([230, 200, 40], (y * w + x) * 3);
  return sharp(raw, { raw: { width: w, height: h, channels: 3 } })
    .png()
    .toBuffer();
}

const session = consoleSession({ signIn: false });

describe('console: sign-in and data', () => {
  it('refuses a wrong password with the reason, then signs in with the root access key', async () => {
    const { page } = session;
    await page.goto('/_apiary/ui/data');
    await page.getByLabel('User name').fill(session.server.credentials.accessKeyId);
    await page.getByLabel('Password').fill('not-the-secret');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await visible(page.getByText('Sign-in failed'));
    await shot(page, '01-login-failed');
    await signIn(session, session.server);
    // The dashboard's live counts arrive over the SSE stream.
    await visible(page.getByRole('link', { name: 'Models: 0' }));
    await visible(page.getByRole('link', { name: 'Endpoints in service: 0' }));
    await shot(page, '00-dashboard');
    // The deep link survives the sign-in.
    await page.goto('/_apiary/ui/data');
    await visible(page.getByRole('heading', { name: /Buckets/ }));
  });

  it('creates a bucket, uploads pictures by drag and drop with progress, and lists them', async () => {
    const { page } = session;
    await page.getByRole('button', { name: 'Create bucket' }).first().click();
    await page.getByLabel('Bucket name').fill('Bad_Name');
    await page.getByRole('dialog').getByRole('button', { name: 'Create bucket' }).click();
    await visible(page.getByRole('dialog').getByText(/The bucket name 'Bad_Name' is not valid/));
    await page.getByLabel('Bucket name').fill('bees');
    await page.getByRole('dialog').getByRole('button', { name: 'Create bucket' }).click();
    await page.getByRole('link', { name: 'bees', exact: true }).click();
    await visible(page.getByText('Drop files here to upload them to'));

    const files = await Promise.all(
      [0, 1, 2].map(async (i) => ({
        name: `bee-${i}.png`,
        type: 'image/png',
        b64: (await picture(128, 96, [20 + i * 10, 10, 40, 30])).toString('base64'),
      })),
    );
    const dataTransfer = await page.evaluateHandle((fs) => {
      const dt = new DataTransfer();
      for (const f of fs) {
        const bytes = Uint8Array.from(atob(f.b64), (c) => c.charCodeAt(0));
        dt.items.add(new File([bytes], f.name, { type: f.type }));
      }
      return dt;
    }, files);
    const zone = page.getByText('Drop files here to upload them to');
    await zone.dispatchEvent('dragenter', { dataTransfer });
    await zone.dispatchEvent('dragover', { dataTransfer });
    await zone.dispatchEvent('drop', { dataTransfer });
    const uploads = page.getByRole('list', { name: 'Uploads' });
    await count(uploads.getByText('Uploaded'), 3);
    await visible(
      page.getByRole('table', { name: 'Objects' }).getByRole('link', { name: 'bee-2.png' }),
    );
    await shot(page, '02-upload-drag-and-drop');

    const got = await session.s3.send(new GetObjectCommand({ Bucket: 'bees', Key: 'bee-1.png' }));
    expect(Buffer.from(await got.Body!.transformToByteArray())).toEqual(
      Buffer.from(files[1]!.b64, 'base64'),
    );
    expect(got.ContentType).toBe('image/png');
  });

  it("previews an image with a manifest's boxes drawn on it", async () => {
    const { page } = session;
    const lines = [0, 1, 2].map((i) =>
      JSON.stringify({
        'source-ref': `s3://bees/bee-${i}.png`,
        'bounding-box': {
          image_size: [{ width: 128, height: 96, depth: 3 }],
          annotations: [{ class_id: 0, left: 20 + i * 10, top: 10, width: 40, height: 30 }],
        },
        'bounding-box-metadata': {
          'class-map': { '0': 'bee' },
          objects: [{ confidence: 0.9 }],
          type: 'groundtruth/object-detection',
          'human-annotated': 'yes',
        },
      }),
    );
    await session.s3.send(
      new PutObjectCommand({
        Bucket: 'bees',
        Key: 'labels/output.manifest',
        Body: lines.join('\n') + '\n',
      }),
    );
    await page.goto(
      `/_apiary/ui/data/bees/preview?key=bee-0.png&manifest=${encodeURIComponent('s3://bees/labels/output.manifest')}`,
    );
    const canvas = page.getByRole('img', { name: 'bee-0.png, 1 box drawn' });
    await visible(canvas);
    await visible(page.getByText('1 box from bounding-box (line 1)'));
    // Shown 4x (512 px wide): the box's left edge (x = 20 → 80) is drawn in class 0's colour.
    expect(await canvas.evaluate((c: HTMLCanvasElement) => [c.width, c.height])).toEqual([
      512, 384,
    ]);
    const edge = await canvas.evaluate((c: HTMLCanvasElement) =>
      Array.from(c.getContext('2d')!.getImageData(80, 100, 1, 1).data),
    );
    expect(edge.slice(0, 3)).toEqual([255, 153, 0]);
    const inside = await canvas.evaluate((c: HTMLCanvasElement) =>
      Array.from(c.getContext('2d')!.getImageData(20, 20, 1, 1).data),
    );
    expect(inside.slice(0, 3)).toEqual([20, 30, 60]);
    await shot(page, '03-preview-manifest-boxes');

    // An image the manifest does not mention: the reason is shown, no boxes.
    await page.goto(`/_apiary/ui/data/bees/preview?key=labels/output.manifest`);
    await visible(page.getByRole('heading', { name: 'Labelled images' }));
    await count(page.getByRole('img', { name: /bee-\d\.png, 1 box drawn/ }), 3);
    await shot(page, '04-manifest-gallery');
  });

  it('splits a manifest into train and validation from the bucket page', async () => {
    const { page } = session;
    const more = Array.from({ length: 7 }, (_, i) =>
      JSON.stringify({ 'source-ref': `s3://bees/extra-${i}.png` }),
    );
    const existing = await (
      await session.s3.send(new GetObjectCommand({ Bucket: 'bees', Key: 'labels/output.manifest' }))
    ).Body!.transformToString();
    await session.s3.send(
      new PutObjectCommand({
        Bucket: 'bees',
        Key: 'labels/output.manifest',
        Body: existing + more.join('\n') + '\n',
      }),
    );
    await page.goto('/_apiary/ui/data/bees?prefix=labels%2F');
    await page.getByRole('checkbox', { name: 'Select labels/output.manifest' }).check();
    await page.getByRole('button', { name: 'Actions' }).click();
    await page.getByRole('menuitem', { name: 'Split manifest into train and validation' }).click();
    await page.getByRole('dialog').getByLabel('Seed').fill('42');
    await page.getByRole('dialog').getByRole('button', { name: 'Split' }).click();
    await visible(
      page.getByText(
        'Wrote s3://bees/labels/train.manifest (8 lines) and s3://bees/labels/validation.manifest (2 lines).',
      ),
    );
    await visible(page.getByRole('link', { name: 'validation.manifest' }));
    await shot(page, '05-split');
    const train = await (
      await session.s3.send(new GetObjectCommand({ Bucket: 'bees', Key: 'labels/train.manifest' }))
    ).Body!.transformToString();
    expect(train.trim().split('\n')).toHaveLength(8);
  });

  it('pages through a prefix of 120 objects on the server, 50 at a time', async () => {
    const { page } = session;
    await session.s3.send(new CreateBucketCommand({ Bucket: 'many' }));
    for (let i = 0; i < 120; i++)
      await session.s3.send(
        new PutObjectCommand({
          Bucket: 'many',
          Key: `k${String(i).padStart(3, '0')}.txt`,
          Body: 'x',
        }),
      );
    await page.goto('/_apiary/ui/data/many');
    const table = page.getByRole('table', { name: 'Objects' });
    await visible(table.getByRole('link', { name: 'k049.txt' }));
    await count(table.getByRole('link', { name: 'k050.txt' }), 0);
    await page.getByRole('button', { name: 'Next page' }).click();
    await visible(table.getByRole('link', { name: 'k099.txt' }));
    await page.getByRole('button', { name: 'Next page' }).click();
    await visible(table.getByRole('link', { name: 'k119.txt' }));
    await count(table.getByRole('link', { name: 'k000.txt' }), 0);
  });

  it('sends a worker to the labeling portal and refuses them the admin API', async () => {
    await session.server.apiary.identity.createUser({
      username: 'wendy',
      password: 'wendy-password-1',
      role: 'worker',
      groups: ['team'],
    });
    const worker = await openConsole(session.browser, session.server);
    try {
      await worker.page.goto('/_apiary/ui/models');
      await worker.page.getByLabel('User name').fill('wendy');
      await worker.page.getByLabel('Password').fill('wendy-password-1');
      await worker.page.getByRole('button', { name: 'Sign in' }).click();
      await visible(worker.page.getByRole('heading', { name: /Labeling tasks/ }));
      expect(new URL(worker.page.url()).pathname).toBe('/_apiary/ui/portal');
      await count(worker.page.getByRole('navigation', { name: 'Side navigation' }), 0);
      const status = await worker.page.evaluate(
        async () => (await fetch('/_apiary/api/s3/buckets')).status,
      );
      expect(status).toBe(403);
      expect(worker.problems).toEqual([]);
    } finally {
      await worker.context.close();
    }
  });

  it('signs out from the user menu (a CSRF-protected request) back to the sign-in page', async () => {
    const { page } = session;
    await page.goto('/_apiary/ui/data');
    await page.getByRole('button', { name: session.server.credentials.accessKeyId }).click();
    await page.getByRole('menuitem', { name: 'Sign out' }).click();
    await visible(page.getByRole('button', { name: 'Sign in' }));
    expect(new URL(page.url()).pathname).toBe('/_apiary/ui/login');
    expect(await page.evaluate(async () => (await fetch('/_apiary/api/session')).json())).toEqual({
      user: null,
    });
  });

  it('logged no browser console errors and no CSP violations; the only failed requests were the deliberate ones', () => {
    expect(session.problems).toEqual([]);
    expect(session.httpErrors).toEqual([
      '401 POST /_apiary/api/login',
      '400 POST /_apiary/api/s3/buckets',
    ]);
  });
});
