import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReplicaSet } from './helpers/replicas.js';
import { runTutorial } from './helpers/tutorial-run.js';

/**
 * The whole journey on the scale-out deployment: docs/tutorial.md as written (upload, label with a
 * worker in the portal, split, train, deploy, invoke, tune, clean up) against two replicas on
 * PostgreSQL and an S3 store for the bytes, through a round-robin balancer — and one replica is
 * killed -9 while the training job trains.
 */
let set: ReplicaSet;
let work: string;

beforeAll(async () => {
  set = await ReplicaSet.start(2);
  await set.cli(
    ['users', 'add', 'alice', '--role', 'worker', '--group', 'bee-team', '--password-stdin'],
    'alice-password-1\n',
  );
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'apiary-journey-'));
}, 300_000);

afterAll(async () => {
  await set?.close();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe('the tutorial on two replicas', () => {
  it('runs as written through a balancer and survives a replica killed -9 mid-training', async () => {
    let killed: string | undefined;
    const { code, out, labelled } = await runTutorial({
      url: set.proxy.url,
      work,
      worker: { name: 'alice', password: 'alice-password-1' },
      env: {
        ...ReplicaSet.clientEnv(set.proxy.url),
        TUTORIAL_IMAGES: '16',
        TUTORIAL_EPOCHS: '1',
        TUTORIAL_IMAGE_SHAPE: '64',
        TUTORIAL_TUNING_JOBS: '2',
      },
      onOutput: (soFar) => {
        // Once the training job runs, kill the replica that does not run it; the tutorial goes on through the other.
        if (killed || !soFar.includes('Training job current status: InProgress')) return;
        killed = 'pending';
        void set.holderOf('training-job:bees-od-*').then(
          async (owner) => {
            const other = set.replicas.find((r) => r !== owner)!;
            killed = other.name;
            await set.kill(other);
          },
          () => (killed = undefined),
        );
      },
    });
    expect(code, out).toBe(0);
    expect(killed, out).toMatch(/^replica-/);
    expect(labelled).toBe(16);
    expect(out).toMatch(/Completed \{'TotalLabeled': 16/);
    expect(out).toContain('Training job ended with status: Completed');
    expect(out).toContain('Endpoint status: InService');
    expect(out).toMatch(/test-\d+\.jpg \[/);
    expect(out).toMatch(/best: bees-hpo-\d+-00\d-[0-9a-f]{8}/);
    expect(out).toContain('endpoint deleted');
  }, 900_000);
});
