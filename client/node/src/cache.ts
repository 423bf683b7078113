// The exercise cache (the hot path): get coalesces the process's concurrent
// lookups into BatchGetExercises (the DataLoader pattern; ARCHITECTURE.md
// "Coalescing lookups in a client" is the design this follows).
import {type ClientUnaryCall, status as GrpcStatus} from '@grpc/grpc-js';
import {type Exercise as WireExercise, ExerciseCacheServiceService as Service, type GetExerciseRequest,} from './gen/aves/data/v1/exercise_cache';
import {AvesError, cancelled, deadlineExceeded, fromServiceError} from './errors';
import {parseJson, stringifyJson} from './json';
import {type CallSettings, kMaxAttempts, retryPause, sleep, type Transport} from './transport';

/** A learner context, what a lookup names. */
export interface ExerciseKey {
  userId: string;
  exerciseType: string;
  /** 1 (easiest) to 5. */
  difficultyLevel: number;
  /** Only entries with this topic; unset matches any topic. */
  topic?: string;
}

/** One cached exercise. */
export interface Exercise {
  id: string;
  userId: string;
  exerciseType: string;
  difficultyLevel: number;
  topic?: string;
  /** The exercise, parsed from its JSON. */
  exerciseData: unknown;
  createdAt: Date;
  /** Unset when it never expires. */
  expiresAt?: Date;
}

export interface PutExercise extends ExerciseKey {
  /** Any JSON value (an object or array); sent as JSON text. */
  exerciseData: unknown;
  /** How long it is served, in milliseconds; unset for never. */
  ttlMs?: number;
}

export interface CoalescingOptions {
  /** false: one GetExercise RPC per get (default true). */
  enabled?: boolean;
  /** Distinct keys per BatchGetExercises (default 100; avesd allows 1000). */
  maxBatch?: number;
  /** BatchGetExercises calls out at once (default 2). */
  maxInFlight?: number;
  /** Attempts per get when avesd is UNAVAILABLE (default 5). */
  maxAttempts?: number;
}

// On the hot path: plain assignments, no object spreads.
export function toExercise(wire: WireExercise): Exercise {
  const exercise: Exercise = {
    id: wire.id,
    userId: wire.userId,
    exerciseType: wire.exerciseType,
    difficultyLevel: wire.difficultyLevel,
    exerciseData: parseJson(wire.exerciseData, 'exercise.exercise_data'),
    createdAt: wire.createdAt ?? new Date(0),
  };
  if (wire.topic !== undefined) exercise.topic = wire.topic;
  if (wire.expiresAt !== undefined) exercise.expiresAt = wire.expiresAt;
  return exercise;
}

function toRequest(key: ExerciseKey): GetExerciseRequest {
  const request: GetExerciseRequest = {
    userId: key.userId,
    exerciseType: key.exerciseType,
    difficultyLevel: key.difficultyLevel,
  };
  if (key.topic !== undefined) request.topic = key.topic;
  return request;
}

// Waiters of one key are grouped by this (topic unset differs from "").
const keyId = (k: GetExerciseRequest) =>
    `${k.userId}\u0000${k.exerciseType}\u0000${k.difficultyLevel}\u0000${
        k.topic === undefined ? '\u0001' : k.topic}`;

interface Waiter {
  readonly request: GetExerciseRequest;
  readonly id: string;
  readonly deadline: number;
  readonly resolve: (value: Exercise|null) => void;
  readonly reject: (error: AvesError) => void;
  readonly signal?: AbortSignal;
  settled: boolean;
  attemptsLeft: number;
  // Sent alone: its batch was refused as INVALID_ARGUMENT.
  alone: boolean;
  onAbort?: () => void;
  call?: OutCall;
}

interface OutCall {
  readonly waiters: Waiter[];
  grpcCall?: ClientUnaryCall;
  cancelled: boolean;
}

/** Counters of the coalescer, for tests and benchmarks. */
export interface CoalescerStats {
  rpcs: number;
  keysSent: number;
}

class LookupCoalescer {
  private readonly pending: Waiter[] = [];
  private inFlight = 0;
  private scheduled = false;
  private closed = false;
  // Unanswered waiters, and one timer for the earliest of their deadlines
  // (not one per waiter: the hot path pays a Set insert, not a Timeout).
  private readonly live = new Set<Waiter>();
  private timer?: NodeJS.Timeout;
  private timerAt = Infinity;
  readonly stats: CoalescerStats = {rpcs: 0, keysSent: 0};

