import type { Training, TrainingJobRecord, LogLine } from '../../training/index.js';
import type { OperationTable } from '../sagemaker/protocol.js';
import { logsError } from './errors.js';

/**
 * The CloudWatch Logs subset SageMaker clients use to tail training jobs (AWS JSON 1.1,
 * `X-Amz-Target: Logs_20140328.<Op>`, signing name `logs`): DescribeLogStreams, GetLogEvents and
 * FilterLogEvents on the log group `/aws/sagemaker/TrainingJobs`, one stream per job named
 * `{job}/algo-1-{creation epoch seconds}`. Timestamps are epoch milliseconds, as CloudWatch's.
 */
export const TRAINING_LOG_GROUP = '/aws/sagemaker/TrainingJobs';
const MAX_EVENTS = 10_000;
const MAX_BYTES = 1024 * 1024;

const groupNotFound = () =>
  logsError('ResourceNotFoundException', 'The specified log group does not exist.');
const streamNotFound = () =>
  logsError('ResourceNotFoundException', 'The specified log stream does not exist.');
const badToken = (t: string) =>
  logsError('InvalidParameterException', `The specified nextToken '${t}' is not valid.`);

function groupOf(input: { logGroupName?: string; logGroupIdentifier?: string }): void {
  const g = input.logGroupName ?? input.logGroupIdentifier;
  if (g === undefined)
    throw logsError('InvalidParameterException', 'logGroupName or logGroupIdentifier is required');
  const name = g.startsWith('arn:')
    ? g.replace(/^arn:[^:]+:logs:[^:]*:\d*:log-group:/, '').replace(/:\*$/, '')
    : g;
  if (name !== TRAINING_LOG_GROUP) throw groupNotFound();
}

