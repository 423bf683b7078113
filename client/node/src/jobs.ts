// Batch jobs: lists, details, errors, progress, and watch as an async
// iterator that takes a fresh snapshot after the server's feed restarts.
import {status as GrpcStatus} from '@grpc/grpc-js';
import {BatchJobServiceService as Service, JobEventType, type Job as WireJob, type JobError as WireJobError, JobStatus,} from './gen/aves/data/v1/batch_jobs';
import {AvesError, fromServiceError} from './errors';
import {parseJson, stringifyJson} from './json';
import {type CallSettings, sleep, type Transport} from './transport';

export {JobEventType, JobStatus};

export interface Job {
  id: string;
  jobType: string;
  status: JobStatus;
  totalItems: bigint;
  processedItems: bigint;
  failedItems: bigint;
  /** Job-specific details, parsed from their JSON. */
  metadata: unknown;
  createdAt: Date;
  startedAt?: Date;
  completedAt?: Date;
  updatedAt: Date;
  /**
   * The authenticated subject that created it (unset without authentication).
   */
  createdBy?: string;
}

export interface JobError {
  id: bigint;
  jobId: string;
  itemIndex?: bigint;
  itemId?: string;
  errorMessage: string;
  createdAt: Date;
}

export interface JobFilter {
  /** Jobs in any of these statuses; all statuses when empty. */
  statuses?: JobStatus[];
  jobType?: string;
}

/** A page and the token of the next (undefined on the last page). */
export interface Page<T> {
  items: T[];
  nextPageToken?: string;
}

/**
 * What watch yields: the snapshot's jobs, its end, then live changes. After
 * the stream was lost (UNAVAILABLE) watch yields `restarted` with the
 * error, then a fresh snapshot: a consumer keeping state starts it again.
 */
export type JobEvent =|{
  type: 'snapshot'|'created'|'updated';
  job: Job
}
|{
  type: 'deleted';
  job: Pick<Job, 'id'|'jobType'|'status'>
}
|{type: 'snapshot_complete'}|{
  type: 'restarted';
  error: AvesError
};

export interface WatchOptions {
  /** Jobs in the snapshot (the server's default when unset). */
  snapshotSize?: number;
  /** Stops the watch: the iterator ends (no error). */
  signal?: AbortSignal;
  /** Re-subscriptions in a row without an event between (default unlimited). */
  maxRestarts?: number;
}

export function toJob(wire: WireJob): Job {
  return {
    id: wire.id,
    jobType: wire.jobType,
    status: wire.status,
    totalItems: wire.totalItems,
    processedItems: wire.processedItems,
    failedItems: wire.failedItems,
    metadata: parseJson(wire.metadata, 'job.metadata'),
    createdAt: wire.createdAt ?? new Date(0),
    ...(wire.startedAt ? {startedAt: wire.startedAt} : {}),
    ...(wire.completedAt ? {completedAt: wire.completedAt} : {}),
    updatedAt: wire.updatedAt ?? wire.createdAt ?? new Date(0),
    ...(wire.createdBy !== undefined ? {createdBy: wire.createdBy} : {}),
  };
}

function toJobError(wire: WireJobError): JobError {
  return {
    id: wire.id,
    jobId: wire.jobId,
    ...(wire.itemIndex !== undefined ? {itemIndex: wire.itemIndex} : {}),
    ...(wire.itemId !== undefined ? {itemId: wire.itemId} : {}),
    errorMessage: wire.errorMessage,
    createdAt: wire.createdAt ?? new Date(0),
  };
}

const nextToken = (token: string) =>
    (token === '' ? {} : {nextPageToken: token});

export class JobsClient {
  constructor(private readonly transport: Transport) {}

  async list(
      filter:
          JobFilter&{
            pageSize?: number;
            pageToken?: string
          } = {},
      settings?: CallSettings,
      ): Promise<Page<Job>> {
    const response = await this.transport.unary(
        Service.listJobs,
        {
          statuses: filter.statuses ?? [],
          ...(filter.jobType !== undefined ? {jobType: filter.jobType} : {}),
          pageSize: filter.pageSize ?? 0,
          pageToken: filter.pageToken ?? '',
        },
        settings,
        true,
    );
    return {
      items: response.jobs.map(toJob),
      ...nextToken(response.nextPageToken)
    };
  }

  /** The job; rejects with NOT_FOUND when there is none. */
  async get(id: string, settings?: CallSettings): Promise<Job> {
    const response =
        await this.transport.unary(Service.getJob, {id}, settings, true);
    return toJob(response.job!);
  }

  async listErrors(
      jobId: string,
      page: {pageSize?: number; pageToken?: string} = {},
      settings?: CallSettings,
      ): Promise<Page<JobError>> {
    const response = await this.transport.unary(
        Service.listJobErrors,
        {jobId, pageSize: page.pageSize ?? 0, pageToken: page.pageToken ?? ''},
        settings,
        true,
    );
    return {
      items: response.errors.map(toJobError),
      ...nextToken(response.nextPageToken)
    };
  }

