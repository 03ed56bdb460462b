import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { PortalClient } from '../labeling-helpers.js';
import { documentToScript } from './tutorial-doc.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..');

interface Truth {
  [file: string]: { label: string; left: number; top: number; width: number; height: number }[];
}

/** The generator's pre-labelled manifest: what a careful worker would draw. */
function truthBoxes(work: string): Truth {
  const truth: Truth = {};
  for (const line of fs
    .readFileSync(path.join(work, 'bees', 'output.manifest'), 'utf8')
    .split('\n')) {
    if (!line.trim()) continue;
    const rec = JSON.parse(line) as {
      'source-ref': string;
      'bounding-box': {
        annotations: { left: number; top: number; width: number; height: number }[];
      };
    };
    truth[rec['source-ref'].split('/').pop()!] = rec['bounding-box'].annotations.map((a) => ({
      label: 'bee',
      ...a,
    }));
  }
  return truth;
}

/** A worker in the portal at `url`: takes tasks and submits the true boxes until the queue is empty. */
async function labelEverything(
  url: string,
  work: string,
  user: { name: string; password: string },
  signal: { done: boolean },
): Promise<number> {
  const worker = new PortalClient(url);
  expect((await worker.login(user.name, user.password)).status).toBe(200);
  let labelled = 0;
  let idleRounds = 0;
  while (!signal.done) {
    const jobs = (await worker.call('GET', '/_apiary/api/labeling/jobs')).json.jobs as {
      name: string;
    }[];
    let progressed = false;
    for (const job of jobs) {
      for (;;) {
        const next = await worker.call('POST', `/_apiary/api/labeling/jobs/${job.name}/next`);
        const task = next.json?.task;
        if (!task) break;
        const truth = truthBoxes(work)[task.sourceName] ?? [];
        const img = await fetch(url + task.imageUrl, { headers: { cookie: worker.cookie } });
        expect(img.status).toBe(200);
        const submitted = await worker.call(
          'POST',
          `/_apiary/api/labeling/tasks/${task.taskId}/submit`,
          {
            version: task.version,
            submissionId: `${user.name}-${task.taskId}`,
            answer: { imageWidth: 128, imageHeight: 128, boxes: truth },
          },
        );
        expect(submitted.status).toBe(200);
        labelled++;
        progressed = true;
      }
    }
    if (!progressed) {
      if (labelled > 0 && ++idleRounds > 3) break;
      await new Promise((r) => setTimeout(r, 300));
    }
  }
  return labelled;
}

/**
 * Runs docs/tutorial.md as written (python + sh blocks) in `work` against the Apiary that `env`
 * points at, with a worker labelling in the portal; `onOutput` sees the output as it comes.
 * @returns the exit code, the whole output and how many tasks the worker labelled.
 */
export async function runTutorial(opts: {
  url: string;
  work: string;
  env: NodeJS.ProcessEnv;
  worker: { name: string; password: string };
  onOutput?: (soFar: string) => void;
}): Promise<{ code: number; out: string; labelled: number }> {
  fs.writeFileSync(
    path.join(opts.work, 'tutorial.py'),
    documentToScript(path.join(ROOT, 'docs', 'tutorial.md')),
  );
  if (!fs.existsSync(path.join(opts.work, '.venv')))
    fs.symlinkSync(path.join(ROOT, '.venv'), path.join(opts.work, '.venv'));
  const child = spawn('python3', ['tutorial.py'], {
    cwd: opts.work,
    env: { ...opts.env, PYTHONUNBUFFERED: '1' },
  });
  let out = '';
  const onData = (d: Buffer) => {
    out += d.toString();
    opts.onOutput?.(out);
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exited = new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? -1)));
  const signal = { done: false };
  void exited.then(() => (signal.done = true));
  // The worker starts once the generator has written the truth manifest.
  while (!fs.existsSync(path.join(opts.work, 'bees', 'output.manifest')) && !signal.done) {
    await new Promise((r) => setTimeout(r, 200));
  }
  const labelled = signal.done
    ? 0
    : await labelEverything(opts.url, opts.work, opts.worker, signal);
  return { code: await exited, out, labelled };
}
