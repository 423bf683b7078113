// Bulk loads: an async iterable of rows streamed into BulkInsertService.Insert
// with backpressure, resumed under the same load id after a dropped
// connection (the server makes a resumed load exactly once), with progress.
import {randomUUID} from 'node:crypto';
import {type ClientDuplexStream, status as GrpcStatus} from '@grpc/grpc-js';
import {BulkInsertServiceService as Service, type Cell, type InsertRequest, type InsertResponse, InsertMode, type Row,} from './gen/aves/data/v1/bulk_insert';
import {NullValue} from './gen/google/protobuf/struct';
import {AvesError, cancelled, fromServiceError, invalidArgument} from './errors';
import {sleep, type Transport} from './transport';

/** A row: values in `columns` order, or an object keyed by column. */
export type LoadRow = unknown[]|Record<string, unknown>;

export interface LoadProgress {
  /** Rows [0, committedOffset) of the load are committed (across resumes). */
  committedOffset: bigint;
  /** Counts of the current call (a resumed call starts again from 0). */
  rowsInserted: bigint;
  rowsUpdated: bigint;
  rowsFailed: bigint;
  batchesCommitted: bigint;
  /** Calls the load has taken so far (1 + resumes). */
  attempts: number;
}

export interface LoadOptions {
  table: string;
  columns: string[];
  /** The rows, in order; read only as fast as avesd commits them. */
  rows: AsyncIterable<LoadRow>|Iterable<LoadRow>;
  /** insert (COPY), upsert (ON CONFLICT) or returning; default insert. */
  mode?: 'insert'|'upsert'|'returning';
  /** All or nothing (see below on resuming). */
  atomic?: boolean;
  /** Resume key; one is made (a UUID) when unset, so a drop can resume. */
  loadId?: string;
  /** Rows per server batch (the server's default, 5,000, when unset). */
  batchSize?: number;
  conflictColumns?: string[];
  updateColumns?: string[];
  returningColumns?: string[];
  /** Rows the source holds, when known (progress, the job's total). */
  totalRows?: bigint|number;
  /** Rows the whole load may refuse (the server's default when unset). */
  maxErrors?: bigint|number;
  onProgress?: (progress: LoadProgress) => void;
  /** RETURNING: the returned columns of inserted rows, each row once. */
  onReturned?: (rows: {rowNumber: bigint;
                       values: Record<string, string|null>}[]) => void;
  /**
   * Calls after a dropped connection (UNAVAILABLE; then ABORTED while avesd
   * still holds the cut stream's lease) before giving up
   * (default 5). An atomic load publishes nothing until it ends, so a drop
   * loses its stage: it is resumed only when `rows` can be iterated again
   * (an array, or any iterable whose [Symbol.asyncIterator]/[Symbol.iterator]
   * starts over), reading the source from the start.
   */
  maxResumes?: number;
  signal?: AbortSignal;
  /** Rows per message (default 500) and bytes per message (default 1 MiB). */
  chunkRows?: number;
  chunkBytes?: number;
  /**
   * Bytes of rows sent but not yet committed that the client holds for a
   * resume (default 128 MiB; the source is read no further meanwhile). It
   * must exceed what avesd puts in one batch: AVES_BULK_MAX_STREAM_BYTES
   * (64 MiB) / (parallel batches + 2) by default, or batchSize rows.
   */
  maxHeldBytes?: number;
}

export interface LoadSummary {
  loadId: string;
  jobId: string;
  /** The whole load's counts, across every call under its id. */
  rowsInserted: bigint;
  rowsUpdated: bigint;
  rowsFailed: bigint;
  committedOffset: bigint;
  attempts: number;
}

const modes = {
  insert: InsertMode.INSERT_MODE_INSERT,
  upsert: InsertMode.INSERT_MODE_UPSERT,
  returning: InsertMode.INSERT_MODE_RETURNING,
} as const;

