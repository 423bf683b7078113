-- One stream per load at a time. The attempt that holds a load (job_id)
-- holds it until lease_until; its avesd renews the lease while the stream
-- lives and clears it when the attempt ends. Another stream of the same load
-- id is refused while the lease runs, and takes the load over (failing the
-- old attempt's job, which fences off any batch the old stream still sends)
-- once it has lapsed: an avesd that crashed holds a load no longer than one
-- lease. NULL: no stream holds the load.
ALTER TABLE bulk_loads
  ADD COLUMN lease_until timestamptz
    CONSTRAINT bulk_loads_lease_until_in_api_range
    CHECK (lease_until >= '0001-01-01 00:00:00+00' AND lease_until < '10000-01-01 00:00:00+00');
