import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMoto, startVersitygw, type S3TestServer } from '../../../test/helpers/s3-servers.js';
import { openDatabase } from '../../store/index.js';
import { DbObjectStore } from '../db-object-store.js';
import { objectsMigrations } from '../migrations.js';
import { blobIds, objectStoreContract } from '../object-store.contract.js';
import { S3BlobStore } from './s3-blob-store.js';

/**
 * The S3 blob store against real S3 servers: versitygw (built by scripts/versitygw.sh; the test
 * fails saying how to install Go when it cannot be built) and moto's server.
 */

let bucketSeq = 0;
const BUILD_TIMEOUT_MS = 15 * 60_000;

async function s3Subject(server: S3TestServer, minPartSizeBytes: number, prefix = 'apiary/blobs/') {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'apiary-s3-store-'));
  const bucket = `blobs-${process.pid}-${++bucketSeq}`;
  await server.createBucket(bucket);
  const database = await openDatabase({ dataDir: dir, migrations: objectsMigrations });
  const blobs = new S3BlobStore({
    bucket,
    prefix,
    endpoint: server.endpoint,
    accessKeyId: server.accessKeyId,
    secretAccessKey: server.secretAccessKey,
  });
  const store = new DbObjectStore({
    db: database.db,
    blobs,
    minPartSizeBytes,
    masterKey: randomBytes(32),
  });
  await store.start();
  return {
    store,
    blobs,
    bucket,
    async close() {
      store.close();
      blobs.destroy();
      await database.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

describe('S3 blob store on versitygw', () => {
  let vgw: S3TestServer;
  // The first run builds versitygw from the Go module proxy (about two minutes here).
  beforeAll(async () => {
    vgw = await startVersitygw();
  }, BUILD_TIMEOUT_MS);
  afterAll(async () => {
    await vgw?.stop();
  });

  objectStoreContract('s3: versitygw', ({ minPartSizeBytes }) => s3Subject(vgw, minPartSizeBytes));

  it('keeps blobs under the prefix only, and sweeps nothing else in the bucket', async () => {
    const s = await s3Subject(vgw, 4, 'team/a/');
    try {
      await s.store.createBucket('bkt');
      await s.store.putObject('bkt', 'k', 'bytes');
      const raw = vgw.client();
      await raw.send(
        new PutObjectCommand({ Bucket: s.bucket, Key: 'team/a/not-a-blob', Body: 'keep' }),
      );
      await raw.send(new PutObjectCommand({ Bucket: s.bucket, Key: 'elsewhere', Body: 'keep' }));
      expect(await s.store.sweep(0)).toEqual({ orphanBlobsRemoved: 0, staleUploadsAborted: 0 });
      const kept = await raw.send(
        new GetObjectCommand({ Bucket: s.bucket, Key: 'team/a/not-a-blob' }),
      );
      expect(await kept.Body!.transformToString()).toBe('keep');
      raw.destroy();
      expect(
        s.store.localPath
          ? await s.store.localPath({ bucket: 'bkt', key: 'k' } as never)
          : undefined,
      ).toBeUndefined();
    } finally {
      await s.close();
    }
  });

  it('refuses to start when the bucket does not exist, naming the setting', async () => {
    const blobs = new S3BlobStore({
      bucket: 'no-such-bucket',
      prefix: '',
      endpoint: vgw.endpoint,
      accessKeyId: vgw.accessKeyId,
      secretAccessKey: vgw.secretAccessKey,
    });
    await expect(blobs.start()).rejects.toThrow(
      /APIARY_BLOB_STORE: the bucket 'no-such-bucket' does not exist/,
    );
    blobs.destroy();
  });

  describe('when the external store stops mid-way', () => {
    let s: Awaited<ReturnType<typeof s3Subject>>;
    beforeAll(async () => {
      s = await s3Subject(vgw, 4);
      await s.store.createBucket('bkt');
      await s.store.putObject('bkt', 'model.bin', 'previous version');
    });
    afterAll(async () => {
      await s?.close();
    });

    it('fails the PUT with ServiceUnavailable, keeps the previous version and no key points at missing bytes', async () => {
      let sent = 0;
      const body = new Readable({
        read() {
          sent++;
          if (sent === 3) {
            // Kill the store while the body is still streaming into it.
            void vgw.kill().then(() => this.push(Buffer.alloc(MiB, 2)));
            return;
          }
          this.push(sent > 40 ? null : Buffer.alloc(MiB, 1));
        },
      });
      await expect(s.store.putObject('bkt', 'model.bin', body)).rejects.toMatchObject({
        code: 'ServiceUnavailable',
      });
      await expect(s.store.putObject('bkt', 'small', 'tiny')).rejects.toMatchObject({
        code: 'ServiceUnavailable',
      });
      await expect(s.store.getObject('bkt', 'model.bin')).rejects.toMatchObject({
        code: 'ServiceUnavailable',
      });
      expect((await s.store.headObject('bkt', 'model.bin'))!.size).toBe('previous version'.length);
      expect(await s.store.headObject('bkt', 'small')).toBeUndefined();

      await vgw.restart();
      expect((await s.store.getObjectBuffer('bkt', 'model.bin'))!.toString()).toBe(
        'previous version',
      );
      const listed = await s.store.listObjects('bkt');
      for (const o of listed.objects)
        expect(await s.store.getObjectBuffer('bkt', o.key)).toBeDefined();
      // Whatever the failed upload left behind is unreferenced and goes with the sweep.
      await s.store.sweep(0);
      expect(await blobIds(s.blobs)).toHaveLength(listed.objects.length);
    });
  });
});

const MiB = 1024 * 1024;

describe('S3 blob store on moto', () => {
  let moto: S3TestServer;
  beforeAll(async () => {
    moto = await startMoto();
  });
  afterAll(async () => {
    await moto?.stop();
  });

  objectStoreContract('s3: moto', ({ minPartSizeBytes }) => s3Subject(moto, minPartSizeBytes));
});
