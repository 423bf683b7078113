// bulk.load: insert, upsert, returning, atomic; backpressure on the source;
// a load whose connection the test cuts mid-way resumes under its load id
// and ends with exactly the source's rows, none twice.
import {status} from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import {after, before, describe, test} from 'node:test';

import {AvesError, type AvesClient, type LoadProgress} from '../src';
import {client, database, fastReconnect, Proxy, uuid} from './support';

let aves: AvesClient;
before(() => {
  aves = client({role: 'loader'});
});
after(() => aves.close());

async function count(sql: string, params: unknown[] = []): Promise<number> {
  const pg = await database();
  try {
    return Number((await pg.query(sql, params)).rows[0].count);
  } finally {
    await pg.end();
  }
}

/** `n` vocabulary rows of category `category`, as objects, read lazily. */
async function* words(n: number, category: string, read?: {rows: number}) {
  for (let i = 0; i < n; ++i) {
    if (read) read.rows++;
    yield {spanish_term: `palabra ${i}`, english_term: `word ${i}`, category};
  }
}

describe('bulk.load', () => {
  test(
      'inserts an async iterable of objects, reading it only as fast as batches commit',
      async () => {
        const category = uuid();
        const read = {rows: 0};
        const progress: LoadProgress[] = [];
        let mostAhead = 0;
        const summary = await aves.bulk.load({
          table: 'vocabulary',
          columns: ['spanish_term', 'english_term', 'category'],
          rows: words(20_000, category, read),
          batchSize: 1000,
          totalRows: 20_000,
          onProgress: (p) => {
            progress.push(p);
            mostAhead =
                Math.max(mostAhead, read.rows - Number(p.committedOffset));
          },
        });
        assert.equal(summary.rowsInserted, 20_000n);
        assert.equal(summary.committedOffset, 20_000n);
        assert.equal(summary.attempts, 1);
        assert.ok(summary.jobId);
        assert.equal(
            await count(
                'SELECT count(*) FROM vocabulary WHERE category = $1',
                [category]),
            20_000);
        assert.ok(progress.length >= 10, `${progress.length} progress reports`);
        const offsets = progress.map((p) => Number(p.committedOffset));
        assert.deepEqual(
            offsets, [...offsets].sort((a, b) => a - b),
            'the committed offset only grows');
        // Held rows are bounded by ~2 batches plus a chunk, whatever the
        // source's size.
        assert.ok(
            mostAhead <= 2 * 1000 + 500 + 1,
            `read ${mostAhead} rows ahead of the commits`);
      });

  test(
      'rows held for a resume are bounded in bytes, not only in rows',
      async () => {
        const category = uuid();
        const wide = 'x'.repeat(10_000);
        let read = 0;
        let mostAheadBytes = 0;
        async function* rows() {
          for (let i = 0; i < 600; ++i) {
            ++read;
            yield {spanish_term: `w${i}`, english_term: wide, category};
          }
        }
        const summary = await aves.bulk.load({
          table: 'vocabulary',
          columns: ['spanish_term', 'english_term', 'category'],
          rows: rows(),
          batchSize: 20,
          chunkBytes: 64 << 10,
          maxHeldBytes: 512 << 10,
          onProgress: (p) => {
            mostAheadBytes = Math.max(
                mostAheadBytes, (read - Number(p.committedOffset)) * 10_000);
          },
        });
        assert.equal(summary.rowsInserted, 600n);
        assert.equal(
            await count(
                'SELECT count(*) FROM vocabulary WHERE category = $1',
                [category]),
            600);
        // The row bound alone (2 batches + a chunk: 540 rows) would allow 5.4
        // MB.
        assert.ok(
            mostAheadBytes <= (512 << 10) + (64 << 10) + 20_000,
            `read ${mostAheadBytes} bytes ahead`);
      });

  test('arrays, typed cells, upsert and returning', async () => {
    const category = uuid();
    const ids: string[] = [];
    const returned: {rowNumber: bigint; values: Record<string, string|null>}[] =
        [];
    const inserted = await aves.bulk.load({
      table: 'vocabulary',
      columns: ['spanish_term', 'english_term', 'category', 'created_at'],
      rows: [
        ['ave', 'bird', category, new Date('2020-01-02T03:04:05Z')],
        ['pico', 'beak', category, new Date('2021-01-02T03:04:05Z')],
        ['ala', 'wing', null, new Date('2022-01-02T03:04:05Z')],
      ],
      mode: 'returning',
      returningColumns: ['id', 'category'],
      onReturned: (rows) => returned.push(...rows),
    });
    assert.equal(inserted.rowsInserted, 3n);
    assert.deepEqual(returned.map((r) => r.rowNumber), [0n, 1n, 2n]);
    assert.equal(returned[2].values.category, null);
    for (const r of returned) ids.push(r.values.id!);
    assert.equal(
        await count(
            'SELECT count(*) FROM vocabulary WHERE id = $1 AND created_at = \'2020-01-02T03:04:05Z\'',
            [ids[0]]),
        1,
    );

    const upserted = await aves.bulk.load({
      table: 'vocabulary',
      columns: ['id', 'spanish_term', 'english_term', 'category'],
      rows: [
        {id: ids[0], spanish_term: 'ave', english_term: 'bird (any)', category},
        {id: uuid(), spanish_term: 'garra', english_term: 'claw', category},
      ],
      mode: 'upsert',
      conflictColumns: ['id'],
      updateColumns: ['english_term'],
    });
    assert.equal(upserted.rowsInserted, 1n);
    assert.equal(upserted.rowsUpdated, 1n);
    assert.equal(
        await count(
            'SELECT count(*) FROM vocabulary WHERE english_term = \'bird (any)\''),
        1);
  });

  test(
      'atomic: a bad row fails the load naming it, and nothing is written',
      async () => {
        const category = uuid();
        const rows = [...Array(50)].map(
            (_, i) => ['s' + i, i === 37 ? '' : 'e' + i, category]);
        await assert.rejects(
            aves.bulk.load({
              table: 'vocabulary',
              columns: ['spanish_term', 'english_term', 'category'],
              rows,
              atomic: true
            }),
            (error: unknown) => {
              assert.ok(error instanceof AvesError);
              assert.equal(error.code, status.INVALID_ARGUMENT);
              assert.match(error.message, /37/);
              return true;
            },
        );
        assert.equal(
            await count(
                'SELECT count(*) FROM vocabulary WHERE category = $1',
                [category]),
            0);
      });

  test(
      'a row that does not fit its columns is refused, naming the row',
      async () => {
        await assert.rejects(
            aves.bulk.load({
              table: 'vocabulary',
              columns: ['spanish_term', 'english_term'],
              rows: [['only one']]
            }),
            (error: unknown) => error instanceof AvesError &&
                error.code === status.INVALID_ARGUMENT &&
                /rows\[0\]/.test(error.message),
        );
      });

  test(
      'a load whose connection is cut mid-way resumes and ends with exactly its rows',
      async () => {
        const proxy = await Proxy.start();
        const loader = client({
          role: 'loader',
          address: proxy.address,
          channelOptions: fastReconnect
        });
        const category = uuid();
        let cuts = 0;
        try {
          const summary = await loader.bulk.load({
            table: 'vocabulary',
            columns: ['spanish_term', 'english_term', 'category'],
            rows: words(30_000, category),
            batchSize: 1000,
            loadId: `node-resume-${category}`,
            onProgress: (p) => {
              // Twice, mid-load, while rows are in flight.
              if ((cuts === 0 && p.committedOffset >= 5000n) ||
                  (cuts === 1 && p.committedOffset >= 17_000n)) {
                cuts++;
                proxy.cut();
              }
            },
          });
          assert.equal(cuts, 2);
          assert.ok(summary.attempts >= 3, `${summary.attempts} attempts`);
          assert.equal(summary.committedOffset, 30_000n);
          assert.equal(summary.rowsInserted, 30_000n);
          assert.equal(
              await count(
                  'SELECT count(*) FROM vocabulary WHERE category = $1',
                  [category]),
              30_000);
          assert.equal(
              await count(
                  'SELECT count(DISTINCT spanish_term) FROM vocabulary WHERE category = $1',
                  [category]),
              30_000,
          );
        } finally {
          loader.close();
          await proxy.close();
        }
      });
});