/** The cell of a JavaScript value; the server checks it against the column. */
export function toCell(value: unknown, field: string): Cell {
  if (value === null || value === undefined)
    return {nullValue: NullValue.NULL_VALUE};
  switch (typeof value) {
    case 'boolean':
      return {boolValue: value};
    case 'bigint':
      return {int64Value: value};
    case 'number':
      return Number.isSafeInteger(value) ? {int64Value: BigInt(value)} :
                                           {doubleValue: value};
    case 'string':
      return {stringValue: value};
    case 'object':
      if (value instanceof Date) {
        if (Number.isNaN(value.getTime()))
          throw invalidArgument(field, 'is an invalid Date');
        return {timestampValue: value};
      }
      if (value instanceof Uint8Array)
        return {
          bytesValue:
              Buffer.from(value.buffer, value.byteOffset, value.byteLength)
        };
      try {
        return {jsonValue: JSON.stringify(value)};
      } catch (error) {
        throw invalidArgument(
            field, `cannot be written as JSON: ${(error as Error).message}`);
      }
    default:
      throw invalidArgument(field, `a ${typeof value} has no column type`);
  }
}

function cellBytes(cell: Cell): number {
  if (cell.stringValue !== undefined)
    return Buffer.byteLength(cell.stringValue) + 8;
  if (cell.jsonValue !== undefined)
    return Buffer.byteLength(cell.jsonValue) + 8;
  if (cell.bytesValue !== undefined) return cell.bytesValue.length + 8;
  return 16;
}

function toRow(row: LoadRow, columns: string[], rowNumber: bigint): Row {
  const values = Array.isArray(row) ?
      row :
      columns.map((c) => (row as Record<string, unknown>)[c]);
  if (Array.isArray(row) && row.length !== columns.length) {
    throw invalidArgument(
        `rows[${rowNumber}]`,
        `has ${row.length} values for ${columns.length} columns`);
  }
  if (!Array.isArray(row) && (row === null || typeof row !== 'object')) {
    throw invalidArgument(
        `rows[${rowNumber}]`, 'is neither an array nor an object');
  }
  return {
    cells: values.map((v, i) => toCell(v, `rows[${rowNumber}].${columns[i]}`))
  };
}

const isReiterable = (rows: unknown) => Array.isArray(rows);

/** The rows between the committed offset and what was sent, for a resume. */
// Bounded in rows and in (estimated) bytes.
class Unacknowledged {
  first = 0n;  // row number of rows[0]
  rows: Row[] = [];
  sizes: number[] = [];  // each row's estimated bytes
  bytes = 0;
  get end(): bigint {
    return this.first + BigInt(this.rows.length);
  }
  push(row: Row, size: number): void {
    this.rows.push(row);
    this.sizes.push(size);
    this.bytes += size;
  }
  full(maxRows: number, maxBytes: number): boolean {
    return this.rows.length >= maxRows || this.bytes >= maxBytes;
  }
  dropBelow(offset: bigint): void {
    if (offset <= this.first) return;
    const n = Math.min(Number(offset - this.first), this.rows.length);
    this.rows.splice(0, n);
    for (const size of this.sizes.splice(0, n)) this.bytes -= size;
    this.first = offset;
  }
  clear(): void {
    this.first = 0n;
    this.rows = [];
    this.sizes = [];
    this.bytes = 0;
  }
}

export class BulkClient {
  constructor(private readonly transport: Transport) {}

