// JSON fields travel as JSON text (the protos say why); callers see values.
import {status as GrpcStatus} from '@grpc/grpc-js';

import {AvesError, invalidArgument} from './errors';

/** Parses a JSON field avesd sent; avesd only sends what PostgreSQL checked. */
export function parseJson(text: string, field: string): unknown {
  if (text === '') return null;
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new AvesError(
        GrpcStatus.DATA_LOSS, `${field}: avesd sent text that is not JSON`,
        {cause: error});
  }
}

/** The JSON text of a value a caller gives for a JSON field. */
export function stringifyJson(value: unknown, field: string): string {
  let text: string|undefined;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    throw invalidArgument(
        field, `cannot be written as JSON: ${(error as Error).message}`);
  }
  if (text === undefined)
    throw invalidArgument(field, 'cannot be written as JSON');
  return text;
}
