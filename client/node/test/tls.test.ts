// TLS towards avesd: a CA's certificate verifies the server; a client
// certificate mapped to a role authenticates without a token.
import {status} from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import {readFileSync} from 'node:fs';
import {describe, test} from 'node:test';

import {AvesClient, AvesError} from '../src';

import {address, token, uuid} from './support';

const pem = (name: string) => readFileSync(process.env[name]!);
const key = () => ({
  userId: uuid(),
  exerciseType: 'visual_discrimination',
  difficultyLevel: 1
});

async function code(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'OK';
  } catch (error) {
    assert.ok(error instanceof AvesError, String(error));
    return error.codeName;
  }
}

describe('tls', () => {
  test('with the CA and a token', async () => {
    const aves = new AvesClient({
      address: address(),
      tls: {ca: pem('AVES_TEST_CA_FILE')},
      token: token('dashboard')
    });
    try {
      assert.ok(Array.isArray((await aves.jobs.list()).items));
    } finally {
      aves.close();
    }
  });

  test('mutual TLS: the certificate\'s role, and nothing more', async () => {
    const aves = new AvesClient({
      address: address(),
      tls: {
        ca: pem('AVES_TEST_CA_FILE'),
        cert: pem('AVES_TEST_CLIENT_CERT_FILE'),
        key: pem('AVES_TEST_CLIENT_KEY_FILE')
      },
    });
    try {
      assert.equal(await aves.cache.get(key()), null);
      assert.equal(await code(aves.jobs.list()), 'PERMISSION_DENIED');
    } finally {
      aves.close();
    }
  });

  test(
      'plaintext, or a CA that did not sign avesd\'s certificate, does not connect',
      async () => {
        for (const tls
                 of [undefined, {ca: pem('AVES_TEST_CLIENT_CERT_FILE')}]) {
          const aves = new AvesClient({
            address: address(),
            token: token('admin'),
            defaultDeadlineMs: 3000,
            ...(tls ? {tls} : {})
          });
          try {
            assert.equal(
                await code(aves.jobs.list()), status[status.UNAVAILABLE]);
          } finally {
            aves.close();
          }
        }
      });
});
