// Every service's calls through the client: success paths, and each error
// arriving as an AvesError with its code and the server's details.
import {status} from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import {after, before, describe, test} from 'node:test';

import {AnnotationStatus, AvesClient, AvesError, JobStatus, QueryStatsOrder, ReviewDecision, ServingStatus,} from '../src';

import {address, client, database, uuid} from './support';

let aves: AvesClient;
before(() => {
  aves = client();
});
after(() => aves.close());

async function failure(promise: Promise<unknown>): Promise<AvesError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof AvesError, `not an AvesError: ${error}`);
    return error;
  }
  assert.fail('the call succeeded');
}

describe('errors', () => {
  test(
      'INVALID_ARGUMENT carries the field violations the server names',
      async () => {
        const put = await failure(
            aves.cache.put({
              userId: 'nope',
              exerciseType: 'x',
              difficultyLevel: 3,
              exerciseData: {},
              ttlMs: 1000
            }),
        );
        assert.equal(put.code, status.INVALID_ARGUMENT);
        assert.equal(put.codeName, 'INVALID_ARGUMENT');
        assert.ok(
            put.violation('user_id'), JSON.stringify(put.fieldViolations));
        const many = await failure(
            aves.cache.getMany([
              {userId: uuid(), exerciseType: 'x', difficultyLevel: 1},
              {userId: uuid(), exerciseType: '', difficultyLevel: 1},
            ]),
        );
        assert.equal(many.code, status.INVALID_ARGUMENT);
        assert.ok(
            many.violation('requests[1].exercise_type'),
            JSON.stringify(many.fieldViolations));
      });

  test('NOT_FOUND, FAILED_PRECONDITION', async () => {
    assert.equal((await failure(aves.jobs.get(uuid()))).code, status.NOT_FOUND);
    const job = await aves.jobs.create({jobType: 'ai_annotation'});
    await aves.jobs.updateProgress(
        {id: job.id, status: JobStatus.JOB_STATUS_CANCELLED});
    const moved = await failure(aves.jobs.updateProgress(
        {id: job.id, status: JobStatus.JOB_STATUS_PROCESSING}));
    assert.equal(moved.code, status.FAILED_PRECONDITION);
  });

  test(
      'UNAUTHENTICATED without or with a bad token, PERMISSION_DENIED for the wrong role',
      async () => {
        for (const token of [undefined, 'not.a.token']) {
          const anonymous =
              new AvesClient({address: address(), ...(token ? {token} : {})});
          try {
            assert.equal(
                (await failure(anonymous.jobs.list())).code,
                status.UNAUTHENTICATED);
            // Health needs no token.
            assert.equal(await anonymous.health.check(), ServingStatus.SERVING);
          } finally {
            anonymous.close();
          }
        }
        const frontend = client({role: 'frontend'});
        try {
          assert.equal(
              (await failure(frontend.jobs.list())).code,
              status.PERMISSION_DENIED);
          assert.equal(
              await frontend.cache.get(
                  {userId: uuid(), exerciseType: 'x', difficultyLevel: 1}),
              null);
        } finally {
          frontend.close();
        }
      });

  test('a token provider is asked before each call', async () => {
    let asked = 0;
    const rotating = new AvesClient({
      address: address(),
      tokenProvider: async () => {
        asked++;
        return process.env.AVES_TEST_TOKEN_dashboard!;
      },
    });
    try {
      await rotating.jobs.list();
      await rotating.jobs.list();
      assert.equal(asked, 2);
    } finally {
      rotating.close();
    }
  });

  test(
      'RESOURCE_EXHAUSTED from the rate limit carries RetryInfo\'s delay',
      async () => {
        const operator = client({role: 'operator'});
        try {
          let limited: AvesError|undefined;
          for (let i = 0; i < 20 && !limited; ++i) {
            try {
              await operator.cache.purgeExpired({maxRows: 1});
            } catch (error) {
              limited = error as AvesError;
            }
          }
          assert.ok(limited, '20 purges in a row were never limited');
          assert.equal(limited.code, status.RESOURCE_EXHAUSTED);
          assert.ok(
              limited.retryDelayMs !== undefined && limited.retryDelayMs > 0,
              String(limited.retryDelayMs));
        } finally {
          operator.close();
        }
      });

  test(
      'a deadline that passes is DEADLINE_EXCEEDED; an aborted call is CANCELLED',
      async () => {
        const pg = await database();
        try {
          await pg.query('BEGIN');
          await pg.query('LOCK TABLE batch_jobs IN ACCESS EXCLUSIVE MODE');
          const late = await failure(aves.jobs.list({}, {deadlineMs: 200}));
          assert.equal(late.code, status.DEADLINE_EXCEEDED);
          const controller = new AbortController();
          const listing = aves.jobs.list({}, {signal: controller.signal});
          setTimeout(() => controller.abort(), 50);
          assert.equal((await failure(listing)).code, status.CANCELLED);
        } finally {
          await pg.query('ROLLBACK');
          await pg.end();
        }
        assert.equal(
            (await failure(aves.jobs.list({}, {deadlineMs: -1}))).code,
            status.INVALID_ARGUMENT);
      });
});

