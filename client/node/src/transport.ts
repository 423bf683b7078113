// Transport: one grpc-js channel shared by every service object, the
// caller's token on every call, deadlines, AbortSignal and retries of reads.
import {type CallOptions, type ChannelCredentials, Client, type ClientDuplexStream, type ClientReadableStream, credentials, Metadata, type ServiceError, status as GrpcStatus,} from '@grpc/grpc-js';
import {AvesError, cancelled, fromServiceError} from './errors';

/** TLS towards avesd: PEM buffers (or strings) as grpc-js takes them. */
export interface TlsOptions {
  /** CAs to verify avesd's certificate; the system's when unset. */
  ca?: Buffer|string;
  /** Client certificate chain and key, for mutual TLS. */
  cert?: Buffer|string;
  key?: Buffer|string;
  /** The name to verify avesd's certificate against, when not the address. */
  serverName?: string;
}

export interface TransportOptions {
  /** host:port of avesd. */
  address: string;
  /** true: TLS with the system's CAs; an object: as given; unset: plaintext. */
  tls?: boolean|TlsOptions;
  /** A bearer token sent on every call. */
  token?: string;
  /**
   * Asked for a token before every call (rotating tokens); wins over `token`.
   */
  tokenProvider?: () => string | Promise<string>;
  /** Deadline of a call that names none (default 10,000 ms). */
  defaultDeadlineMs?: number;
  /** Largest message the client accepts (default 4 MiB, avesd's default). */
  maxReceiveMessageBytes?: number;
  /** More grpc-js channel options. */
  channelOptions?: Record<string, string|number>;
}

/** What every call takes. */
export interface CallSettings {
  /** Milliseconds from now; the client's default when unset. */
  deadlineMs?: number;
  /** Aborting it cancels the call (the promise rejects with CANCELLED). */
  signal?: AbortSignal;
}

/** A method of a generated grpc-js service definition. */
export interface MethodDefinition<Req, Res> {
  path: string;
  requestSerialize: (value: Req) => Buffer;
  responseDeserialize: (value: Buffer) => Res;
}

const toBuffer = (pem: Buffer|string|undefined) => pem === undefined ?
    undefined :
    Buffer.isBuffer(pem) ? pem :
                           Buffer.from(pem);

function channelCredentials(tls: TransportOptions['tls']): ChannelCredentials {
  if (tls === undefined || tls === false) return credentials.createInsecure();
  const o = tls === true ? {} : tls;
  return credentials.createSsl(
      toBuffer(o.ca) ?? null, toBuffer(o.key) ?? null,
      toBuffer(o.cert) ?? null);
}

// Back-off of read retries: exponential, capped, with "equal jitter" (half
// fixed, half random) so a retry never comes at once: grpc-js fails calls
// straight away while its channel waits to reconnect.
const kRetryBaseMs = 100;
const kRetryCapMs = 1000;
export const kMaxAttempts = 5;

/** The pause before retry number `retry` (1 for the first). */
export function retryPause(retry: number): number {
  const ceiling = Math.min(kRetryCapMs, kRetryBaseMs * 2 ** (retry - 1));
  return ceiling / 2 + (Math.random() * ceiling) / 2;
}

export class Transport {
  readonly client: Client;
  readonly defaultDeadlineMs: number;
  private readonly token?: string;
  private readonly tokenProvider?: () => string | Promise<string>;

  constructor(options: TransportOptions) {
    if (!options.address)
      throw new AvesError(
          GrpcStatus.INVALID_ARGUMENT, 'address: required (host:port)');
    this.defaultDeadlineMs = options.defaultDeadlineMs ?? 10_000;
    if (!(this.defaultDeadlineMs > 0)) {
      throw new AvesError(
          GrpcStatus.INVALID_ARGUMENT, 'defaultDeadlineMs: must be positive');
    }
    this.token = options.token;
    this.tokenProvider = options.tokenProvider;
    const tls = typeof options.tls === 'object' ? options.tls : undefined;
    this.client = new Client(options.address, channelCredentials(options.tls), {
      'grpc.max_receive_message_length':
          options.maxReceiveMessageBytes ?? 4 << 20,
      ...(tls?.serverName ? {'grpc.ssl_target_name_override': tls.serverName} :
                            {}),
      ...options.channelOptions,
    });
  }

