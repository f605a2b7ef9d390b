// The local attachments bucket: s3rver on 127.0.0.1, data in a folder, signatures checked
// with the local stack's credentials. Prints one line when ready, then one JSON line per
// S3 event (the same shape S3 sends), which the local stack hands to the upload checker.
"use strict";

const path = require("path");
const S3rver = require("s3rver");
const { DUMMY_ACCOUNT } = require("s3rver/lib/models/account");

const [port, directory, bucket, corsFile, accessKey] = process.argv.slice(2);
DUMMY_ACCOUNT.createKeyPair(accessKey, accessKey);

const server = new S3rver({
  address: "127.0.0.1",
  port: Number(port),
  directory: path.resolve(directory),
  silent: true,
  vhostBuckets: false,
  configureBuckets: [{ name: bucket, configs: [require("fs").readFileSync(corsFile)] }],
});
server.on("event", (event) => process.stdout.write(JSON.stringify(event) + "\n"));
server.run().then((address) => {
  process.stdout.write(JSON.stringify({ ready: `http://127.0.0.1:${address.port}` }) + "\n");
});
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => server.close().then(() => process.exit(0)));
}