describe('annotations, admin and health', () => {
  test('list an image\'s annotations, the review queue, and review one', async () => {
    const pg = await database();
    let imageId: string;
    try {
      imageId =
          (await pg.query(
               'INSERT INTO images (url) VALUES (\'https://example.org/ave.jpg\') RETURNING id'))
              .rows[0]
              .id;
      await pg.query(
          `INSERT INTO ai_annotation_items (image_id, spanish_term, english_term, bounding_box, annotation_type, confidence)
         SELECT $1, 'pico ' || i, 'beak ' || i, jsonb_build_object('x', i, 'y', 2), 'anatomical', 0.5 + i / 10.0
         FROM generate_series(1, 3) i`,
          [imageId],
      );
    } finally {
      await pg.end();
    }
    const page = await aves.annotations.listForImage({imageId, pageSize: 2});
    assert.equal(page.items.length, 2);
    assert.ok(page.nextPageToken);
    const rest = await aves.annotations.listForImage(
        {imageId, pageSize: 2, pageToken: page.nextPageToken});
    assert.equal(rest.items.length, 1);
    assert.equal(rest.nextPageToken, undefined);
    const all = [...page.items, ...rest.items];
    assert.deepEqual(
        all.map((a) => (a.boundingBox as {x: number}).x).sort(), [1, 2, 3]);
    const confident =
        await aves.annotations.listForImage({imageId, minConfidence: 0.65});
    assert.equal(confident.items.length, 2);

    const queue = await aves.annotations.listByStatus(
        {status: AnnotationStatus.ANNOTATION_STATUS_PENDING});
    assert.ok(queue.items.length >= 3);
    const reviewed = await aves.annotations.review({
      id: all[0].id,
      decision: ReviewDecision.REVIEW_DECISION_EDIT,
      expectedStatus: AnnotationStatus.ANNOTATION_STATUS_PENDING,
      boundingBox: {x: 10, y: 20, width: 5, height: 5},
    });
    assert.equal(reviewed.status, AnnotationStatus.ANNOTATION_STATUS_EDITED);
    assert.deepEqual(reviewed.boundingBox, {x: 10, y: 20, width: 5, height: 5});
    assert.equal(reviewed.reviewedBy, 'node-admin');
    assert.ok(reviewed.reviewedAt instanceof Date);
    const again = await failure(
        aves.annotations.review({
          id: all[0].id,
          decision: ReviewDecision.REVIEW_DECISION_APPROVE,
          expectedStatus: AnnotationStatus.ANNOTATION_STATUS_PENDING,
        }),
    );
    assert.equal(again.code, status.FAILED_PRECONDITION);
  });

  test('admin reads', async () => {
    const migrations = await aves.admin.migrationStatus();
    assert.equal(migrations.schemaCurrent, true);
    assert.ok(migrations.migrations.length >= 21);
    const pool = await aves.admin.poolStats();
    assert.ok(pool.total >= 1);
    const indexes = await aves.admin.verifyIndexes();
    assert.equal(
        indexes.allPassed, true,
        JSON.stringify(indexes.checks.filter((c) => !c.passed)));
    const slow = await aves.admin.slowQueries({limit: 5});
    assert.ok(Array.isArray(slow.queries));
    const top = await aves.admin.queryStats(
        {orderBy: QueryStatsOrder.ORDER_TOTAL_TIME, limit: 5});
    assert.ok(top.statements.length <= 5);
    const cache = await aves.admin.cacheStats();
    assert.equal(typeof cache.enabled, 'boolean');
    const health = await aves.admin.indexHealth();
    assert.ok(health.indexes.some(
        (i) => i.index === 'idx_batch_jobs_type' && i.valid));
    const preview = await aves.admin.runAnalyze({dryRun: true});
    assert.ok(
        preview.tables.some((t) => t.table === 'vocabulary'),
        preview.tables.map((t) => t.table).join(', '));
    assert.equal(preview.jobId, '');
    const ran = await aves.admin.runAnalyze({table: 'images'});
    assert.deepEqual(ran.analyzed, ['images']);
    assert.ok(ran.jobId);
    const job = await aves.jobs.get(ran.jobId);
    assert.equal(job.jobType, 'maintenance_analyze');
    assert.equal(job.processedItems, 1n);
    const refused = await failure(aves.admin.runAnalyze({table: 'pg_class'}));
    assert.equal(refused.code, status.INVALID_ARGUMENT);
    assert.ok(
        refused.violation('table'), JSON.stringify(refused.fieldViolations));
    assert.equal(await aves.health.check(), ServingStatus.SERVING);
  });
});