  constructor(
      private readonly transport: Transport,
      private readonly maxBatch: number,
      private readonly maxInFlight: number,
      private readonly maxAttempts: number,
  ) {}

  get(key: ExerciseKey, settings?: CallSettings): Promise<Exercise|null> {
    if (this.closed)
      return Promise.reject(
          new AvesError(GrpcStatus.CANCELLED, 'the client is closed'));
    const signal = settings?.signal;
    if (signal?.aborted) return Promise.reject(cancelled(signal));
    const deadline = this.transport.deadlineOf(settings);
    const request = toRequest(key);
    return new Promise<Exercise|null>((resolve, reject) => {
      const waiter: Waiter = {
        request,
        id: keyId(request),
        deadline,
        resolve,
        reject,
        signal,
        settled: false,
        attemptsLeft: this.maxAttempts,
        alone: false,
      };
      // One caller's deadline or abort answers that caller alone.
      this.live.add(waiter);
      if (deadline < this.timerAt) this.armTimer(deadline);
      if (signal) {
        waiter.onAbort = () => this.giveUp(waiter, cancelled(signal));
        signal.addEventListener('abort', waiter.onAbort, {once: true});
      }
      this.pending.push(waiter);
      this.schedule();
    });
  }

  close(): void {
    this.closed = true;
    for (const waiter of this.pending.splice(0)) {
      this.settle(
          waiter,
          () => waiter.reject(
              new AvesError(GrpcStatus.CANCELLED, 'the client is closed')));
    }
  }

