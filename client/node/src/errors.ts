// AvesError: every failure the client reports, with the gRPC code and the
// server's rich details (google.rpc.BadRequest field violations, RetryInfo).
import {Metadata, status as GrpcStatus, type ServiceError} from '@grpc/grpc-js';
import {BadRequest, RetryInfo} from './gen/google/rpc/error_details';
import {Status} from './gen/google/rpc/status';

/** One field the server refused, e.g. `requests[3].user_id`. */
export interface FieldViolation {
  field: string;
  description: string;
}

export class AvesError extends Error {
  /** The gRPC status code (a number of `grpc.status`). */
  readonly code: GrpcStatus;
  /** Its name, e.g. "INVALID_ARGUMENT". */
  readonly codeName: string;
  /** The server's message, without the code prefix grpc-js adds. */
  readonly details: string;
  /** From google.rpc.BadRequest: which fields were refused and why. */
  readonly fieldViolations: FieldViolation[];
  /** From google.rpc.RetryInfo: how long the server asks to wait. */
  readonly retryDelayMs: number|undefined;
  /** Trailing metadata of the failed call, when there was a call. */
  readonly metadata: Metadata|undefined;

  constructor(
      code: GrpcStatus,
      details: string,
      options: {
        fieldViolations?: FieldViolation[];
        retryDelayMs?: number;
        metadata?: Metadata;
        cause?: unknown;
      } = {},
  ) {
    const codeName = GrpcStatus[code] ?? `CODE_${code}`;
    super(
        `${codeName}: ${details}`,
        options.cause === undefined ? undefined : {cause: options.cause});
    this.name = 'AvesError';
    this.code = code;
    this.codeName = codeName;
    this.details = details;
    this.fieldViolations = options.fieldViolations ?? [];
    this.retryDelayMs = options.retryDelayMs;
    this.metadata = options.metadata;
  }

  /** The violation naming `field`, if the server refused that field. */
  violation(field: string): FieldViolation|undefined {
    return this.fieldViolations.find((v) => v.field === field);
  }
}

const kBadRequestType = 'type.googleapis.com/google.rpc.BadRequest';
const kRetryInfoType = 'type.googleapis.com/google.rpc.RetryInfo';

/** The AvesError of a failed grpc-js call. */
export function fromServiceError(error: ServiceError): AvesError {
  const fieldViolations: FieldViolation[] = [];
  let retryDelayMs: number|undefined;
  // Details another program wrote may be anything: a detail that does not
  // parse is left out rather than hiding the status itself.
  for (const raw of error.metadata?.get('grpc-status-details-bin') ?? []) {
    try {
      const rich = Status.decode(
          typeof raw === 'string' ? Buffer.from(raw, 'binary') : raw);
      for (const detail of rich.details) {
        if (detail.typeUrl === kBadRequestType) {
          for (const v of BadRequest.decode(detail.value).fieldViolations) {
            fieldViolations.push({field: v.field, description: v.description});
          }
        } else if (detail.typeUrl === kRetryInfoType) {
          const delay = RetryInfo.decode(detail.value).retryDelay;
          if (delay !== undefined)
            retryDelayMs = Number(delay.seconds) * 1000 + delay.nanos / 1e6;
        }
      }
    } catch {
      // ignored: see above
    }
  }
  return new AvesError(
      error.code ?? GrpcStatus.UNKNOWN, error.details ?? error.message, {
        fieldViolations,
        retryDelayMs,
        metadata: error.metadata,
        cause: error,
      });
}

/** A caller's mistake found before anything was sent. */
export function invalidArgument(field: string, description: string): AvesError {
  return new AvesError(
      GrpcStatus.INVALID_ARGUMENT, `${field}: ${description}`, {
        fieldViolations: [{field, description}],
      });
}

/** The error an aborted signal ends a call with. */
export function cancelled(signal: AbortSignal|undefined): AvesError {
  const reason = signal?.reason;
  const why = reason instanceof Error ? reason.message :
      reason === undefined            ? 'aborted' :
                                        String(reason);
  return new AvesError(
      GrpcStatus.CANCELLED, `cancelled by the caller: ${why}`, {cause: reason});
}

export function deadlineExceeded(what: string): AvesError {
  return new AvesError(
      GrpcStatus.DEADLINE_EXCEEDED, `deadline exceeded: ${what}`);
}