  async load(options: LoadOptions): Promise<LoadSummary> {
    const loadId = options.loadId ?? randomUUID();
    const mode = modes[options.mode ?? 'insert'];
    if (mode === undefined)
      throw invalidArgument('mode', 'must be insert, upsert or returning');
    const chunkRows = options.chunkRows ?? 500;
    const chunkBytes = options.chunkBytes ?? 1 << 20;
    const maxResumes = options.maxResumes ?? 5;
    const atomic = options.atomic ?? false;
    const header: InsertRequest = {
      header: {
        table: options.table,
        columns: options.columns,
        mode,
        batchSize: options.batchSize ?? 0,
        atomic,
        loadId,
        conflictColumns: options.conflictColumns ?? [],
        updateColumns: options.updateColumns ?? [],
        returningColumns: options.returningColumns ?? [],
        totalRows: BigInt(options.totalRows ?? 0),
        ...(options.maxErrors !== undefined ?
                {maxErrors: BigInt(options.maxErrors)} :
                {}),
      },
    };
    // Non-atomic: rows are held until committed, at most ~2 server batches
    // (the source is read no faster), so a drop resumes from memory. Atomic:
    // a drop loses the stage; resumable only from a re-iterable source.
    const batch = BigInt(
        options.batchSize && options.batchSize > 0 ? options.batchSize : 5000);
    const maxHeld = atomic ? Infinity : Number(2n * batch) + chunkRows;
    const maxHeldBytes =
        atomic ? Infinity : (options.maxHeldBytes ?? 128 << 20);
    const held = new Unacknowledged();
    let source: Iterator<LoadRow>|AsyncIterator<LoadRow>|undefined;
    const openSource = () => Symbol.asyncIterator in options.rows ?
        (options.rows as AsyncIterable<LoadRow>)[Symbol.asyncIterator]() :
        (options.rows as Iterable<LoadRow>)[Symbol.iterator]();
    let sourceDone = false;
    let read = 0n;  // rows read from the source (numbered from 0)
    const returnedUpTo = {next: 0n};

    for (let attempt = 1;; ++attempt) {
      if (options.signal?.aborted) throw cancelled(options.signal);
      if (source === undefined) source = openSource();
      try {
        const outcome = await this.attempt({
          options,
          header,
          held,
          maxHeld,
          maxHeldBytes,
          chunkRows,
          chunkBytes,
          attempt,
          returnedUpTo,
          readRow: async () => {
            if (sourceDone) return undefined;
            const next = await source!.next();
            if (next.done) {
              sourceDone = true;
              return undefined;
            }
            const row = toRow(next.value, options.columns, read);
            read++;
            return row;
          },
        });
        return {...outcome, loadId, attempts: attempt};
      } catch (error) {
        const failure = error instanceof AvesError ?
            error :
            new AvesError(GrpcStatus.UNKNOWN, String(error));
        // A resume can reach avesd before it has seen the cut stream end:
        // the load's lease is still that stream's (ABORTED, "being written
        // by another stream") for a moment. On a first attempt ABORTED is
        // another writer of the load id, the caller's to resolve.
        const retriable = failure.code === GrpcStatus.UNAVAILABLE ||
            (failure.code === GrpcStatus.ABORTED && attempt > 1);
        if (!retriable || attempt > maxResumes) throw failure;
        if (options.signal?.aborted) throw cancelled(options.signal);
        if (atomic) {
          if (!isReiterable(options.rows)) throw failure;
          // The stage is gone: start over from the source's first row.
          await source?.return?.();
          source = undefined;
          sourceDone = false;
          read = 0n;
          held.clear();
        }
        await sleep(
            Math.random() * Math.min(2000, 100 * 2 ** attempt), options.signal);
      }
    }
  }