export function logOperations(deps: {
  training: Training;
  region: string;
  accountId: string;
}): OperationTable {
  const { training } = deps;

  const streamOf = async (streamName: string): Promise<TrainingJobRecord> => {
    const slash = streamName.indexOf('/');
    if (slash <= 0) throw streamNotFound();
    const job = await training.find(streamName.slice(0, slash));
    if (!job || training.logStreamName(job) !== streamName) throw streamNotFound();
    return job;
  };

  const describeStream = async (job: TrainingJobRecord) => {
    const range = await training.logReader(job.name).timeRange();
    const name = training.logStreamName(job);
    return {
      logStreamName: name,
      creationTime: job.createdAtMs,
      ...(range
        ? {
            firstEventTimestamp: range.first,
            lastEventTimestamp: range.last,
            lastIngestionTime: range.last,
          }
        : {}),
      arn: `arn:aws:logs:${deps.region}:${deps.accountId}:log-group:${TRAINING_LOG_GROUP}:log-stream:${name}`,
      storedBytes: 0,
    };
  };

  /** Forward from `seq`, within the time window, up to the limits. */
  const readForward = async (
    job: TrainingJobRecord,
    seq: number,
    limit: number,
    startTime?: number,
    endTime?: number,
  ) => {
    const log = training.logReader(job.name);
    const out: LogLine[] = [];
    let bytes = 0;
    let next = seq;
    const total = await log.count();
    while (next < total && out.length < limit && bytes < MAX_BYTES) {
      const batch = await log.read(next, Math.min(1000, limit - out.length));
      if (batch.length === 0) break;
      for (const l of batch) {
        next = l.seq + 1;
        if (endTime !== undefined && l.timestampMs >= endTime) return { lines: out, next: total };
        if (startTime !== undefined && l.timestampMs < startTime) continue;
        out.push(l);
        bytes += l.message.length + 26;
        if (out.length >= limit || bytes >= MAX_BYTES) break;
      }
    }
    return { lines: out, next };
  };

  const toEvent = (l: LogLine) => ({
    timestamp: l.timestampMs,
    message: l.message,
    ingestionTime: l.timestampMs,
  });

  return {
    async DescribeLogStreams(input: {
      logGroupName?: string;
      logGroupIdentifier?: string;
      logStreamNamePrefix?: string;
      orderBy?: 'LogStreamName' | 'LastEventTime';
      descending?: boolean;
      nextToken?: string;
      limit?: number;
    }) {
      groupOf(input);
      if (input.orderBy === 'LastEventTime' && input.logStreamNamePrefix) {
        throw logsError(
          'InvalidParameterException',
          'Cannot order by LastEventTime with a logStreamNamePrefix.',
        );
      }
      const prefix = input.logStreamNamePrefix ?? '';
      const jobNamePart = prefix.includes('/') ? prefix.slice(0, prefix.indexOf('/')) : prefix;
      let jobs: TrainingJobRecord[] = [];
      if (prefix.includes('/')) {
        const j = await training.find(jobNamePart);
        jobs = j ? [j] : [];
      } else {
        const page = await training.list({
          maxResults: 100,
          offset: 0,
          sortBy: 'creationTime',
          sortOrder: 'desc',
          nameContains: jobNamePart || undefined,
        });
        jobs = [...page.items];
      }
      let streams = (await Promise.all(jobs.map(describeStream))).filter((s) =>
        s.logStreamName.startsWith(prefix),
      );
      streams.sort((a, b) =>
        input.orderBy === 'LastEventTime'
          ? (a.lastEventTimestamp ?? 0) - (b.lastEventTimestamp ?? 0)
          : a.logStreamName < b.logStreamName
            ? -1
            : a.logStreamName > b.logStreamName
              ? 1
              : 0,
      );
      if (input.descending) streams.reverse();
      const offset = input.nextToken ? Number(input.nextToken.replace(/^s\//, '')) : 0;
      if (!Number.isInteger(offset) || offset < 0) throw badToken(input.nextToken!);
      const limit = input.limit ?? 50;
      const page = streams.slice(offset, offset + limit);
      streams = page;
      return {
        logStreams: streams,
        ...(offset + limit < jobs.length ? { nextToken: `s/${offset + limit}` } : {}),
      };
    },

    async GetLogEvents(input: {
      logGroupName?: string;
      logGroupIdentifier?: string;
      logStreamName: string;
      startTime?: number;
      endTime?: number;
      nextToken?: string;
      limit?: number;
      startFromHead?: boolean;
    }) {
      groupOf(input);
      const job = await streamOf(input.logStreamName);
      const limit = Math.min(input.limit ?? MAX_EVENTS, MAX_EVENTS);
      const log = training.logReader(job.name);
      const total = await log.count();
      let lines: LogLine[];
      let forwardFrom: number;
      let backwardFrom: number;
      const token = input.nextToken;
      if (token !== undefined) {
        const m = /^([fb])\/(\d+)$/.exec(token);
        if (!m) throw badToken(token);
        const seq = Number(m[2]);
        if (m[1] === 'f') {
          const r = await readForward(job, seq, limit, input.startTime, input.endTime);
          lines = r.lines;
          forwardFrom = r.lines.length ? r.next : seq;
          backwardFrom = r.lines[0]?.seq ?? seq;
        } else {
          const from = Math.max(0, seq - limit);
          lines = await log.read(from, seq - from);
          forwardFrom = seq;
          backwardFrom = from;
        }
      } else if (input.startFromHead) {
        const r = await readForward(job, 0, limit, input.startTime, input.endTime);
        lines = r.lines;
        forwardFrom = r.lines.length ? r.next : total;
        backwardFrom = r.lines[0]?.seq ?? 0;
      } else {
        const from = Math.max(0, total - limit);
        lines = (await log.read(from, total - from)).filter(
          (l) =>
            (input.startTime === undefined || l.timestampMs >= input.startTime) &&
            (input.endTime === undefined || l.timestampMs < input.endTime),
        );
        forwardFrom = total;
        backwardFrom = lines[0]?.seq ?? from;
      }
      return {
        events: lines.map(toEvent),
        nextForwardToken: `f/${forwardFrom}`,
        nextBackwardToken: `b/${backwardFrom}`,
      };
    },

    async FilterLogEvents(input: {
      logGroupName?: string;
      logGroupIdentifier?: string;
      logStreamNames?: string[];
      logStreamNamePrefix?: string;
      startTime?: number;
      endTime?: number;
      filterPattern?: string;
      nextToken?: string;
      limit?: number;
    }) {
      groupOf(input);
      let jobs: TrainingJobRecord[];
      if (input.logStreamNames?.length) {
        jobs = [];
        for (const s of input.logStreamNames) jobs.push(await streamOf(s));
      } else {
        const prefix = input.logStreamNamePrefix ?? '';
        const part = prefix.includes('/') ? prefix.slice(0, prefix.indexOf('/')) : prefix;
        const page = await training.list({
          maxResults: 100,
          offset: 0,
          sortBy: 'name',
          sortOrder: 'asc',
          nameContains: part || undefined,
        });
        jobs = page.items.filter((j) => training.logStreamName(j).startsWith(prefix));
      }
      const terms =
        (input.filterPattern ?? '')
          .match(/"[^"]*"|\S+/g)
          ?.map((t) => t.replace(/^"|"$/g, ''))
          .filter(Boolean) ?? [];
      let [streamIdx, seq] = [0, 0];
      if (input.nextToken) {
        const m = /^(\d+)\/(\d+)$/.exec(input.nextToken);
        if (!m) throw badToken(input.nextToken);
        [streamIdx, seq] = [Number(m[1]), Number(m[2])];
      }
      const limit = Math.min(input.limit ?? MAX_EVENTS, MAX_EVENTS);
      const events: {
        logStreamName: string;
        timestamp: number;
        message: string;
        ingestionTime: number;
        eventId: string;
      }[] = [];
      for (; streamIdx < jobs.length && events.length < limit; streamIdx++, seq = 0) {
        const job = jobs[streamIdx]!;
        const stream = training.logStreamName(job);
        const r = await readForward(job, seq, MAX_EVENTS, input.startTime, input.endTime);
        for (const l of r.lines) {
          seq = l.seq + 1;
          if (terms.length && !terms.every((t) => l.message.includes(t))) continue;
          events.push({ logStreamName: stream, ...toEvent(l), eventId: `${streamIdx}-${l.seq}` });
          if (events.length >= limit) break;
        }
        if (events.length >= limit) break;
      }
      const more = streamIdx < jobs.length && events.length >= limit;
      return {
        events,
        searchedLogStreams: jobs.map((j) => ({
          logStreamName: training.logStreamName(j),
          searchedCompletely: !more,
        })),
        ...(more ? { nextToken: `${streamIdx}/${seq}` } : {}),
      };
    },
  };
}