  close(): void {
    this.client.close();
  }

  /** The absolute deadline of a call made now with `settings`. */
  deadlineOf(settings: CallSettings|undefined): number {
    const ms = settings?.deadlineMs ?? this.defaultDeadlineMs;
    if (!(ms >= 0) || !Number.isFinite(ms)) {
      throw new AvesError(
          GrpcStatus.INVALID_ARGUMENT,
          `deadlineMs: must be a finite number >= 0, got ${ms}`);
    }
    return Date.now() + ms;
  }

  /** Metadata carrying the caller's token (none without one). */
  async metadata(): Promise<Metadata> {
    const metadata = new Metadata();
    const token = this.tokenProvider ? await this.tokenProvider() : this.token;
    if (token) metadata.set('authorization', `Bearer ${token}`);
    return metadata;
  }

  /**
   * One unary call. `idempotent` calls (reads) are retried on UNAVAILABLE
   * with jittered back-off while their deadline allows; writes never are.
   */
  async unary<Req, Res>(
      method: MethodDefinition<Req, Res>,
      request: Req,
      settings: CallSettings|undefined,
      idempotent: boolean,
      deadline = this.deadlineOf(settings),
      ): Promise<Res> {
    const signal = settings?.signal;
    for (let attempt = 1;; ++attempt) {
      if (signal?.aborted) throw cancelled(signal);
      try {
        return await this.unaryOnce(method, request, deadline, signal);
      } catch (error) {
        if (!(error instanceof AvesError) ||
            error.code !== GrpcStatus.UNAVAILABLE)
          throw error;
        if (!idempotent || attempt >= kMaxAttempts) throw error;
        const pause = retryPause(attempt);
        if (Date.now() + pause >= deadline) throw error;
        await sleep(pause, signal);
      }
    }
  }

  private async unaryOnce<Req, Res>(
      method: MethodDefinition<Req, Res>,
      request: Req,
      deadline: number,
      signal: AbortSignal|undefined,
      ): Promise<Res> {
    const metadata = await this.metadata();
    return new Promise<Res>((resolve, reject) => {
      const options: CallOptions = {deadline};
      const call = this.client.makeUnaryRequest(
          method.path,
          method.requestSerialize,
          method.responseDeserialize,
          request,
          metadata,
          options,
          (error: ServiceError|null, response?: Res) => {
            signal?.removeEventListener('abort', onAbort);
            if (error)
              reject(
                  signal?.aborted ? cancelled(signal) :
                                    fromServiceError(error));
            else
              resolve(response as Res);
          },
      );
      const onAbort = () => call.cancel();
      signal?.addEventListener('abort', onAbort, {once: true});
    });
  }

  async serverStream<Req, Res>(
      method: MethodDefinition<Req, Res>,
      request: Req,
      options: CallOptions,
      ): Promise<ClientReadableStream<Res>> {
    const metadata = await this.metadata();
    return this.client.makeServerStreamRequest(
        method.path,
        method.requestSerialize,
        method.responseDeserialize,
        request,
        metadata,
        options,
    );
  }

  async bidiStream<Req, Res>(
      method: MethodDefinition<Req, Res>,
      options: CallOptions,
      ): Promise<ClientDuplexStream<Req, Res>> {
    const metadata = await this.metadata();
    return this.client.makeBidiStreamRequest(
        method.path,
        method.requestSerialize,
        method.responseDeserialize,
        metadata,
        options,
    );
  }
}

/** Waits `ms`, or rejects with CANCELLED when `signal` aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(cancelled(signal));
    const onAbort = () => {
      clearTimeout(timer);
      reject(cancelled(signal));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, {once: true});
  });
}
