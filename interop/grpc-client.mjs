// An @grpc/grpc-js client of the example banking API: it makes one unary
// call and prints what a JavaScript application sees of the answer, as one
// JSON object on stdout, for the Go tests to assert.
//
//   node grpc-client.mjs '{"addr":"127.0.0.1:9090","proto":"../examples/internal/bankpb/bank.proto",
//     "service":"Bank","method":"Transfer","token":"…","request":{"from":"a","to":"b","cents":1}}'
//
// Output on success: {"ok":true,"response":{…}}. On a gRPC error:
//   {"ok":false,"code":16,"codeName":"UNAUTHENTICATED","details":"<status message>",
//    "headers":{"www-authenticate":["…"]},"trailers":{"www-authenticate":["…"]},
//    "statusDetails":[{"typeUrl":"type.googleapis.com/google.rpc.ErrorInfo",
//      "errorInfo":{"reason":"…","domain":"…","metadata":{…}}}]}
// headers holds the response header metadata (empty when the server
// answered trailers-only), trailers the trailing metadata; statusDetails
// decodes the grpc-status-details-bin trailer (a google.rpc.Status) with
// protobufjs. The exit code is 0 whenever the call got an answer, 1 when the
// script itself failed.

import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';

// The google.rpc messages of status details. Any is declared here rather
// than imported: only its wire format (type_url = 1, value = 2) matters.
const rpcTypes = protobuf.parse(`
syntax = "proto3";
package google.rpc;
message Any { string type_url = 1; bytes value = 2; }
message Status { int32 code = 1; string message = 2; repeated Any details = 3; }
message ErrorInfo { string reason = 1; string domain = 2; map<string, string> metadata = 3; }
`, { keepCase: true }).root;
const Status = rpcTypes.lookupType('google.rpc.Status');
const ErrorInfo = rpcTypes.lookupType('google.rpc.ErrorInfo');
const errorInfoURL = 'type.googleapis.com/google.rpc.ErrorInfo';

const CALL_TIMEOUT_MS = 15000;

function metadataObject(md) {
  const out = {};
  if (!md) return out;
  for (const key of Object.keys(md.getMap())) {
    if (key.endsWith('-bin')) continue;
    out[key] = md.get(key).map(String);
  }
  return out;
}

function statusDetails(trailers) {
  const [raw] = trailers ? trailers.get('grpc-status-details-bin') : [];
  if (!raw) return [];
  const st = Status.toObject(Status.decode(raw), { defaults: true });
  return st.details.map((any) => {
    const d = { typeUrl: any.type_url };
    if (any.type_url === errorInfoURL) {
      d.errorInfo = ErrorInfo.toObject(ErrorInfo.decode(any.value), { defaults: true });
    }
    return d;
  });
}

function main() {
  const args = JSON.parse(process.argv[2] || '{}');
  for (const name of ['addr', 'proto', 'service', 'method']) {
    if (!args[name]) throw new Error(`argument ${name} missing`);
  }
  const def = protoLoader.loadSync(args.proto, { keepCase: false, longs: String, defaults: true });
  const bank = grpc.loadPackageDefinition(def).bank.v1;
  const Service = bank[args.service];
  if (!Service) throw new Error(`no service bank.v1.${args.service}`);
  const client = new Service(args.addr, grpc.credentials.createInsecure());
  const md = new grpc.Metadata();
  if (args.token) md.set('authorization', `Bearer ${args.token}`);

  let headers;
  const method = args.method.charAt(0).toLowerCase() + args.method.slice(1);
  if (typeof client[method] !== 'function') throw new Error(`no method ${args.method}`);
  const call = client[method](args.request || {}, md, { deadline: Date.now() + CALL_TIMEOUT_MS }, (err, response) => {
    let out;
    if (!err) {
      out = { ok: true, response };
    } else {
      out = {
        ok: false,
        code: err.code,
        codeName: grpc.status[err.code],
        details: err.details,
        headers: metadataObject(headers),
        trailers: metadataObject(err.metadata),
        statusDetails: statusDetails(err.metadata),
      };
    }
    process.stdout.write(`${JSON.stringify(out)}\n`);
    client.close();
  });
  call.on('metadata', (m) => { headers = m; });
}

try {
  main();
} catch (err) {
  process.stderr.write(`grpc-client: ${err.stack || err}\n`);
  process.exit(1);
}