  // One Insert call: the header, the held rows from the committed offset,
  // then the source, until the summary (or an error).
  private async attempt(a: {
    options: LoadOptions; header: InsertRequest; held: Unacknowledged;
    maxHeld: number;
    maxHeldBytes: number;
    chunkRows: number;
    chunkBytes: number;
    attempt: number;
    returnedUpTo: {next: bigint};
    readRow: () => Promise<Row|undefined>;
  }): Promise<Omit<LoadSummary, 'loadId'|'attempts'>> {
    const {options, held} = a;
    const call: ClientDuplexStream<InsertRequest, InsertResponse> =
        await this.transport.bidiStream(
            Service.insert,
            {},
        );
    const onAbort = () => call.cancel();
    options.signal?.addEventListener('abort', onAbort, {once: true});

    let committed = -1n;  // unknown until the first progress
    let wake: (() => void)|undefined;
    const poke = () => {
      const w = wake;
      wake = undefined;
      w?.();
    };
    let ended: {summary?: InsertResponse['summary']; error?: AvesError}|
        undefined;
    const finished = new Promise<void>((resolve) => {
      call.on('data', (response: InsertResponse) => {
        try {
          if (response.progress) {
            committed = response.progress.committedOffset;
            held.dropBelow(committed);
            const p = response.progress;
            options.onProgress?.({
              committedOffset: p.committedOffset,
              rowsInserted: p.rowsInserted,
              rowsUpdated: p.rowsUpdated,
              rowsFailed: p.rowsFailed,
              batchesCommitted: p.batchesCommitted,
              attempts: a.attempt,
            });
          } else if (response.returned && options.onReturned) {
            const names = options.returningColumns ?? [];
            const fresh = [];
            for (let i = 0; i < response.returned.rows.length; ++i) {
              const rowNumber = response.returned.rowNumbers[i];
              if (rowNumber < a.returnedUpTo.next)
                continue;  // answered before a resume
              const values: Record<string, string|null> = {};
              response.returned.rows[i].cells.forEach((cell, c) => {
                values[names[c] ?? `column${c}`] =
                    cell.nullValue !== undefined ? null :
                                                   (cell.stringValue ?? null);
              });
              fresh.push({rowNumber, values});
              a.returnedUpTo.next = rowNumber + 1n;
            }
            if (fresh.length > 0) options.onReturned(fresh);
          } else if (response.summary) {
            ended = {summary: response.summary};
          }
        } catch (error) {
          // A callback of the caller's threw: stop the load with its error.
          ended = {
            error: error instanceof AvesError ?
                error :
                new AvesError(GrpcStatus.CANCELLED, String(error))
          };
          call.cancel();
        }
        poke();
      });
      call.on('error', (error) => {
        ended ??= {
          error: options.signal?.aborted ? cancelled(options.signal) :
                                           fromServiceError(error as never),
        };
        poke();
        resolve();
      });
      call.on('end', () => {
        ended ??= {
          error: new AvesError(
              GrpcStatus.INTERNAL, 'the load ended without a summary')
        };
        poke();
        resolve();
      });
    });
    const waitFor = (ready: () => boolean) => new Promise<void>((resolve) => {
      const check = () => (ready() || ended ? resolve() : (wake = check));
      check();
    });
    // Backpressure: wait for grpc-js to drain its buffer (or the call to end).
    const write = async (message: InsertRequest) => {
      if (call.write(message)) return;
      await new Promise<void>((resolve) => {
        const done = () => {
          call.off('drain', done);
          resolve();
        };
        call.once('drain', done);
        void finished.then(done);
      });
    };

    try {
      await write(a.header);
      // The first progress says where the load stands.
      await waitFor(() => committed >= 0n);
      if (ended?.error) throw ended.error;
      held.dropBelow(committed < held.end ? committed : held.end);
      // Committed by an earlier process under this load id: skip the source
      // up to it (the held rows are empty then).
      while (held.end < committed) {
        if ((await a.readRow()) === undefined) break;
        held.first++;
      }
      // Held rows first (a resume), then the source, in chunks.
      let next = held.first;
      let sourceEnded = false;
      while (!ended) {
        const chunk: Row[] = [];
        let bytes = 0;
        const first = next;
        while (chunk.length < a.chunkRows && bytes < a.chunkBytes) {
          let row: Row|undefined;
          if (next < held.end) {
            row = held.rows[Number(next - held.first)];
          } else {
            if (held.full(a.maxHeld, a.maxHeldBytes))
              break;  // wait for commits
            row = await a.readRow();
            if (row === undefined) {
              sourceEnded = true;
              break;
            }
            held.push(row, row.cells.reduce((n, c) => n + cellBytes(c), 8));
          }
          chunk.push(row);
          bytes += held.sizes[Number(next - held.first)];
          next++;
        }
        if (ended) break;
        if (chunk.length > 0)
          await write({rows: {rows: chunk, firstRow: first}});
        // An atomic load never resumes from held rows (see maxResumes).
        if (a.options.atomic) held.dropBelow(held.end);
        if (sourceEnded) break;
        if (chunk.length === 0)
          await waitFor(() => !held.full(a.maxHeld, a.maxHeldBytes));
      }
      if (!ended) call.end();
      await finished;
      if (ended!.error) throw ended!.error;
      const s = ended!.summary!;
      return {
        jobId: s.jobId,
        rowsInserted: s.loadTotals?.rowsInserted ?? 0n,
        rowsUpdated: s.loadTotals?.rowsUpdated ?? 0n,
        rowsFailed: s.loadTotals?.rowsFailed ?? 0n,
        committedOffset: s.totals?.committedOffset ?? 0n,
      };
    } catch (error) {
      call.cancel();
      throw error;
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
    }
  }
}
