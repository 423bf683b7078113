// The aves-data dashboard: one page, no build step. Every figure comes from
// avesd's own RPCs through /api/<Service>/<Method> (protobuf's JSON mapping:
// int64 as strings, durations as "1.5s", timestamps as RFC 3339). Text from
// the service (job metadata, error messages, plans) is only ever set as
// textContent, never parsed as HTML.
'use strict';

const TOKEN_KEY = 'aves-token';
const REFRESH_MS = {
  overview: 2000,
  pool: 1000,
  queries: 3000,
  jobs: 500,
  loads: 1000,
  indexes: 15000,
  cache: 2000
};
const HISTORY_POINTS =
    300;  // client-side series (pool, cache): 5 to 10 minutes

// --- small helpers ---------------------------------------------------------

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class')
      el.className = value;
    else if (key.startsWith('on'))
      el.addEventListener(key.slice(2), value);
    else
      el.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(
        child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

const num = (v) => (v === undefined || v === null || v === '' ? 0 : Number(v));
const seconds = (d) =>
    (typeof d === 'string' && d.endsWith('s') ? Number(d.slice(0, -1)) : 0);
const ms = (d) => seconds(d) * 1000;

function fmtMs(value) {
  if (!value) return '0';
  if (value < 1) return value.toFixed(2) + ' ms';
  if (value < 1000) return value.toFixed(value < 10 ? 1 : 0) + ' ms';
  return (value / 1000).toFixed(2) + ' s';
}
function fmtCount(value) {
  value = num(value);
  if (Math.abs(value) >= 1e6) return (value / 1e6).toFixed(1) + 'M';
  if (Math.abs(value) >= 1e4) return (value / 1e3).toFixed(1) + 'k';
  return String(Math.round(value * 10) / 10);
}
function fmtBytes(value) {
  value = num(value);
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return (unit === 0 ? value : value.toFixed(1)) + ' ' + units[unit];
}
function fmtTime(ts) {
  if (!ts) return '—';
  const d = new Date(ts);
  return isNaN(d) ? '—' : d.toLocaleString();
}
function fmtAgo(ts) {
  if (!ts) return 'never';
  const s = (Date.now() - new Date(ts).getTime()) / 1000;
  if (s < 0) return 'in ' + fmtSpan(-s);
  return fmtSpan(s) + ' ago';
}
function fmtSpan(s) {
  if (s < 90) return Math.round(s) + ' s';
  if (s < 5400) return Math.round(s / 60) + ' min';
  if (s < 129600) return (s / 3600).toFixed(1) + ' h';
  return (s / 86400).toFixed(1) + ' d';
}
function pct(value) {
  return (value * 100).toFixed(value >= 0.1 || value === 0 ? 0 : 1) + '%';
}

function tile(label, value, state, id) {
  return h(
      'div', {class: 'tile ' + (state || ''), 'data-tile': id || label},
      h('div', {class: 'label'}, label), h('div', {class: 'value'}, value));
}
function table(headers, rows, empty) {
  if (rows.length === 0) return h('div', {class: 'empty'}, empty || 'none');
  return h(
      'table', {},
      h('thead', {},
        h('tr', {},
          headers.map(
              (x) => h('th', {class: x.num ? 'num' : ''}, x.label || x)))),
      h('tbody', {}, rows));
}
function cell(value, isNum) {
  return h('td', {class: isNum ? 'num' : ''}, value);
}

// --- the API ---------------------------------------------------------------

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function api(method, request) {
  const headers = {'Content-Type': 'application/json'};
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.Authorization = 'Bearer ' + token;
  const response = await fetch(
      '/api/' + method,
      {method: 'POST', headers, body: JSON.stringify(request || {})});
  let body = null;
  try {
    body = await response.json();
  } catch (_) { /* not JSON: reported below */
  }
  if (!response.ok) {
    throw new ApiError(
        response.status, body && body.code || String(response.status),
        body && body.message || response.statusText);
  }
  return body;
}

// --- charts ----------------------------------------------------------------

const PALETTE = [
  '#2463c7', '#d9480f', '#2b8a3e', '#862e9c', '#e67700', '#0b7285', '#c2255c',
  '#5c940d'
];
const charts = new Map();

// A line chart in `slot` (kept across refreshes so it does not flicker).
function lineChart(slot, key, title, labels, datasets, yLabel) {
  let entry = charts.get(key);
  if (!entry || !document.body.contains(entry.canvas)) {
    if (entry) entry.chart.destroy();
    const canvas = h('canvas', {'aria-label': title});
    entry = {
      canvas,
      chart: null,
      wrapper:
          h('div', {class: 'chart', 'data-chart': key}, h('h3', {}, title),
            h('div', {class: 'canvas'}, canvas))
    };
    if (typeof Chart !== 'undefined') {
      entry.chart = new Chart(canvas, {
        type: 'line',
        data: {labels: [], datasets: []},
        options: {
          animation: false,
          responsive: true,
          maintainAspectRatio: false,
          interaction: {mode: 'index', intersect: false},
          elements: {point: {radius: 0}, line: {borderWidth: 2, tension: 0.2}},
          scales: {
            x: {ticks: {maxTicksLimit: 8, autoSkip: true}},
            y: {beginAtZero: true, title: {display: !!yLabel, text: yLabel}}
          },
          plugins: {legend: {position: 'bottom', labels: {boxWidth: 12}}},
        },
      });
    }
    charts.set(key, entry);
  }
  slot.append(entry.wrapper);
  if (entry.chart) {
    entry.chart.data.labels = labels;
    entry.chart.data.datasets =
        datasets.map((d, i) => ({
                       label: d.label,
                       data: d.data,
                       borderColor: d.color || PALETTE[i % PALETTE.length],
                       backgroundColor: d.color || PALETTE[i % PALETTE.length],
                       fill: false,
                     }));
    entry.chart.update('none');
  }
}
const clock = (ts) => new Date(ts).toLocaleTimeString(
    [], {hour: '2-digit', minute: '2-digit', second: '2-digit'});

// Client-side series of figures read on each refresh (pool, cache).
const history = {
  pool: [],
  cache: []
};
function remember(series, point) {
  series.push(point);
  while (series.length > HISTORY_POINTS) series.shift();
}

// --- views -----------------------------------------------------------------

const JOB_STATUS = (s) =>
    String(s || '').replace('JOB_STATUS_', '').toLowerCase();

async function overview(slot) {
  const [rpc, pool, active] = await Promise.all([
    api('AdminService/GetRpcStats', {}),
    api('AdminService/GetPoolStats', {}),
    api('BatchJobService/ListJobs', {
      statuses: ['JOB_STATUS_PENDING', 'JOB_STATUS_PROCESSING'],
      pageSize: 1000
    }),
  ]);
  const interval = seconds(rpc.interval) || 5;
  const methods = rpc.methods || [];
  // The newest 10 s (at least one interval), over every method.
  const recentPoints = Math.max(1, Math.round(10 / interval));
  let recentRequests = 0, worstP99 = 0, windowRequests = 0, windowErrors = 0;
  for (const m of methods) {
    for (const p of m.points.slice(-recentPoints)) {
      recentRequests += num(p.requests);
    }
    windowRequests += num(m.requests);
    windowErrors += num(m.errors);
    worstP99 = Math.max(worstP99, ms(m.p99));
  }
  const errorRate = windowRequests ? windowErrors / windowRequests : 0;
  const inUse = num(pool.inUse), max = num(pool.max);
  slot.append(h(
      'div', {class: 'tiles'},
      tile(
          'Requests/s (last 10 s)',
          fmtCount(recentRequests / (recentPoints * interval)), '', 'requests'),
      tile(
          'Error rate (window)', pct(errorRate),
          errorRate > 0.05     ? 'bad' :
              errorRate > 0.01 ? 'warn' :
                                 'ok',
          'errors'),
      tile(
          'Worst p99 (window)', fmtMs(worstP99),
          worstP99 > 500     ? 'bad' :
              worstP99 > 100 ? 'warn' :
                               '',
          'p99'),
      tile(
          'Pool in use', inUse + ' / ' + max, inUse >= max ? 'warn' : '',
          'pool'),
      tile(
          'Waiting for a connection', String(num(pool.waiting)),
          num(pool.waiting) > 0 ? 'warn' : 'ok', 'waiting'),
      tile('Active jobs', String((active.jobs || []).length), '', 'jobs'),
      tile(
          'Serving since', fmtAgo(rpc.servingSince).replace(' ago', ''), '',
          'uptime')));

  const top = methods.slice(0, 6);
  const labels = top.length ? top[0].points.map((p) => clock(p.endTime)) : [];
  const charted = h('div', {class: 'charts'});
  slot.append(charted);
  lineChart(
      charted, 'rps', 'Requests/s by method', labels,
      top.map((m) => ({
                label: m.method,
                data: m.points.map((p) => num(p.requests) / interval)
              })),
      'calls/s');
  lineChart(
      charted, 'p99', 'p99 latency by method (ms, bucket edge)', labels,
      top.map((m) => ({label: m.method, data: m.points.map((p) => ms(p.p99))})),
      'ms');
  lineChart(
      charted, 'err', 'Errors/s by method', labels,
      top.map((m) => ({
                label: m.method,
                data: m.points.map((p) => num(p.errors) / interval)
              })),
      'errors/s');

  slot.append(
      h('h2', {}, 'Methods over the last ',
        fmtSpan(methods.length ? methods[0].points.length * interval : 0)));
  slot.append(table(
      [
        'Method', {label: 'Calls', num: true}, {label: 'Calls/s', num: true},
        {label: 'Errors', num: true}, {label: 'Error rate', num: true},
        {label: 'p99', num: true}
      ],
      methods.map((m) => {
        const span = Math.max(1, m.points.length) * interval;
        const rate = num(m.requests) ? num(m.errors) / num(m.requests) : 0;
        return h(
            'tr', {class: rate > 0.05 ? 'bad' : '', 'data-method': m.method},
            cell(m.method), cell(fmtCount(m.requests), true),
            cell(fmtCount(num(m.requests) / span), true),
            cell(fmtCount(m.errors), true), cell(pct(rate), true),
            cell(fmtMs(ms(m.p99)), true));
      }),
      'no calls in the window yet (points every ' + interval + ' s)'));
}

async function pool(slot) {
  const p = await api('AdminService/GetPoolStats', {});
  remember(history.pool, {
    t: Date.now(),
    idle: num(p.idle),
    inUse: num(p.inUse),
    waiting: num(p.waiting),
    opening: num(p.opening),
    acquireP99: ms(p.acquireWait && p.acquireWait.p99)
  });
  slot.append(
      h('div', {class: 'tiles'},
        tile(
            'Database', p.databaseReachable ? 'reachable' : 'unreachable',
            p.databaseReachable ? 'ok' : 'bad', 'reachable'),
        tile(
            'In use', String(num(p.inUse)),
            num(p.inUse) >= num(p.max) ? 'warn' : '', 'in-use'),
        tile('Idle', String(num(p.idle)), '', 'idle'),
        tile('Opening', String(num(p.opening)), '', 'opening'),
        tile(
            'Size (min–max)',
            num(p.total) + ' (' + num(p.min) + '–' + num(p.max) + ')', '',
            'size'),
        tile(
            'Waiting', String(num(p.waiting)),
            num(p.waiting) > 0 ? 'warn' : 'ok', 'waiting'),
        tile(
            'Oldest waiter', fmtMs(ms(p.oldestWaiterAge)),
            ms(p.oldestWaiterAge) > 1000 ? 'bad' : '', 'oldest'),
        tile(
            'Acquire p99', fmtMs(ms(p.acquireWait && p.acquireWait.p99)), '',
            'acquire-p99'),
        tile(
            'Query p99', fmtMs(ms(p.queryTime && p.queryTime.p99)), '',
            'query-p99'),
        tile(
            'Errors last minute', String(num(p.errorsLastMinute)),
            num(p.errorsLastMinute) > 0 ? 'bad' : 'ok', 'errors')));
  if (p.lastConnectError)
    slot.append(
        h('p', {class: 'error'}, 'Last connect error: ', p.lastConnectError));
  const charted = h('div', {class: 'charts'});
  slot.append(charted);
  const labels = history.pool.map((x) => clock(x.t));
  lineChart(
      charted, 'pool-states', 'Connections by state (since this page opened)',
      labels,
      [
        {label: 'in use', data: history.pool.map((x) => x.inUse)},
        {label: 'idle', data: history.pool.map((x) => x.idle)},
        {label: 'opening', data: history.pool.map((x) => x.opening)},
        {
          label: 'waiting',
          data: history.pool.map((x) => x.waiting),
          color: '#c62828'
        },
      ],
      'connections');
  lineChart(
      charted, 'pool-acquire', 'Acquire wait p99 (ms)', labels,
      [{label: 'acquire p99', data: history.pool.map((x) => x.acquireP99)}],
      'ms');
  const summary = (name, s) => s ?
      h('tr', {}, cell(name), cell(fmtCount(s.count), true),
        cell(fmtMs(ms(s.p50)), true), cell(fmtMs(ms(s.p95)), true),
        cell(fmtMs(ms(s.p99)), true), cell(fmtMs(ms(s.max)), true)) :
      null;
  slot.append(h('h2', {}, 'Latency'));
  slot.append(table(
      [
        '', {label: 'Count', num: true}, {label: 'p50', num: true},
        {label: 'p95', num: true}, {label: 'p99', num: true},
        {label: 'max', num: true}
      ],
      [
        summary('acquire wait', p.acquireWait),
        summary('query time', p.queryTime)
      ].filter(Boolean)));
  slot.append(h('h2', {}, 'Counters since start'));
  const counters = [
    ['acquired', p.acquired], ['acquire timeouts', p.acquireTimeouts],
    ['rejected (queue full)', p.rejectedFull],
    ['rejected (unavailable)', p.rejectedUnavailable],
    ['connections opened', p.connectionsOpened],
    ['connect failures', p.connectFailures],
    ['connections closed', p.connectionsClosed],
    ['watchdog cancels', p.cancels], ['aborts', p.aborts],
    ['lease warnings', p.leaseWarnings]
  ];
  for (const [reason, n] of Object.entries(p.discardedByReason || {}))
    counters.push(['discarded: ' + reason, n]);
  for (const [code, n] of Object.entries(p.errorsByCode || {}))
    counters.push(['errors: ' + code, n]);
  slot.append(table(
      ['Counter', {label: 'Value', num: true}],
      counters.map(([k, v]) => h('tr', {}, cell(k), cell(fmtCount(v), true)))));
}

function planSummary(plan) {
  if (!plan) return h('span', {class: 'muted'}, 'no plan taken');
  const first = plan.split('\n')[0];
  return h('details', {}, h('summary', {}, first), h('pre', {}, plan));
}

async function queries(slot) {
  const [slow, byTotal, byMean] = await Promise.all([
    api('AdminService/ListSlowQueries', {limit: 50}),
    api('AdminService/GetQueryStats', {orderBy: 'ORDER_TOTAL_TIME', limit: 10}),
    api('AdminService/GetQueryStats', {orderBy: 'ORDER_MEAN_TIME', limit: 10}),
  ]);
  slot.append(
      h('div', {class: 'tiles'},
        tile(
            'Slow statements since start', fmtCount(slow.totalSlow),
            num(slow.totalSlow) > 0 ? 'warn' : 'ok', 'slow'),
        tile('Slow threshold', fmtMs(ms(slow.threshold)), '', 'threshold'),
        tile(
            'Statistics window',
            fmtSpan(
                (new Date(byTotal.windowEnd) - new Date(byTotal.windowStart)) /
                1000),
            '', 'window')));
  slot.append(
      h('h2', {}, 'Slow statements (newest first, last ', slow.capacity,
        ' kept)'));
  slot.append(table(
      [
        'Finished', 'RPC', 'Statement', {label: 'Duration', num: true},
        {label: 'Rows', num: true}, 'Plan'
      ],
      (slow.queries || [])
          .map(
              (q) =>
                  h('tr', {
                    class: q.failed ? 'bad' : '',
                    'data-slow-query': q.query,
                    'data-rpc': q.rpc
                  },
                    cell(clock(q.finishedAt)), cell(q.rpc),
                    cell(q.query + (q.failed ? ' (failed)' : '')),
                    cell(fmtMs(ms(q.duration)), true),
                    cell(fmtCount(q.rows), true),
                    h('td', {}, planSummary(q.plan)))),
      'no statement slower than ' + fmtMs(ms(slow.threshold)) + ' yet'));
  const statTable = (stats) => table(
      [
        'Statement', {label: 'Calls', num: true}, {label: 'Total', num: true},
        {label: 'Mean', num: true}, {label: 'Rows', num: true},
        {label: 'Cache hits', num: true}
      ],
      (stats.statements || [])
          .map(
              (s) =>
                  h('tr', {'data-statement': s.query || s.queryId},
                    h('td', {},
                      s.query ? h('b', {}, s.query) :
                                h('span', {class: 'muted'}, 'other client'),
                      h('div', {class: 'muted'}, (s.text || '').slice(0, 160))),
                    cell(fmtCount(s.calls), true),
                    cell(fmtMs(ms(s.totalTime)), true),
                    cell(fmtMs(ms(s.meanTime)), true),
                    cell(fmtCount(s.rows), true),
                    cell(pct(num(s.cacheHitRatio)), true))),
      'no statements in the window (pg_stat_statements)');
  slot.append(h(
      'h2', {},
      'Top statements by total time (pg_stat_statements, change over the window)'));
  slot.append(statTable(byTotal));
  slot.append(h('h2', {}, 'Top statements by mean time'));
  slot.append(statTable(byMean));
}

function progressBar(job) {
  const total = num(job.totalItems), done = num(job.processedItems),
        failed = num(job.failedItems);
  const base = total > 0 ? total : Math.max(1, done + failed);
  const donePct = Math.min(100, (100 * done) / base),
        failedPct = Math.min(100 - donePct, (100 * failed) / base);
  return h(
      'div', {
        class: 'progress',
        role: 'progressbar',
        'aria-valuemin': 0,
        'aria-valuemax': total,
        'aria-valuenow': done + failed,
        'data-job-id': job.id,
        'data-processed': done,
        'data-total': total
      },
      h('div', {class: 'done', style: 'width:' + donePct.toFixed(1) + '%'}),
      h('div',
        {class: 'failed', style: 'width:' + failedPct.toFixed(1) + '%'}));
}

let selectedJob = null;
let errorPages = {token: '', stack: []};

async function jobDetails(slot, id) {
  const [job, errors] = await Promise.all([
    api('BatchJobService/GetJob', {id}),
    api('BatchJobService/ListJobErrors',
        {jobId: id, pageSize: 20, pageToken: errorPages.token}),
  ]);
  const j = job.job || job;
  const panel = h('div', {id: 'job-details', 'data-job-id': j.id});
  panel.append(
      h('h2', {}, 'Job ', j.id, ' ',
        h('span', {class: 'tag'}, JOB_STATUS(j.status)), ' ',
        h('button', {
          onclick: () => {
            selectedJob = null;
            errorPages = {token: '', stack: []};
            refreshNow();
          }
        },
          'close')));
  panel.append(table(
      [
        'Type', 'Created', 'Started', 'Completed',
        {label: 'Processed', num: true}, {label: 'Failed', num: true},
        {label: 'Total', num: true}, 'Progress'
      ],
      [h('tr', {}, cell(j.jobType), cell(fmtTime(j.createdAt)),
         cell(fmtTime(j.startedAt)), cell(fmtTime(j.completedAt)),
         cell(fmtCount(j.processedItems), true),
         cell(fmtCount(j.failedItems), true),
         cell(fmtCount(j.totalItems), true), h('td', {}, progressBar(j)))]));
  if (j.metadata && j.metadata !== '{}') panel.append(h('pre', {}, j.metadata));
  panel.append(h('h2', {}, 'Errors (newest first)'));
  panel.append(table(
      ['When', 'Item', 'Message'],
      (errors.errors || [])
          .map(
              (e) =>
                  h('tr', {'data-error-id': e.id}, cell(fmtTime(e.createdAt)),
                    cell(
                        e.itemId ||
                        (e.itemIndex !== undefined ? '#' + e.itemIndex : '')),
                    cell(e.errorMessage))),
      'no errors'));
  panel.append(
      h('div', {class: 'actions'},
        h('button', {
          disabled: errorPages.stack.length === 0,
          onclick: () => {
            errorPages.token = errorPages.stack.pop() || '';
            refreshNow();
          }
        },
          '‹ newer'),
        h('button', {
          id: 'errors-next',
          disabled: !errors.nextPageToken,
          onclick: () => {
            errorPages.stack.push(errorPages.token);
            errorPages.token = errors.nextPageToken;
            refreshNow();
          }
        },
          'older ›')));
  slot.append(panel);
}

function jobRow(job) {
  return h(
      'tr', {
        class: 'clickable',
        'data-job-row': job.id,
        onclick: () => {
          selectedJob = job.id;
          errorPages = {token: '', stack: []};
          refreshNow();
        }
      },
      cell(job.jobType),
      h('td', {}, h('span', {class: 'tag'}, JOB_STATUS(job.status))),
      h('td', {}, progressBar(job)),
      cell(
          fmtCount(job.processedItems) +
              (num(job.totalItems) ? ' / ' + fmtCount(job.totalItems) : ''),
          true),
      cell(fmtCount(job.failedItems), true),
      cell(fmtAgo(job.startedAt || job.createdAt)), cell(job.createdBy || ''));
}

async function jobs(slot) {
  const [active, failed] = await Promise.all([
    api('BatchJobService/ListJobs', {
      statuses: ['JOB_STATUS_PENDING', 'JOB_STATUS_PROCESSING'],
      pageSize: 100
    }),
    api('BatchJobService/ListJobs',
        {statuses: ['JOB_STATUS_FAILED'], pageSize: 10}),
  ]);
  const headers = [
    'Type', 'Status', 'Progress', {label: 'Items', num: true},
    {label: 'Failed', num: true}, 'Started', 'By'
  ];
  slot.append(h('h2', {}, 'Active jobs'));
  slot.append(
      table(headers, (active.jobs || []).map(jobRow), 'no job is running'));
  slot.append(h('h2', {}, 'Recent failures'));
  slot.append(
      table(headers, (failed.jobs || []).map(jobRow), 'no failed jobs'));
  if (selectedJob) await jobDetails(slot, selectedJob);
}

const loadRates = new Map();  // job id -> {t, processed, rate}

async function loads(slot) {
  const [running, recent] = await Promise.all([
    api('BatchJobService/ListJobs', {
      statuses: ['JOB_STATUS_PENDING', 'JOB_STATUS_PROCESSING'],
      jobType: 'bulk_insert',
      pageSize: 100
    }),
    api('BatchJobService/ListJobs', {
      statuses:
          ['JOB_STATUS_COMPLETED', 'JOB_STATUS_FAILED', 'JOB_STATUS_CANCELLED'],
      jobType: 'bulk_insert',
      pageSize: 10
    }),
  ]);
  const now = Date.now();
  const rows = (running.jobs || []).map((job) => {
    let meta = {};
    try {
      meta = JSON.parse(job.metadata || '{}');
    } catch (_) { /* shown as is */
    }
    const processed = num(job.processedItems);
    const seen = loadRates.get(job.id);
    // Rows/s over the last second or so, smoothed; from its start before that.
    let rate = 0;
    if (seen && now > seen.t)
      rate = seen.rate ? 0.7 * seen.rate +
              0.3 * ((processed - seen.processed) * 1000) / (now - seen.t) :
                         ((processed - seen.processed) * 1000) / (now - seen.t);
    else if (job.startedAt)
      rate = (processed * 1000) /
          Math.max(1, now - new Date(job.startedAt).getTime());
    loadRates.set(job.id, {t: now, processed, rate});
    const total = num(job.totalItems);
    const eta = total > processed && rate > 0 ?
        fmtSpan((total - processed) / rate) :
        total ? '—' :
                'unknown total';
    return h(
        'tr', {'data-load': job.id}, cell(meta.load_id || job.id),
        cell(meta.table || ''), h('td', {}, progressBar(job)),
        cell(
            fmtCount(processed) + (total ? ' / ' + fmtCount(total) : ''), true),
        cell(fmtCount(rate) + '/s', true), cell(eta, true),
        cell(fmtAgo(job.startedAt || job.createdAt)));
  });
  slot.append(h('h2', {}, 'Bulk loads in progress'));
  slot.append(table(
      [
        'Load', 'Table', 'Progress', {label: 'Rows', num: true},
        {label: 'Rows/s', num: true}, {label: 'ETA', num: true}, 'Started'
      ],
      rows, 'no bulk load is running'));
  slot.append(h('h2', {}, 'Recently ended'));
  slot.append(table(
      ['Load', 'Table', 'Status', {label: 'Rows', num: true}, 'Ended'],
      (recent.jobs || []).map((job) => {
        let meta = {};
        try {
          meta = JSON.parse(job.metadata || '{}');
        } catch (_) { /* shown as is */
        }
        return h(
            'tr', {class: JOB_STATUS(job.status) === 'failed' ? 'bad' : ''},
            cell(meta.load_id || job.id), cell(meta.table || ''),
            cell(JOB_STATUS(job.status)),
            cell(fmtCount(job.processedItems), true),
            cell(fmtAgo(job.completedAt || job.updatedAt)));
      }),
      'none'));
}

let analyzeResult = null;

async function reindex(event, index) {
  event.target.disabled = true;
  try {
    const run = await api('AdminService/ReindexIndex', {index});
    analyzeResult = {
      ok: true,
      text: index + ' rebuilt as job ' + run.jobId + ': ' +
          fmtBytes(run.sizeBytesBefore) + ' → ' + fmtBytes(run.sizeBytesAfter)
    };
  } catch (e) {
    analyzeResult = {ok: false, text: e.code + ': ' + e.message};
  }
  refreshNow();
}

async function indexes(slot) {
  const [health, verify] = await Promise.all([
    api('AdminService/GetIndexHealth', {}),
    api('AdminService/VerifyIndexes', {}),
  ]);
  const list = health.indexes || [];
  const unused =
      list.filter((i) => num(i.scans) === 0 && !i.enforcesConstraint);
  const redundant = list.filter(
      (i) => (i.coveredBy || []).length > 0 && !i.enforcesConstraint);
  const invalid = list.filter((i) => !i.valid);
  const failedChecks = (verify.checks || []).filter((c) => !c.passed);
  slot.append(
      h('div', {class: 'tiles'},
        tile(
            'Index proofs',
            verify.allPassed ? 'all pass' : failedChecks.length + ' fail',
            verify.allPassed ? 'ok' : 'bad', 'proofs'),
        tile(
            'Chosen at current size', verify.allChosen ? 'all' : 'not all',
            verify.allChosen ? 'ok' : 'warn', 'chosen'),
        tile(
            'Invalid indexes', String(invalid.length),
            invalid.length ? 'bad' : 'ok', 'invalid'),
        tile(
            'Unused indexes', String(unused.length),
            unused.length ? 'warn' : 'ok', 'unused'),
        tile(
            'Redundant indexes', String(redundant.length),
            redundant.length ? 'warn' : 'ok', 'redundant'),
        tile(
            'Next scheduled ANALYZE',
            health.nextScheduledAnalyze ?
                fmtAgo(health.nextScheduledAnalyze)
                    .replace(/^-?\d+ s ago$/, 'due now') :
                'off',
            '', 'next-analyze')));

  slot.append(h('h2', {}, 'Tables: planner statistics'));
  slot.append(
      h('p', {class: 'muted'}, 'Scheduled ANALYZE every ',
        fmtSpan(seconds(health.analyzeSchedule)) || 'never',
        '; last scheduled run ', fmtAgo(health.lastScheduledAnalyze), '; next ',
        health.nextScheduledAnalyze ? fmtTime(health.nextScheduledAnalyze) :
                                      'never',
        '.'));
  slot.append(table(
      [
        'Table', {label: 'Live rows', num: true},
        {label: 'Modified since ANALYZE', num: true}, 'Last ANALYZE',
        'Last autoanalyze', 'Due'
      ],
      (health.tables || [])
          .map(
              (t) => h(
                  'tr', {'data-table': t.table}, cell(t.table),
                  cell(fmtCount(t.liveRows), true),
                  cell(fmtCount(t.modifiedSinceAnalyze), true),
                  cell(fmtAgo(t.lastAnalyze)), cell(fmtAgo(t.lastAutoanalyze)),
                  h('td', {},
                    t.due ? h('span', {class: 'tag warn'}, t.due) : '')))));
  const actions = h(
      'div', {class: 'actions'},
      h('button', {
        class: 'primary',
        id: 'run-analyze',
        disabled: !session.canAct,
        title: session.canAct ? '' : 'read-only: an operator token may run it',
        onclick: async (event) => {
          event.target.disabled = true;
          try {
            const run = await api('AdminService/RunAnalyze', {});
            analyzeResult = {
              ok: true,
              text: 'ANALYZE ran as job ' + run.jobId + ': ' +
                  (run.analyzed || []).length + ' tables analyzed' +
                  ((run.failed || []).length ?
                       ', failed: ' + run.failed.join('; ') :
                       '')
            };
          } catch (e) {
            analyzeResult = {ok: false, text: e.code + ': ' + e.message};
          }
          refreshNow();
        }
      },
        'Run ANALYZE now'),
      h('span', {class: 'muted'},
        session.canAct ? 'analyzes every table now, as one job' :
                         'operators only: this token is read-only'));
  slot.append(actions);
  if (analyzeResult)
    slot.append(
        h('p', {id: 'analyze-result', class: analyzeResult.ok ? '' : 'error'},
          analyzeResult.text));

  slot.append(h('h2', {}, 'Indexes'));
  slot.append(
      h('p', {class: 'muted'}, 'Scans since ',
        health.statsSince ? fmtTime(health.statsSince) : 'the statistics began',
        '.'));
  slot.append(table(
      [
        'Index', 'Table', {label: 'Scans', num: true},
        {label: 'Size', num: true}, {label: 'Est. bloat', num: true}, 'Flags',
        ''
      ],
      list.map(
          (i) => h(
              'tr', {class: i.valid ? '' : 'bad', 'data-index': i.index},
              h('td', {}, i.index, h('div', {class: 'muted'}, i.definition)),
              cell(i.table), cell(fmtCount(i.scans), true),
              cell(fmtBytes(i.sizeBytes), true),
              cell(
                  num(i.estimatedBloatBytes) ? fmtBytes(i.estimatedBloatBytes) :
                                               '—',
                  true),
              h('td', {}, !i.valid && h('span', {class: 'tag bad'}, 'invalid'),
                num(i.scans) === 0 && !i.enforcesConstraint &&
                    h('span', {class: 'tag warn'}, 'unused'),
                (i.coveredBy || []).length > 0 &&
                    h('span', {class: 'tag warn'},
                      'covered by ' + i.coveredBy.join(', ')),
                i.enforcesConstraint &&
                    h('span', {class: 'tag'}, 'constraint')),
              h('td', {},
                session.canAct &&
                    h(
                        'button', {
                          'data-reindex': i.index,
                          title: 'REINDEX INDEX CONCURRENTLY: writes go on',
                          onclick: (event) => reindex(event, i.index),
                        },
                        'rebuild'))))));

  slot.append(h('h2', {}, 'Index proofs (VerifyIndexes)'));
  slot.append(table(
      ['Query', 'Plan', 'Intended index', 'Plan uses', 'Verdict'],
      (verify.checks || [])
          .map(
              (c) =>
                  h('tr', {class: c.passed ? '' : 'bad'}, cell(c.query),
                    cell(c.planMode), cell(c.intendedIndex),
                    cell((c.planIndexes || []).join(', ')),
                    h('td', {},
                      h('span', {class: 'tag ' + (c.passed ? 'ok' : 'bad')},
                        c.passed ? 'pass' : 'FAIL'),
                      c.chosenAtCurrentSize ? '' :
                                              h('span', {class: 'tag'},
                                                'not chosen at this size'))))));
}

async function cache(slot) {
  const c = await api('AdminService/GetCacheStats', {});
  const asked = num(c.hits) + num(c.negativeHits) + num(c.misses);
  const previous = history.cache[history.cache.length - 1];
  let recentRate = null;
  if (previous && asked > previous.asked)
    recentRate = (num(c.hits) + num(c.negativeHits) - previous.hits) /
        (asked - previous.asked);
  remember(history.cache, {
    t: Date.now(),
    asked,
    hits: num(c.hits) + num(c.negativeHits),
    rate: recentRate,
    entries: num(c.entries)
  });
  if (!c.enabled)
    slot.append(h(
        'p', {class: 'muted'},
        'The lookup cache is off (AVES_CACHE_MAX_ENTRIES or AVES_CACHE_MAX_BYTES is 0): every lookup goes to PostgreSQL.'));
  slot.append(
      h('div', {class: 'tiles'},
        tile('Hit rate (since start)', pct(num(c.hitRate)), '', 'hit-rate'),
        tile(
            'Entries', fmtCount(c.entries) + ' / ' + fmtCount(c.maxEntries), '',
            'entries'),
        tile(
            'Size', fmtBytes(c.bytes) + ' / ' + fmtBytes(c.maxBytes), '',
            'bytes'),
        tile(
            'Feed', c.bypassed ? 'bypassed' : 'listening',
            c.bypassed ? 'bad' : 'ok', 'feed'),
        tile('Hits', fmtCount(c.hits), '', 'hits'),
        tile('Negative hits', fmtCount(c.negativeHits), '', 'negative-hits'),
        tile('Misses', fmtCount(c.misses), '', 'misses'),
        tile('Evictions', fmtCount(c.evictions), '', 'evictions'),
        tile('Invalidations', fmtCount(c.invalidations), '', 'invalidations'),
        tile('Expirations', fmtCount(c.expirations), '', 'expirations')));
  const charted = h('div', {class: 'charts'});
  slot.append(charted);
  const labels = history.cache.map((x) => clock(x.t));
  lineChart(
      charted, 'cache-rate',
      'Hit rate between refreshes (since this page opened)', labels, [{
        label: 'hit rate %',
        data: history.cache.map((x) => (x.rate === null ? null : x.rate * 100))
      }],
      '%');
  lineChart(
      charted, 'cache-entries', 'Entries', labels,
      [{label: 'entries', data: history.cache.map((x) => x.entries)}],
      'entries');
}

// --- the shell -------------------------------------------------------------

const VIEWS = {
  overview,
  pool,
  queries,
  jobs,
  loads,
  indexes,
  cache
};
let timer = null;
let lastSuccess = 0;
let generation = 0;

function currentView() {
  const name = location.hash.replace('#', '');
  return VIEWS[name] ? name : 'overview';
}

function showBanner(text) {
  const banner = document.getElementById('banner');
  banner.hidden = !text;
  banner.textContent = text || '';
}

function signIn(message) {
  const dialog = document.getElementById('signin');
  document.getElementById('signin-error').textContent = message || '';
  if (!dialog.open) dialog.showModal();
}

async function refreshHealth() {
  const badge = document.getElementById('serving');
  try {
    const health = await api('Health/Check', {});
    const serving = health.status === 'SERVING';
    badge.textContent = serving ?
        'SERVING' :
        String(health.status || 'UNKNOWN').replace(/_/g, ' ');
    badge.className = 'badge ' + (serving ? 'ok' : 'bad');
  } catch (e) {
    badge.textContent = e.status === 503 ? 'NOT SERVING' : 'UNREACHABLE';
    badge.className = 'badge bad';
  }
}

async function refresh() {
  clearTimeout(timer);
  const mine = ++generation;
  const name = currentView();
  for (const a of document.querySelectorAll('#tabs a'))
    a.classList.toggle('active', a.getAttribute('href') === '#' + name);
  const slot = h('div', {'data-view': name});
  try {
    await Promise.all([VIEWS[name](slot), refreshHealth()]);
    if (mine !== generation) return;  // a newer refresh replaced this one
    document.getElementById('view').replaceChildren(slot);
    lastSuccess = Date.now();
    showBanner('');
  } catch (e) {
    if (mine !== generation) return;
    if (e instanceof ApiError && e.status === 401) {
      signIn('That token was refused: ' + e.message);
      return;  // no polling until signed in
    }
    showBanner(
        e instanceof ApiError ? e.code + ': ' + e.message :
                                'avesd is unreachable: ' + e.message);
    console.warn('refresh of', name, 'failed:', e.message);
  }
  timer = setTimeout(refresh, REFRESH_MS[name]);
}
function refreshNow() {
  refresh();
}

function updateAge() {
  const age = document.getElementById('age');
  if (!lastSuccess) {
    age.textContent = '';
    return;
  }
  const s = (Date.now() - lastSuccess) / 1000;
  age.textContent = 'data ' + (s < 1 ? 'live' : s.toFixed(0) + ' s old');
  age.classList.toggle('stale', s > 5);
}

// Who this page acts as (GET /api): whether avesd wants a token, and the
// roles of the one given. Actions are offered only to roles that may take
// them; the RPCs decide either way.
const session = {
  authentication: false,
  subject: '',
  roles: [],
  canAct: true
};

async function startSession() {
  const headers = {};
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.Authorization = 'Bearer ' + token;
  const response = await fetch('/api', {headers});
  const about = await response.json();
  session.authentication = !!about.authentication;
  session.subject = about.subject || '';
  session.roles = about.roles ? about.roles.split(',') : [];
  session.canAct = !session.authentication ||
      session.roles.includes('operator') || session.roles.includes('admin');
  const who = document.getElementById('who');
  who.replaceChildren();
  if (session.subject) {
    who.append(
        'signed in as ' + session.subject + ' (' + session.roles.join(', ') +
            ')',
        h('button', {
          onclick: () => {
            sessionStorage.removeItem(TOKEN_KEY);
            start();
          }
        },
          'sign out'));
  }
  if (session.authentication && (!token || about.tokenError)) {
    signIn(
        about.tokenError ? 'That token was refused: ' + about.tokenError : '');
    return false;
  }
  return true;
}

async function start() {
  clearTimeout(timer);
  try {
    if (await startSession()) refresh();
  } catch (e) {
    showBanner('avesd is unreachable: ' + e.message);
    timer = setTimeout(start, 2000);
  }
}

window.addEventListener('hashchange', refresh);
document.getElementById('signin-form').addEventListener('submit', () => {
  sessionStorage.setItem(
      TOKEN_KEY, document.getElementById('token').value.trim());
  document.getElementById('token').value = '';
  start();
});
setInterval(updateAge, 500);
start();
