import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { LiveHub, MAX_WATCHES_PER_STREAM, WatchError } from './live.js';

/** The part of a ServerResponse the hub uses, recording what it wrote. */
class FakeResponse extends EventEmitter {
  chunks: string[] = [];
  ended = false;
  status = 0;
  writeHead(status: number) {
    this.status = status;
    return this;
  }
  write(s: string) {
    this.chunks.push(s);
    return true;
  }
  end() {
    this.ended = true;
    this.emit('close');
  }
  updates(): unknown[] {
    return this.chunks
      .filter((c) => c.startsWith('event: update'))
      .map((c) => JSON.parse(c.split('data: ')[1]!) as unknown);
  }
}

const settle = () => new Promise((r) => setTimeout(r, 20));

describe('LiveHub', () => {
  it('polls a resource once per tick however many streams watch it, and sends only changes', async () => {
    let status = 'Creating';
    const calls: string[] = [];
    const hub = new LiveHub(async (op, input) => {
      calls.push(`${op} ${JSON.stringify(input)}`);
      return { ok: true, output: { EndpointStatus: status } };
    }, 60_000);
    const a = new FakeResponse();
    const b = new FakeResponse();
    const watch = [{ op: 'DescribeEndpoint', input: { EndpointName: 'e' } }];
    hub.open(a as unknown as ServerResponse, watch);
    await settle();
    hub.open(b as unknown as ServerResponse, watch);
    await settle();
    expect(a.status).toBe(200);
    // b got the cached state at once; the kick on its open polled once for both.
    expect(calls).toHaveLength(2);
    expect(hub.watchedKeys).toBe(1);
    expect(a.updates()).toEqual([
      {
        key: 'DescribeEndpoint {"EndpointName":"e"}',
        op: 'DescribeEndpoint',
        input: { EndpointName: 'e' },
        output: { EndpointStatus: 'Creating' },
      },
    ]);
    expect(b.updates()).toHaveLength(1);

    hub.kick();
    await settle();
    expect(a.updates()).toHaveLength(1); // unchanged: nothing sent
    status = 'InService';
    hub.kick();
    await settle();
    expect(a.updates()).toHaveLength(2);
    expect(b.updates().at(-1)).toMatchObject({ output: { EndpointStatus: 'InService' } });
    expect(calls).toHaveLength(4);

    a.emit('close');
    b.emit('close');
    expect(hub.openStreams).toBe(0);
    expect(hub.watchedKeys).toBe(0);
    hub.close();
  });

  it('sends errors in the protocol shape, and ends every stream on close', async () => {
    const hub = new LiveHub(
      async () => ({
        ok: false,
        code: 'ValidationException',
        message: 'Could not find endpoint "x".',
      }),
      60_000,
    );
    const a = new FakeResponse();
    hub.open(a as unknown as ServerResponse, [
      { op: 'DescribeEndpoint', input: { EndpointName: 'x' } },
    ]);
    await settle();
    expect(a.updates()).toEqual([
      {
        key: 'DescribeEndpoint {"EndpointName":"x"}',
        op: 'DescribeEndpoint',
        input: { EndpointName: 'x' },
        error: { code: 'ValidationException', message: 'Could not find endpoint "x".' },
      },
    ]);
    hub.close();
    expect(a.ended).toBe(true);
  });

  it('accepts only read-only operations with object inputs, a few per stream', () => {
    expect(LiveHub.parseWatches('[{"op":"ListModels"}]')).toEqual([
      { op: 'ListModels', input: {} },
    ]);
    expect(() => LiveHub.parseWatches(undefined)).toThrow(WatchError);
    expect(() => LiveHub.parseWatches('{')).toThrow('w is not valid JSON');
    expect(() => LiveHub.parseWatches('[]')).toThrow('w must be a non-empty JSON array');
    expect(() => LiveHub.parseWatches('[{"op":"CreateModel"}]')).toThrow(
      'w[0].op must name a Describe* or List* operation, or an Apiary* view',
    );
    expect(() => LiveHub.parseWatches('[{"op":"ListModels","input":[1]}]')).toThrow(
      'w[0].input must be a JSON object',
    );
    const many = JSON.stringify(
      Array.from({ length: MAX_WATCHES_PER_STREAM + 1 }, () => ({ op: 'ListModels' })),
    );
    expect(() => LiveHub.parseWatches(many)).toThrow(
      `A stream may watch at most ${MAX_WATCHES_PER_STREAM} things; got ${MAX_WATCHES_PER_STREAM + 1}`,
    );
  });
});