  async create(
      job: {jobType: string; totalItems?: bigint | number; metadata?: unknown},
      settings?: CallSettings,
      ): Promise<Job> {
    const response = await this.transport.unary(
        Service.createJob,
        {
          jobType: job.jobType,
          totalItems: BigInt(job.totalItems ?? 0),
          metadata: job.metadata === undefined ?
              '' :
              stringifyJson(job.metadata, 'metadata'),
        },
        settings,
        false,
    );
    return toJob(response.job!);
  }

  async updateProgress(
      update: {
        id: string;
        status?: JobStatus;
        processedItemsDelta?: bigint | number;
        failedItemsDelta?: bigint | number;
        totalItems?: bigint | number;
      },
      settings?: CallSettings,
      ): Promise<Job> {
    const response = await this.transport.unary(
        Service.updateJobProgress,
        {
          id: update.id,
          status: update.status ?? JobStatus.JOB_STATUS_UNSPECIFIED,
          processedItemsDelta: BigInt(update.processedItemsDelta ?? 0),
          failedItemsDelta: BigInt(update.failedItemsDelta ?? 0),
          ...(update.totalItems !== undefined ?
                  {totalItems: BigInt(update.totalItems)} :
                  {}),
        },
        settings,
        false,
    );
    return toJob(response.job!);
  }

  async appendErrors(
      jobId: string,
      errors: {itemIndex?: bigint|number; itemId?: string;
                                          errorMessage: string}[],
      settings?: CallSettings,
      ): Promise<bigint> {
    const response = await this.transport.unary(
        Service.appendJobErrors,
        {
          jobId,
          errors: errors.map(
              (e) => ({
                ...(e.itemIndex !== undefined ?
                        {itemIndex: BigInt(e.itemIndex)} :
                        {}),
                ...(e.itemId !== undefined ? {itemId: e.itemId} : {}),
                errorMessage: e.errorMessage,
              })),
        },
        settings,
        false,
    );
    return response.appended;
  }

  /**
   * The jobs matching `filter`, then every change, until `signal` aborts or
   * the consumer stops iterating. A lost stream (UNAVAILABLE: avesd's feed
   * restarted, avesd restarted, the connection dropped) is re-subscribed
   * with jittered back-off; any other error ends the iteration with it.
   */
  async *
      watch(filter: JobFilter = {}, options: WatchOptions = {}):
          AsyncGenerator<JobEvent, void, undefined> {
    const {signal} = options;
    const request = {
      statuses: filter.statuses ?? [],
      ...(filter.jobType !== undefined ? {jobType: filter.jobType} : {}),
      snapshotSize: options.snapshotSize ?? 0,
    };
    let restartsInARow = 0;
    while (!signal?.aborted) {
      const stream =
          await this.transport.serverStream(Service.watchJobs, request, {});
      const onAbort = () => stream.cancel();
      signal?.addEventListener('abort', onAbort, {once: true});
      let failure: AvesError|undefined;
      try {
        for await (const message of stream) {
          restartsInARow = 0;
          yield toEvent(message.type, message.job);
        }
        return;  // the server ended the watch
      } catch (error) {
        if (signal?.aborted) return;
        failure = error instanceof AvesError ? error :
                                               fromServiceError(error as never);
        if (failure.code !== GrpcStatus.UNAVAILABLE) throw failure;
      } finally {
        signal?.removeEventListener('abort', onAbort);
        stream.cancel();  // no-op once ended; stops it when the consumer broke
                          // out
      }
      if (++restartsInARow > (options.maxRestarts ?? Infinity)) throw failure;
      try {
        await sleep(
            Math.random() * Math.min(2000, 50 * 2 ** restartsInARow), signal);
      } catch {
        return;  // aborted while waiting
      }
      yield {type: 'restarted', error: failure};
    }
  }
}

function toEvent(type: JobEventType, wire: WireJob|undefined): JobEvent {
  switch (type) {
    case JobEventType.JOB_EVENT_TYPE_SNAPSHOT_COMPLETE:
      return {type: 'snapshot_complete'};
    case JobEventType.JOB_EVENT_TYPE_DELETED:
      return {
        type: 'deleted',
        job: {id: wire!.id, jobType: wire!.jobType, status: wire!.status}
      };
    case JobEventType.JOB_EVENT_TYPE_SNAPSHOT:
      return {type: 'snapshot', job: toJob(wire!)};
    case JobEventType.JOB_EVENT_TYPE_CREATED:
      return {type: 'created', job: toJob(wire!)};
    case JobEventType.JOB_EVENT_TYPE_UPDATED:
      return {type: 'updated', job: toJob(wire!)};
    default:
      throw new AvesError(
          GrpcStatus.INTERNAL,
          `WatchJobs sent an event of unknown type ${type}`);
  }
}