  private armTimer(at: number): void {
    clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => this.expire(), Math.max(0, at - Date.now()));
  }

  private expire(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    const now = Date.now();
    let next = Infinity;
    for (const waiter of this.live) {
      if (waiter.deadline <= now) {
        this.giveUp(waiter, deadlineExceeded('exercise lookup'));
      } else if (waiter.deadline < next) {
        next = waiter.deadline;
      }
    }
    if (next < Infinity) this.armTimer(next);
  }

  // The keys of this tick go together: the flush runs once the promise jobs
  // queued now have run (as DataLoader does), never on a timer.
  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(
        () => process.nextTick(() => {
          this.scheduled = false;
          this.fill();
        }),
    );
  }

  private fill(): void {
    while (this.inFlight < this.maxInFlight) {
      const batch = this.takeBatch();
      if (batch.length === 0) return;
      void this.send(batch);
    }
  }

  // Up to maxBatch distinct keys of the queue's live waiters, in order, with
  // every waiter of each key; a waiter marked alone goes in a call of its own.
  private takeBatch(): Waiter[][] {
    const groups = new Map<string, Waiter[]>();
    let rest = 0;
    let i = 0;
    for (; i < this.pending.length; ++i) {
      const waiter = this.pending[i];
      if (waiter.settled) continue;
      const group = groups.get(waiter.id);
      if (group) {
        group.push(waiter);
        continue;
      }
      if (groups.size >= this.maxBatch || (groups.size > 0 && waiter.alone)) {
        this.pending[rest++] = waiter;
        continue;
      }
      groups.set(waiter.id, [waiter]);
      if (waiter.alone) {
        // Its key's other waiters may still join, nothing else.
        for (++i; i < this.pending.length; ++i) {
          const next = this.pending[i];
          if (next.settled) continue;
          if (next.id === waiter.id)
            groups.get(waiter.id)!.push(next);
          else
            this.pending[rest++] = next;
        }
        break;
      }
    }
    this.pending.length = rest;
    return [...groups.values()];
  }

  private async send(groups: Waiter[][]): Promise<void> {
    const waiters: Waiter[] = [];
    // The call lives until its latest member's deadline.
    let deadline = 0;
    const call: OutCall = {waiters, cancelled: false};
    for (const group of groups) {
      for (const waiter of group) {
        waiter.call = call;
        waiters.push(waiter);
        if (waiter.deadline > deadline) deadline = waiter.deadline;
      }
    }
    this.inFlight++;
    this.stats.rpcs++;
    this.stats.keysSent += groups.length;
    try {
      const metadata = await this.transport.metadata();
      const outcome = await new Promise<
          {error?: AvesError; results?: (WireExercise | undefined)[]}>(
          (done) => {
            if (groups.length === 1) {
              call.grpcCall = this.transport.client.makeUnaryRequest(
                  Service.getExercise.path,
                  Service.getExercise.requestSerialize,
                  Service.getExercise.responseDeserialize,
                  groups[0][0].request,
                  metadata,
                  {deadline},
                  (error, response) => {
                    if (error?.code === GrpcStatus.NOT_FOUND)
                      done({results: [undefined]});
                    else if (error)
                      done({error: fromServiceError(error)});
                    else
                      done({results: [response!.exercise]});
                  },
              );
            } else {
              call.grpcCall = this.transport.client.makeUnaryRequest(
                  Service.batchGetExercises.path,
                  Service.batchGetExercises.requestSerialize,
                  Service.batchGetExercises.responseDeserialize,
                  {requests: groups.map((g) => g[0].request)},
                  metadata,
                  {deadline},
                  (error, response) => {
                    if (error) return done({error: fromServiceError(error)});
                    if (response!.results.length !== groups.length) {
                      return done({
                        error: new AvesError(
                            GrpcStatus.INTERNAL,
                            `BatchGetExercises answered ${
                                response!.results.length} results for ${
                                groups.length} requests`,
                            ),
                      });
                    }
                    done({
                      results: response!.results.map(
                          (r) => (r.found ? r.exercise : undefined))
                    });
                  },
              );
            }
            if (waiters.every((w) => w.settled)) this.cancelCall(call);
          });
      if (outcome.results) {
        groups.forEach((group, i) => this.answer(group, outcome.results![i]));
      } else {
        this.fail(groups, outcome.error!);
      }
    } catch (error) {
      const failure = error instanceof AvesError ?
          error :
          new AvesError(GrpcStatus.UNKNOWN, String(error));
      this.fail(groups, failure);
    } finally {
      this.inFlight--;
      this.fill();
    }
  }

  private answer(group: Waiter[], wire: WireExercise|undefined): void {
    for (const waiter of group) {
      if (waiter.settled) continue;
      // Each caller gets its own object (one mutating its result leaves the
      // others'): parsing the JSON again is cheaper than structuredClone.
      let value: Exercise|null;
      try {
        value = wire === undefined ? null : toExercise(wire);
      } catch (error) {
        this.settle(waiter, () => waiter.reject(error as AvesError));
        continue;
      }
      this.settle(waiter, () => waiter.resolve(value));
    }
  }

  private fail(groups: Waiter[][], error: AvesError): void {
    const live = groups.flat().filter((w) => !w.settled);
    if (error.code === GrpcStatus.INVALID_ARGUMENT && groups.length > 1) {
      // One caller's bad key: send each key alone so each hears its own error.
      for (const waiter of live) waiter.alone = true;
      this.pending.unshift(...live);
      return;
    }
    if (error.code === GrpcStatus.UNAVAILABLE) {
      const retry = live.filter((w) => --w.attemptsLeft > 0);
      for (const waiter of live)
        if (waiter.attemptsLeft <= 0)
          this.settle(waiter, () => waiter.reject(error));
      if (retry.length > 0) {
        const attempt =
            this.maxAttempts - Math.min(...retry.map((w) => w.attemptsLeft));
        const pause = retryPause(attempt);
        // Only while some caller's deadline leaves room for another call.
        if (!retry.some((w) => Date.now() + pause < w.deadline)) {
          for (const waiter of retry)
            this.settle(waiter, () => waiter.reject(error));
          return;
        }
        void sleep(pause).then(() => {
          this.pending.unshift(...retry.filter((w) => !w.settled));
          this.schedule();
        });
      }
      return;
    }
    for (const waiter of live) this.settle(waiter, () => waiter.reject(error));
  }

  private giveUp(waiter: Waiter, error: AvesError): void {
    this.settle(waiter, () => waiter.reject(error));
    const call = waiter.call;
    if (call && !call.cancelled && call.waiters.every((w) => w.settled))
      this.cancelCall(call);
  }

  private cancelCall(call: OutCall): void {
    if (!call.grpcCall) return;
    call.cancelled = true;
    call.grpcCall.cancel();
  }

  private settle(waiter: Waiter, how: () => void): void {
    if (waiter.settled) return;
    waiter.settled = true;
    this.live.delete(waiter);
    if (this.live.size === 0 && this.timer) {
      // Nothing left to watch: a pending timer would keep the process up.
      clearTimeout(this.timer);
      this.timer = undefined;
      this.timerAt = Infinity;
    }
    if (waiter.onAbort)
      waiter.signal?.removeEventListener('abort', waiter.onAbort);
    how();
  }
}

