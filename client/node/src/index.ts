// @aves/data-client: one AvesClient, one object per service of avesd.
import {BulkClient} from './bulk';
import {CacheClient, type CoalescingOptions} from './cache';
import {JobsClient} from './jobs';
import {AdminClient, AnnotationsClient, HealthClient} from './services';
import {Transport, type TransportOptions} from './transport';

export * from './bulk';
export * from './cache';
export * from './errors';
export * from './jobs';
export * from './services';
export type{CallSettings, TlsOptions, TransportOptions} from './transport';

export interface AvesClientOptions extends TransportOptions {
  /** How cache.get coalesces (on by default). */
  coalescing?: CoalescingOptions;
}

export class AvesClient {
  readonly cache: CacheClient;
  readonly jobs: JobsClient;
  readonly bulk: BulkClient;
  readonly annotations: AnnotationsClient;
  readonly admin: AdminClient;
  readonly health: HealthClient;
  private readonly transport: Transport;

  constructor(options: AvesClientOptions) {
    this.transport = new Transport(options);
    this.cache = new CacheClient(this.transport, options.coalescing);
    this.jobs = new JobsClient(this.transport);
    this.bulk = new BulkClient(this.transport);
    this.annotations = new AnnotationsClient(this.transport);
    this.admin = new AdminClient(this.transport);
    this.health = new HealthClient(this.transport);
  }

  /** Fails gets still waiting with CANCELLED and closes the channel. */
  close(): void {
    this.cache.close();
    this.transport.close();
  }
}
