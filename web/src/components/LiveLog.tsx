import { useEffect, useRef, useState } from 'react';
import Box from '@cloudscape-design/components/box';
import Container from '@cloudscape-design/components/container';
import Header from '@cloudscape-design/components/header';
import Toggle from '@cloudscape-design/components/toggle';
import { API } from '../app/api.js';

interface Line {
  seq: number;
  timestampMs: number;
  message: string;
}

const KEEP = 5000;

/** A training job's log, tailed live over SSE while the page is open (the last 5,000 lines). */
export default function LiveLog({ jobName }: { jobName: string }) {
  const [lines, setLines] = useState<Line[]>([]);
  const [follow, setFollow] = useState(true);
  const [dropped, setDropped] = useState(0);
  const pre = useRef<HTMLPreElement>(null);

  useEffect(() => {
    setLines([]);
    const source = new EventSource(
      `${API}/training-jobs/${encodeURIComponent(jobName)}/logs/stream?from=0`,
    );
    source.addEventListener('lines', (ev) => {
      const data = JSON.parse((ev as MessageEvent<string>).data) as { lines: Line[] };
      setLines((prev) => {
        // A reconnect resends from the start: keep each sequence number once.
        const last = prev.at(-1)?.seq ?? -1;
        const fresh = data.lines.filter((l) => l.seq > last);
        const all = prev.concat(fresh);
        if (all.length > KEEP) setDropped((d) => d + all.length - KEEP);
        return all.length > KEEP ? all.slice(all.length - KEEP) : all;
      });
    });
    return () => source.close();
  }, [jobName]);

  useEffect(() => {
    if (follow && pre.current) pre.current.scrollTop = pre.current.scrollHeight;
  }, [lines, follow]);

  return (
    <Container
      header={
        <Header
          variant="h2"
          description="Live: new lines appear as the job writes them."
          actions={
            <Toggle checked={follow} onChange={(e) => setFollow(e.detail.checked)}>
              Follow
            </Toggle>
          }
        >
          Logs
        </Header>
      }
    >
      {lines.length === 0 ? (
        <Box color="text-body-secondary">No log lines yet.</Box>
      ) : (
        <pre
          ref={pre}
          className="apiary-log"
          tabIndex={0}
          aria-label="Training job log"
          aria-live="off"
        >
          {dropped > 0 ? `… ${dropped} earlier lines not shown …\n` : ''}
          {lines
            .map((l) => `${new Date(l.timestampMs).toISOString().slice(11, 19)}  ${l.message}`)
            .join('\n')}
        </pre>
      )}
    </Container>
  );
}
