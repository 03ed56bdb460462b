import fs from 'node:fs';
import { Writable } from 'node:stream';
import type { KubeConfig } from '@kubernetes/client-node';
import { kubernetesClient } from '../../../shared/lazy-modules.js';

/**
 * Streams a pod container's log (with timestamps) into the job's log file. The last timestamp
 * written is kept beside the file (`<logFile>.k8s-cursor`), so a re-attach after an Apiary restart
 * skips the lines already there.
 * @returns a handle whose `abort` stops the stream.
 */
export function relayPodLog(
  kc: KubeConfig,
  target: { namespace: string; pod: string; container: string; logFile: string },
  warn?: (message: string, err?: unknown) => void,
): { abort(): void } {
  const cursorFile = `${target.logFile}.k8s-cursor`;
  let cursor = '';
  try {
    cursor = fs.readFileSync(cursorFile, 'utf8').trim();
  } catch {
    /* from the start */
  }
  let partial = '';
  const out = new Writable({
    write(chunk: Buffer, _enc, cb) {
      partial += chunk.toString('utf8');
      const lines = partial.split('\n');
      partial = lines.pop() ?? '';
      let text = '';
      let last = cursor;
      for (const line of lines) {
        const sp = line.indexOf(' ');
        const ts = sp > 0 ? line.slice(0, sp) : '';
        if (cursor && ts && ts <= cursor) continue; // already in the file (a re-attach)
        text += (sp > 0 ? line.slice(sp + 1) : line) + '\n';
        if (ts) last = ts;
      }
      if (text) {
        fs.appendFileSync(target.logFile, text);
        cursor = last;
        fs.writeFileSync(cursorFile, cursor);
      }
      cb();
    },
  });
  let stream: AbortController | undefined;
  let aborted = false;
  void new (kubernetesClient().Log)(kc)
    .log(target.namespace, target.pod, target.container, out, { follow: true, timestamps: true })
    .then((c) => {
      stream = c;
      if (aborted) c.abort();
    })
    .catch((err: unknown) => warn?.(`cannot read the log of pod ${target.pod}`, err));
  return {
    abort() {
      aborted = true;
      stream?.abort();
    },
  };
}