export class CacheClient {
  private readonly coalescer?: LookupCoalescer;

  constructor(
      private readonly transport: Transport,
      options: CoalescingOptions = {},
  ) {
    const positive = (name: string, value: number) => {
      if (!Number.isInteger(value) || value < 1) {
        throw new AvesError(
            GrpcStatus.INVALID_ARGUMENT,
            `coalescing.${name}: must be a whole number >= 1`);
      }
      return value;
    };
    if (options.enabled ?? true) {
      this.coalescer = new LookupCoalescer(
          transport,
          positive('maxBatch', options.maxBatch ?? 100),
          positive('maxInFlight', options.maxInFlight ?? 2),
          positive('maxAttempts', options.maxAttempts ?? kMaxAttempts),
      );
    }
  }

  /** RPCs and keys the coalescer has sent (zeros when coalescing is off). */
  get coalescerStats(): CoalescerStats {
    return {...(this.coalescer?.stats ?? {rpcs: 0, keysSent: 0})};
  }

  /**
   * The newest unexpired entry for `key`, or null on a miss. Concurrent gets
   * are coalesced; each keeps its own deadline and signal.
   */
  async get(key: ExerciseKey, settings?: CallSettings): Promise<Exercise|null> {
    if (this.coalescer) return this.coalescer.get(key, settings);
    try {
      const response = await this.transport.unary(
          Service.getExercise, toRequest(key), settings, true);
      return response.exercise ? toExercise(response.exercise) : null;
    } catch (error) {
      if (error instanceof AvesError && error.code === GrpcStatus.NOT_FOUND)
        return null;
      throw error;
    }
  }

  /** One BatchGetExercises: a result per key, in order (null for a miss). */
  async getMany(keys: ExerciseKey[], settings?: CallSettings):
      Promise<(Exercise | null)[]> {
    const response = await this.transport.unary(
        Service.batchGetExercises,
        {requests: keys.map(toRequest)},
        settings,
        true,
    );
    return response.results.map(
        (r) => (r.found && r.exercise ? toExercise(r.exercise) : null));
  }

  /** Stores an entry; the next get through any avesd sees it. */
  async put(entry: PutExercise, settings?: CallSettings): Promise<Exercise> {
    const request = {
      ...toRequest(entry),
      exerciseData: stringifyJson(entry.exerciseData, 'exercise_data'),
      ...(entry.ttlMs !== undefined ? {ttl: durationOf(entry.ttlMs, 'ttl')} :
                                      {}),
    };
    const response = await this.transport.unary(
        Service.putExercise, request, settings, false);
    return toExercise(response.exercise!);
  }

  /** Deletes expired entries (operator); at most `maxRows` (0: all). */
  async purgeExpired(
      options: {maxRows?: bigint|number} = {},
      settings?: CallSettings,
      ): Promise<{deleted: bigint; batches: number}> {
    const response = await this.transport.unary(
        Service.purgeExpired,
        {maxRows: BigInt(options.maxRows ?? 0)},
        settings,
        false,
    );
    return {deleted: response.deleted, batches: response.batches};
  }

  close(): void {
    this.coalescer?.close();
  }
}

function durationOf(ms: number, field: string) {
  if (!Number.isFinite(ms) || ms < 0) {
    throw new AvesError(
        GrpcStatus.INVALID_ARGUMENT,
        `${field}: must be a finite number of milliseconds >= 0`, {
          fieldViolations: [
            {field, description: 'must be a finite number of milliseconds >= 0'}
          ],
        });
  }
  const whole = Math.floor(ms);
  return {
    seconds: BigInt(Math.floor(whole / 1000)),
    nanos: (whole % 1000) * 1e6 + Math.round((ms - whole) * 1e6)
  };
}
