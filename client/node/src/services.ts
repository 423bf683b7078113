// The services whose answers the generated types already express the way a
// Node caller wants (camelCase, bigint, Date, string enums): annotations
// (with their JSON bounding box parsed), admin and health.
import {AnnotationServiceService as Annotations, type Annotation as WireAnnotation, AnnotationStatus, ReviewDecision,} from './gen/aves/data/v1/annotations';
import {AdminServiceService as Admin, type GetCacheStatsResponse, type GetMigrationStatusResponse, type GetPoolStatsResponse, type GetQueryStatsResponse, GetQueryStatsRequest_Order as QueryStatsOrder, type GetIndexHealthResponse, type ListSlowQueriesResponse, type RunAnalyzeResponse, type VerifyIndexesResponse,} from './gen/aves/data/v1/admin';
import {HealthCheckResponse_ServingStatus as ServingStatus, HealthService as Health} from './gen/grpc/health/v1/health';
import {parseJson, stringifyJson} from './json';
import type {Page} from './jobs';
import type {CallSettings, Transport} from './transport';

export {AnnotationStatus, QueryStatsOrder, ReviewDecision, ServingStatus};
export type{
  GetCacheStatsResponse as CacheStats,
  RunAnalyzeResponse as AnalyzeRun,
  GetIndexHealthResponse as IndexHealthReport,
  GetMigrationStatusResponse as MigrationStatus,
  GetPoolStatsResponse as PoolStats,
  GetQueryStatsResponse as QueryStats,
  ListSlowQueriesResponse as SlowQueries,
  VerifyIndexesResponse as IndexReport,
};

export type Annotation =
    Omit<WireAnnotation, 'boundingBox'>&{boundingBox: unknown};

const toAnnotation = (wire: WireAnnotation): Annotation => ({
  ...wire,
  boundingBox: parseJson(wire.boundingBox, 'annotation.bounding_box'),
});
const page = (token: string) => (token === '' ? {} : {nextPageToken: token});

export class AnnotationsClient {
  constructor(private readonly transport: Transport) {}

  async listForImage(
      request: {
        imageId: string;
        minConfidence?: number;
        pageSize?: number;
        pageToken?: string
      },
      settings?: CallSettings,
      ): Promise<Page<Annotation>> {
    const response = await this.transport.unary(
        Annotations.listImageAnnotations,
        {
          imageId: request.imageId,
          ...(request.minConfidence !== undefined ?
                  {minConfidence: request.minConfidence} :
                  {}),
          pageSize: request.pageSize ?? 0,
          pageToken: request.pageToken ?? '',
        },
        settings,
        true,
    );
    return {
      items: response.annotations.map(toAnnotation),
      ...page(response.nextPageToken)
    };
  }

  async listByStatus(
      request:
          {status: AnnotationStatus; pageSize?: number; pageToken?: string},
      settings?: CallSettings,
      ): Promise<Page<Annotation>> {
    const response = await this.transport.unary(
        Annotations.listAnnotationsByStatus,
        {
          status: request.status,
          pageSize: request.pageSize ?? 0,
          pageToken: request.pageToken ?? ''
        },
        settings,
        true,
    );
    return {
      items: response.annotations.map(toAnnotation),
      ...page(response.nextPageToken)
    };
  }

  /** Reviews an annotation; FAILED_PRECONDITION when its status moved on. */
  async review(
      request: {
        id: string; decision: ReviewDecision;
        expectedStatus?: AnnotationStatus;
        reviewer?: string;
        spanishTerm?: string;
        englishTerm?: string;
        boundingBox?: unknown;
        annotationType?: string;
        difficultyLevel?: number;
      },
      settings?: CallSettings,
      ): Promise<Annotation> {
    const {boundingBox, ...rest} = request;
    const response = await this.transport.unary(
        Annotations.reviewAnnotation,
        {
          ...rest,
          reviewer: request.reviewer ?? '',
          expectedStatus: request.expectedStatus ??
              AnnotationStatus.ANNOTATION_STATUS_UNSPECIFIED,
          ...(boundingBox !== undefined ?
                  {boundingBox: stringifyJson(boundingBox, 'bounding_box')} :
                  {}),
        },
        settings,
        false,
    );
    return toAnnotation(response.annotation!);
  }
}

export class AdminClient {
  constructor(private readonly transport: Transport) {}

  migrationStatus(settings?: CallSettings):
      Promise<GetMigrationStatusResponse> {
    return this.transport.unary(Admin.getMigrationStatus, {}, settings, true);
  }
  poolStats(settings?: CallSettings): Promise<GetPoolStatsResponse> {
    return this.transport.unary(Admin.getPoolStats, {}, settings, true);
  }
  verifyIndexes(settings?: CallSettings): Promise<VerifyIndexesResponse> {
    return this.transport.unary(Admin.verifyIndexes, {}, settings, true);
  }
  slowQueries(request: {limit?: number} = {}, settings?: CallSettings):
      Promise<ListSlowQueriesResponse> {
    return this.transport.unary(
        Admin.listSlowQueries, {limit: request.limit ?? 0}, settings, true);
  }
  queryStats(
      request: {orderBy?: QueryStatsOrder; limit?: number} = {},
      settings?: CallSettings,
      ): Promise<GetQueryStatsResponse> {
    return this.transport.unary(
        Admin.getQueryStats,
        {
          orderBy: request.orderBy ?? QueryStatsOrder.ORDER_UNSPECIFIED,
          limit: request.limit ?? 0
        },
        settings,
        true,
    );
  }
  cacheStats(settings?: CallSettings): Promise<GetCacheStatsResponse> {
    return this.transport.unary(Admin.getCacheStats, {}, settings, true);
  }
  /**
   * Every index of the service's tables: valid, scans, size, bloat, covered
   * by.
   */
  indexHealth(settings?: CallSettings): Promise<GetIndexHealthResponse> {
    return this.transport.unary(Admin.getIndexHealth, {}, settings, true);
  }
  /**
   * ANALYZE now (operator), of `table` or every service table, as one
   * maintenance_analyze job; `dryRun` only reports the tables' statistics.
   * A run is a write: never retried.
   */
  runAnalyze(
      request: {table?: string; dryRun?: boolean} = {},
      settings?: CallSettings): Promise<RunAnalyzeResponse> {
    const dryRun = request.dryRun ?? false;
    return this.transport.unary(
        Admin.runAnalyze, {
          ...(request.table !== undefined ? {table: request.table} : {}),
          dryRun
        },
        settings, dryRun);
  }
}

export class HealthClient {
  constructor(private readonly transport: Transport) {}

  /** SERVING, NOT_SERVING...; `service` "" is the whole server. */
  async check(service = '', settings?: CallSettings): Promise<ServingStatus> {
    const response =
        await this.transport.unary(Health.check, {service}, settings, true);
    return response.status;
  }
}
