// A loader written from the protos alone, as a Node backend would (grpc-js):
// it streams one user_progress row per word (in chunks of 100) under load id
// LOAD_ID, and cancels the call (RST_STREAM CANCEL) once CANCEL_AFTER rows
// are committed. Prints the committed offset it saw and how the call ended.
// Usage: node cancel_load.js ADDRESS PROTO_ROOT LOAD_ID CANCEL_AFTER USERS... -- WORDS...
'use strict';
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const [address, protoRoot, loadId, cancelAfterText, ...ids] = process.argv.slice(2);
const cancelAfter = Number(cancelAfterText);
const split = ids.indexOf('--');
const users = ids.slice(0, split);
const words = ids.slice(split + 1);

const definition = protoLoader.loadSync('aves/data/v1/bulk_insert.proto', {
  includeDirs: [protoRoot], keepCase: true, longs: String, enums: String,
  defaults: true, oneofs: true,
});
const v1 = grpc.loadPackageDefinition(definition).aves.data.v1;
const client = new v1.BulkInsertService(address, grpc.credentials.createInsecure());
const call = client.Insert();
let committed = 0;
let cancelled = false;
call.on('data', (response) => {
  if (response.progress && !cancelled) {
    committed = Number(response.progress.committed_offset);
    if (committed >= cancelAfter) {
      cancelled = true;
      console.log(`committed ${committed}`);
      call.cancel();
    }
  }
});
call.on('error', (error) => {
  console.log(`ended ${grpc.status[error.code]}`);
  console.log('done');
  process.exit(0);
});
call.on('end', () => { console.log('ended OK'); console.log('done'); process.exit(0); });
call.write({ header: { table: 'user_progress',
                       columns: ['user_id', 'vocabulary_id', 'correct_count'],
                       mode: 'INSERT_MODE_INSERT', batch_size: 100, load_id: loadId } });
for (let chunk = 0; chunk * 100 < words.length; ++chunk) {
  const rows = [];
  for (let i = chunk * 100; i < (chunk + 1) * 100; ++i) {
    rows.push({ cells: [{ uuid_value: users[i % users.length] },
                        { uuid_value: words[i] },
                        { int64_value: String(i) }] });
  }
  call.write({ rows: { first_row: String(chunk * 100), rows } });
}
setTimeout(() => { console.log('timed out'); process.exit(1); }, 30000);
